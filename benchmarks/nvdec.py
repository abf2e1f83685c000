"""GPU decoding (NVDEC) against CPU decoding, both through ffmpeg, for the frames vsearch needs.

    python benchmarks/nvdec.py VIDEO [--ffmpeg PATH]

Each case writes 1 fps frames at 224x224 RGB to a pipe, as ingest would consume them; realtime
is video seconds per wall second, process start included. Then the video is split into 2, 4 and
8 stretches decoded by as many processes at once. Needs an ffmpeg built with CUDA (imageio-ffmpeg's
is) and an NVIDIA GPU for the NVDEC rows; on a machine without one those rows print the error.
"""

import argparse
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SIDE = 224
CPU_FILTER = f"fps=1,scale={SIDE}:{SIDE}"
GPU_FILTER = f"fps=1,scale_cuda={SIDE}:{SIDE},hwdownload,format=nv12"
ON_GPU = ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]


def decode(exe: str, before: list[str], video: str, vf: str) -> tuple[int, str]:
    """Frames ffmpeg wrote to the pipe, and the end of its error output if it failed."""
    done = subprocess.run([exe, "-v", "error", *before, "-i", video, "-vf", vf, "-pix_fmt", "rgb24",
                           "-f", "rawvideo", "pipe:1"], capture_output=True)
    if done.returncode:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return 0, lines[-1] if lines else f"ffmpeg exited with {done.returncode}"
    return len(done.stdout) // (SIDE * SIDE * 3), ""


def report(name: str, frames: int, wall: float, seconds: float, errors: list[str]) -> None:
    outcome = f"failed: {errors[0]}" if errors else f"realtime={seconds / wall:7.1f}x"
    print(f"{name:<38} frames={frames:>5} wall={wall:6.2f}s {outcome}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("--ffmpeg", help="ffmpeg binary (default: vsearch's)")
    args = parser.parse_args()
    from vsearch.extract.ffmpeg import ffmpeg_exe
    from vsearch.extract.opening import open_reader

    exe = args.ffmpeg or ffmpeg_exe()
    reader, _, _ = open_reader(Path(args.video))
    seconds = len(reader) / reader.get_avg_fps()
    del reader
    cases = {
        "cpu, ffmpeg's threads": ([], CPU_FILTER),
        "cpu, 1 thread": (["-threads", "1"], CPU_FILTER),
        "nvdec, each frame downloaded": (["-hwaccel", "cuda"], CPU_FILTER),
        "nvdec, scale_cuda, 1 fps downloaded": (ON_GPU, GPU_FILTER),
        "nvdec, h264_cuvid -resize": (["-c:v", "h264_cuvid", "-resize", f"{SIDE}x{SIDE}"], "fps=1"),
    }
    for name, (before, vf) in cases.items():
        for _ in range(2):
            began = time.perf_counter()
            frames, error = decode(exe, before, args.video, vf)
            report(name, frames, time.perf_counter() - began, seconds, [error] if error else [])
    for jobs in (2, 4, 8):
        part = seconds / jobs
        for name, before, vf in (("cpu", [], CPU_FILTER), ("nvdec", ON_GPU, GPU_FILTER)):
            began = time.perf_counter()
            with ThreadPoolExecutor(jobs) as pool:
                done = list(pool.map(lambda k: decode(exe, [*before, "-ss", f"{k * part:.3f}", "-t", f"{part:.3f}"],
                                                      args.video, vf), range(jobs)))
            report(f"{name} in {jobs} processes", sum(n for n, _ in done), time.perf_counter() - began, seconds,
                   [e for _, e in done if e])


if __name__ == "__main__":
    main()
