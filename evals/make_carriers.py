"""Pair the subtitle-only files in ../shared/media/subtitles with blank videos of their length.

    python evals/make_carriers.py [--media-root ../shared/media]   (or VSEARCH_MEDIA_ROOT)

evals/shared_media.jsonl asks about films whose subtitles are in the shared media but whose
pictures are not (Sintel, Elephants Dream, a Mandarin dialogue). Each gets a black video in
evals/carriers/ (ignored by git) with the subtitle files linked beside it as sidecars, so
every track is indexed as it would be for a real film; the frame signal sees only black there.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from vsearch.testing.media import ffmpeg

HERE = Path(__file__).resolve().parent
# carrier name: [seconds, subtitle files]; data, so tests/test_real_media.py checks the eval set against it
FILMS = json.loads((HERE / "carriers.json").read_text("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-root", "--media", dest="media", type=Path,
                        default=os.environ.get("VSEARCH_MEDIA_ROOT") or HERE.parent.parent / "shared" / "media")
    args = parser.parse_args()
    subtitles = args.media.resolve() / "subtitles"
    if not subtitles.is_dir():
        sys.exit(f"make_carriers: {subtitles} not found; pass --media-root PATH/TO/shared/media")
    out = HERE / "carriers"
    out.mkdir(exist_ok=True)
    for name, (seconds, files) in FILMS.items():
        video = out / f"{name}.mp4"
        if not video.exists():
            ffmpeg("-f", "lavfi", "-i", f"color=black:s=64x48:r=5:d={seconds}", "-c:v", "libx264",
                   "-pix_fmt", "yuv420p", str(video))
        for sub in files:
            link = out / sub
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(subtitles / sub)
        print(f"{video} ({seconds} s) + {', '.join(files)}")


if __name__ == "__main__":
    main()
