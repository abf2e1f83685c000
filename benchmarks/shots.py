"""Cuts between shots: precision and recall (to ±1 frame) on generated video cut at known frames
and on hand-labelled real clips, and what looking for them costs the film's frame decoding.

    python benchmarks/shots.py [--media ../shared/media/video] [--reps 2]
"""

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from vsearch.extract.frames import FrameSpec, FrameStream
from vsearch.testing.media import shots_video

# Every lavfi source with a moving or still picture; cellauto's every frame jumps like a cut.
GENERATED = [("testsrc2", 61), ("mandelbrot", 40), ("life", 33), ("smptehdbars", 50), ("cellauto", 47),
             ("testsrc", 29), ("rgbtestsrc", 71), ("testsrc2", 38), ("yuvtestsrc", 44), ("mandelbrot", 52)]
# First frames of new shots, labelled by looking at the frames on either side of every candidate
# this detector and PySceneDetect 0.7.2 (content and adaptive) proposed.
LABELLED = {
    "tears_of_steel_battle.webm": [2.167, 5.083, 6.583, 9.208, 12.875, 29.792, 32.833, 36.333, 37.542, 41.125,
                                   46.958, 48.208, 50.125, 51.417, 51.917, 53.5, 56.042, 57.417, 59.583, 60.25,
                                   61.333, 63.542, 65.458, 67.417, 68.75, 70.375],
    "bbb_trailer.mp4": [24.708, 36.0, 37.5, 41.167, 43.708],
}
FILM = "big_buck_bunny.mp4"


def score(found: list[float], truth: list[float], frame: float) -> tuple[int, float, float]:
    """(cuts matched, precision, recall), a found cut matching a true one within a frame."""
    left, hits = list(truth), 0
    for f in found:
        near = [t for t in left if abs(f - t) <= frame * 1.01]
        if near:
            left.remove(min(near, key=lambda t: abs(f - t)))
            hits += 1
    return hits, hits / max(1, len(found)), hits / max(1, len(truth))


def cuts_of(video: Path) -> tuple[list[float], int]:
    stream = FrameStream(video, 1.0, FrameSpec(224, 224), shots=True)
    for _ in stream:
        pass
    shots = stream.shot_log.shots()
    return list(shots.cuts), shots.looked


def decode_seconds(video: Path, shots: bool) -> float:
    began = time.perf_counter()
    for _ in FrameStream(video, 1.0, FrameSpec(224, 224), shots=shots):
        pass
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "media" / "video")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for rate, encode in (("25", ("-c:v", "libx264")), ("30000/1001", ("-c:v", "libx264", "-bf", "3")),
                             ("24", ("-c:v", "libvpx-vp9", "-deadline", "realtime"))):
            suffix = "webm" if "vp9" in encode[1] else "mp4"
            video, starts = shots_video(Path(tmp) / f"cuts.{suffix}", GENERATED, rate, encode=encode)
            fps = float(Fraction(rate))
            found, looked = cuts_of(video)
            hits, precision, recall = score(found, [s / fps for s in starts], 1 / fps)
            print(f"generated {rate} fps {encode[1]}: {hits} of {len(starts)} cuts, precision {precision:.2f}, "
                  f"recall {recall:.2f} ({looked} frames looked at)")
    for name, truth in LABELLED.items():
        if not (args.media / name).exists():
            print(f"{name}: not in {args.media}, skipped")
            continue
        found, looked = cuts_of(args.media / name)
        hits, precision, recall = score(found, truth, 1 / 24)
        print(f"{name}: {hits} of {len(truth)} labelled cuts, {len(found)} found, precision {precision:.2f}, "
              f"recall {recall:.2f}; missed {[t for t in truth if min((abs(t - f) for f in found), default=9) > 0.05]}")
    film = args.media / FILM
    if film.exists():
        found, looked = cuts_of(film)
        print(f"{FILM}: {len(found)} cuts among {looked} frames looked at")
        runs = {False: [], True: []}
        for _ in range(args.reps):  # alternated, so the machine's drift falls on both
            for shots in (False, True):
                runs[shots].append(decode_seconds(film, shots))
        off, on = min(runs[False]), min(runs[True])
        print(f"{FILM} frames decoded: shots off {off:.1f} s, on {on:.1f} s (best of {args.reps}): "
              f"+{on - off:.1f} s, {on / off:.3f}x")


if __name__ == "__main__":
    main()
