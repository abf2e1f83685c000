"""A picture model's ingest cost: one video indexed with the image model alone, then with a
picture model beside it, then the picture model added to the video already indexed (its frames
decoded again, only the picture model encoding).

    python benchmarks/picture_model.py [VIDEO] [--picture-model ID|DIR] [--model ID|DIR] [--seconds 120]

Without --picture-model a random DINOv2-small-shaped model is built (384 wide, 12 layers, patch
14, frames cropped to 224: facebook/dinov2-small's shapes, honest speed offline); without
--model a random ViT-B/32-sized CLIP (benchmarks/ingest.py) on torch; without VIDEO a testsrc2
clip of `--seconds` whose every second differs, so every second is encoded. Speech, screen text
and sounds are off. The last line is `picture_ms_per_frame=X`: what the picture model adds per
distinct frame encoded.
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path


def changing_video(path: Path, seconds: int) -> Path:
    """A 640x360 clip whose picture changes every second (FFmpeg's testsrc2 counts)."""
    from vsearch.extract.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path, nargs="?")
    parser.add_argument("--picture-model", help="picture-model preset, HF id or folder (default: random DINOv2-small)")
    parser.add_argument("--model", help="image model preset, HF id or folder (default: random ViT-B/32 CLIP, torch)")
    parser.add_argument("--seconds", type=int, default=120, help="length of the generated clip")
    args = parser.parse_args()

    from ingest import vit_b32

    from vsearch.extract.ocr import OcrOptions
    from vsearch.extract.speech import SpeechOptions
    from vsearch.index import (
        AudioOptions,
        EncoderOptions,
        IndexOptions,
        Models,
        Store,
        StoreConfig,
        index_video,
        load_encoder,
        video_files,
    )
    from vsearch.index.picture_models import load_picture_encoder
    from vsearch.testing.picture_checkpoints import DINOV2_SMALL, random_dinov2

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = args.video or changing_video(tmp / "changing.mp4", args.seconds)
        options = EncoderOptions(device="cpu", engine="torch", cache=tmp / "cache")
        image = load_encoder(args.model or str(vit_b32(tmp / "clip")), options, measure=False)
        picture = load_picture_encoder(args.picture_model or str(random_dinov2(tmp / "dino", **DINOV2_SMALL)), options)
        index = IndexOptions(embedded_subs=False, sidecar_subs=False, picture=picture.model_id,
                             asr=SpeechOptions(mode="off"), ocr=OcrOptions(mode="off"), audio=AudioOptions(mode="off"))
        files = video_files(video, sidecar_subs=False)

        def run(name: str, models: Models, home: str, reuse: bool = False) -> tuple[float, int]:
            def open_store() -> Store:
                return Store(StoreConfig(f"{tmp}/{home}.db"))

            with open_store() as store:
                models.make_index(store)
            began = time.perf_counter()
            result = index_video(files, open_store, models, index, reuse_frames=reuse)
            wall = time.perf_counter() - began
            pictured = (result.record.info.get("pictures") or {}).get("encoded", 0)
            print(f"{name:<22} wall={wall:.1f}s frames={result.record.frames} image_encoded={result.encoded} "
                  f"picture_encoded={pictured}", flush=True)
            return wall, pictured

        run("warm-up", Models(image, picture=picture), "warm")  # torch's one-off set-up off the clock
        alone, _ = run("image model alone", Models(image), "a")
        both, pictured = run("image + picture model", Models(image, picture=picture), "b")
        added, _ = run("picture model added", Models(image, picture=picture), "a", reuse=True)
    print(f"picture_model={args.picture_model or 'random DINOv2-small-shaped'} threads={os.cpu_count()} "
          f"share_of_ingest={(both - alone) / both:.2f} added_to_indexed_video={added:.1f}s")
    print(f"picture_ms_per_frame={1000 * (both - alone) / max(1, pictured):.1f}")


if __name__ == "__main__":
    main()
