"""Ingest on a GPU machine: where the time goes for a ViT-B/32-sized and a SigLIP2-base-sized model.

    python benchmarks/gpu.py VIDEO [--models vit-b32,siglip2-base] [--readers 1,2,4,8]

For each randomly initialised model (honest speed offline): decode-only frames/s with one
reader, encode-only frames/s on already decoded frames (fp16 and fp32), and `encode_video` end
to end (decode, dedup, encode; the index write, about a second per video, is left out) with
one decoder and with the parallel readers picked for this machine. Then decode scaling over
readers, threads per reader and chunk size. Runs on CPU too, more slowly.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from ingest import siglip2_base, vit_b32

BUILDERS = {"vit-b32": vit_b32, "siglip2-base": siglip2_base}


def decode_only(video: Path, spec, threads: int = 0) -> tuple[np.ndarray, float]:
    """Every sampled frame, decoded by one reader, and the seconds it took."""
    from vsearch.extract import FrameStream

    began = time.perf_counter()
    frames = [f.pixels for chunk in FrameStream(video, 1.0, spec, 96, threads, readers=1) for f in chunk]
    return np.stack(frames), time.perf_counter() - began


def encode_only(encoder, pixels: np.ndarray, repeats: int = 3) -> float:
    """Median frames/s of encode_images over `pixels`, after a warm-up batch."""
    encoder.encode_images(pixels[: encoder.batch_size])
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        encoder.encode_images(pixels)  # returns numpy, so the GPU work is finished
        times.append(time.perf_counter() - began)
    return len(pixels) / statistics.median(times)


def parallel_decode(video: Path, spec, readers: int, threads: int, chunk: int, clips: bool) -> tuple[float, int]:
    """Frames/s of FrameStream with `readers` parallel decord readers of `threads` threads each,
    and how many chunks came from clips."""
    from vsearch.extract import FrameStream

    began = time.perf_counter()
    stream = FrameStream(video, 1.0, spec, chunk, threads, readers, clips=clips)
    count = sum(len(part) for part in stream)
    return count / (time.perf_counter() - began), stream.clipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--models", default="vit-b32,siglip2-base")
    parser.add_argument("--readers", default="1,2,4,8", help="reader counts for the decode-scaling table")
    args = parser.parse_args()

    import torch

    from vsearch.extract import FrameStream
    from vsearch.extract.machine import cpu_count
    from vsearch.index import EncoderOptions, IndexOptions, Models, load_encoder, video_files
    from vsearch.index.indexer import encode_video

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    auto = FrameStream(args.video, 1.0, readers=0).readers  # what ingest picks for this machine and file
    print(f"video={args.video.name} gpu={gpu} cpus={cpu_count()} auto_readers={auto} torch={torch.__version__}",
          flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            folder = BUILDERS[name](Path(tmp) / name)
            pixels = None
            for dtype in ("auto", "float32"):
                encoder = load_encoder(str(folder), EncoderOptions(device="auto", dtype=dtype, batch_size=64))
                if torch.cuda.is_available():  # the peak is per model and dtype, not the largest so far
                    torch.cuda.reset_peak_memory_stats()
                label = f"{name} {str(encoder.dtype).replace('torch.', '')} {encoder.device}"
                if pixels is None:
                    pixels, decode_s = decode_only(args.video, encoder.frame_spec)
                enc_fps = encode_only(encoder, pixels)
                for readers in sorted({1, auto}):
                    options = IndexOptions(decode_readers=readers, embedded_subs=False, sidecar_subs=False)
                    began = time.perf_counter()
                    vectors = encode_video(video_files(args.video, sidecar_subs=False), Models(encoder), options)
                    wall = time.perf_counter() - began
                    peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0
                    rows.append((label, readers, len(pixels) / decode_s, enc_fps, len(vectors.slots) / wall,
                                 vectors.duration / wall, vectors.encoded, peak))
                    print(rows[-1], flush=True)
                del encoder
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        spec = load_encoder(str(Path(tmp) / args.models.split(",")[0]), EncoderOptions()).frame_spec
        scaling = []
        for readers in map(int, args.readers.split(",")):
            for threads, chunk, clips in ((0, 96, True), (0, 96, False), (0, 32, True), (1, 32, True)):
                fps, clipped = parallel_decode(args.video, spec, readers, threads, chunk, clips)
                scaling.append((readers, threads, chunk, clips, clipped, fps))
                print(scaling[-1], flush=True)

    print(f"\n{'model':<28}{'readers':>8}{'decode f/s':>11}{'encode f/s':>11}{'ingest f/s':>11}{'realtime':>9}"
          f"{'encoded':>8}{'GPU MiB':>8}")
    for label, readers, dec, enc, e2e, rt, encoded, peak in rows:
        print(f"{label:<28}{readers:>8}{dec:>11.1f}{enc:>11.1f}{e2e:>11.1f}{rt:>8.1f}x{encoded:>8}{peak:>8.0f}")
    print("(decode f/s: one reader, decode only; encode f/s: already decoded frames; ingest: encode_video)")
    print(f"\n{'readers':>7}{'threads':>8}{'chunk':>6}{'clipped':>8}{'decode f/s':>11}"
          "   (threads 0 = decord's default; clipped: chunks decoded from clips, '-' with clips off)")
    for readers, threads, chunk, clips, clipped, fps in scaling:
        print(f"{readers:>7}{threads:>8}{chunk:>6}{clipped if clips else '-':>8}{fps:>11.1f}")


if __name__ == "__main__":
    main()
