"""The change measure, before and after, on the same decoded frames: how many frames each would
encode and read for text, and what the measure itself costs per frame.

    python benchmarks/change.py VIDEO [VIDEO ...] [--model-side 224]

"Before" is the measure vsearch used until screen text on a shared template went unseen: the mean
absolute difference of 16x16 colour thumbnails, 2.0 to encode again or to count as changed since
the last read, 1.5 to count as still (kept here as the baseline). "After" is extract/change.py
with the settings' defaults. Both plan reads the way ScreenPlan does in ocr.mode auto. Frames are
decoded as for a 224 px cover-cropped model (ViT-B/32, SigLIP2-base), once, for both.
"""

import argparse
import time
from pathlib import Path

import numpy as np


def before(thumbs: list[np.ndarray]) -> tuple[int, int]:
    """Frames encoded and read by the thumbnail measure (dedup 2.0, change 2.0, settle 1.5)."""
    encoded = reads = 0
    ref = read = prev = None
    for thumb in thumbs:
        if ref is None or np.abs(thumb - ref).mean() > 2.0:
            encoded, ref = encoded + 1, thumb
        if read is None or np.abs(thumb - read).mean() > 2.0:
            if prev is not None and np.abs(thumb - prev).mean() <= 1.5:
                reads, read = reads + 1, thumb
        prev = thumb
    return encoded, reads


def after(looks: list, options) -> tuple[int, int, float]:
    """Frames encoded and read by extract/change.py, and its seconds per frame."""
    from vsearch.extract.change import ChangeOptions, Scene
    from vsearch.extract.ocr import OcrOptions, ScreenPlan

    scene = Scene(ChangeOptions(options.pixel_change, options.changed_pixels))
    plan = ScreenPlan(OcrOptions(mode="auto"), scene)
    encoded = reads = 0
    ref = None
    began = time.perf_counter()
    for seen in looks:
        scene.see(seen)
        reads += plan.decide(seen, 0.0)[0] == "read"
        if ref is None or scene.differs(ref, seen, options.dedup_threshold):
            encoded, ref = encoded + 1, seen
    return encoded, reads, (time.perf_counter() - began) / max(1, len(looks))


def main() -> None:
    from vsearch.extract import FrameSpec, FrameStream
    from vsearch.extract.change import look
    from vsearch.index import IndexOptions

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", type=Path, nargs="+")
    parser.add_argument("--model-side", type=int, default=224)
    args = parser.parse_args()
    options = IndexOptions()
    for video in args.videos:
        spec = FrameSpec(args.model_side, args.model_side, "cover")
        frames = [f for chunk in FrameStream(video, 1.0, spec) for f in chunk]
        began = time.perf_counter()
        looks = [look(f.whole) for f in frames]
        look_s = (time.perf_counter() - began) / len(frames)
        old_encoded, old_reads = before([v.thumb for v in looks])
        new_encoded, new_reads, judge_s = after(looks, options)
        n = len(frames)
        print(f"{video.name}: {n} frames | before: encoded {old_encoded} ({old_encoded / n:.1%}), reads {old_reads} "
              f"| after: encoded {new_encoded} ({new_encoded / n:.1%}), reads {new_reads} "
              f"| measure {1000 * (look_s + judge_s):.2f} ms/frame")


if __name__ == "__main__":
    main()
