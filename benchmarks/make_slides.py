"""Generate a lecture-like video: static 'slides' (coloured boxes), a new one every 30-60 s.

    python benchmarks/make_slides.py OUT.mp4 [--minutes 10] [--size 1280x720]
"""

import argparse
import random
import subprocess
from pathlib import Path


def main() -> None:
    from vsearch.extract.ffmpeg import ffmpeg_exe

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    rng = random.Random(7)
    w, h = (int(x) for x in args.size.split("x"))
    inputs, labels, total, i = [], [], 0.0, 0
    while total < args.minutes * 60:
        seconds = min(rng.randint(30, 60), args.minutes * 60 - total)
        bg = f"0x{rng.randint(0xA0, 0xFF):02X}{rng.randint(0xA0, 0xFF):02X}{rng.randint(0xA0, 0xFF):02X}"
        boxes = ",".join(
            f"drawbox=x={rng.randint(0, w // 2)}:y={rng.randint(0, h // 2)}:w={rng.randint(w // 8, w // 2)}:"
            f"h={rng.randint(h // 16, h // 4)}:color=0x{rng.randint(0, 0xFFFFFF):06X}:t=fill"
            for _ in range(rng.randint(3, 7))
        )
        inputs += ["-f", "lavfi", "-i", f"color={bg}:s={args.size}:r=25:d={seconds},{boxes}"]
        labels.append(f"[{i}:v]")
        total += seconds
        i += 1
    graph = f"{''.join(labels)}concat=n={i}:v=1:a=0[v]"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    str(args.out)], check=True)
    print(f"{args.out}: {total:.0f} s, {i} slides")


if __name__ == "__main__":
    main()
