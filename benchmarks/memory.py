"""Peak memory of decoding and of ingesting one long video, chunks decoded from clips or not.

    python benchmarks/memory.py VIDEO [--model PRESET|DIR] [--no-ingest]

Each run is its own process, so each peak RSS is its own. The baseline decodes every chunk from
the whole file, where decord reads the rest of the file into memory; vsearch decodes each chunk
from a stream-copied clip. The ingest run is vsearch's whole path with the model (random
ViT-B/32 CLIP without --model). A 1-hour 1080p test video:

    ffmpeg -f lavfi -i testsrc2=s=1920x1080:r=10:d=300 -pix_fmt yuv420p five.mp4
    ffmpeg -f concat -safe 0 -i <(for i in $(seq 12); do echo "file '$PWD/five.mp4'"; done) -c copy hour.mp4
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(video: Path, what: str, model: str | None) -> dict:
    began = time.perf_counter()
    if what == "ingest":
        from vsearch.index import EncoderOptions, IndexOptions, Models, load_encoder, video_files
        from vsearch.index.indexer import encode_video

        encoder = load_encoder(model, EncoderOptions(device="cpu"))
        frames = len(encode_video(video_files(video, sidecar_subs=False), Models(encoder),
                                  IndexOptions(embedded_subs=False, sidecar_subs=False)).slots)
        clipped = None
    else:
        from vsearch.extract import FrameSpec, FrameStream

        stream = FrameStream(video, 1.0, FrameSpec(224, 224), chunk=96, readers=1, clips=what == "clips")
        frames = sum(len(chunk) for chunk in stream)
        clipped = stream.clipped
    usage, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + kids.ru_utime + kids.ru_stime  # ffmpeg cutting clips included
    return {"run": what, "frames": frames, "clipped": clipped, "wall": time.perf_counter() - began,
            "cpu": cpu, "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", help="preset, HF id or folder (default: random ViT-B/32 CLIP)")
    parser.add_argument("--no-ingest", action="store_true", help="decoding only")
    parser.add_argument("--only", choices=["clips", "whole", "ingest"])
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run(args.video, args.only, args.model)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if not args.no_ingest and model is None:
            from ingest import vit_b32

            model = str(vit_b32(Path(tmp) / "vit-b32"))
        for what in ("whole", "clips") + (() if args.no_ingest else ("ingest",)):
            out = subprocess.run([sys.executable, __file__, str(args.video), "--only", what]
                                 + (["--model", model] if model else []), capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{what} failed:\n{out.stderr[-3000:]}")
            results[what] = json.loads(out.stdout.strip().splitlines()[-1])
            r = results[what]
            print(f"{what:<7} frames={r['frames']} clipped_chunks={r['clipped']} wall={r['wall']:.0f}s "
                  f"cpu={r['cpu']:.0f}s peak_rss={r['peak_rss_mb']:.0f}MB", flush=True)
    print(f"decode_rss_whole_vs_clips={results['whole']['peak_rss_mb'] / results['clips']['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
