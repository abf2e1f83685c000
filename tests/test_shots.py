"""Cuts between shots: the detector on made-up signatures, on generated video cut at known frames,
and what `find` makes of them."""

from fractions import Fraction

import numpy as np
import pytest
from conftest import find_json, run_cli

from vsearch.extract.frames import FrameSpec, FrameStream
from vsearch.extract.shots import find_cuts, pair_changes
from vsearch.query.segments import shot_of, snap_span
from vsearch.testing.media import colour_video, shots_video


def run(levels: list[float], fps: float = 25.0, noise: float = 0.0) -> list[float]:
    """Cuts in frames of one grey level each (plus per-frame noise), `fps` frames a second."""
    rng = np.random.default_rng(0)
    sigs = np.stack([np.clip(np.full((4, 4), v) + rng.normal(0, noise, (4, 4)), 0, 255) for v in levels]).astype(np.uint8)
    return find_cuts(pair_changes(np.arange(len(levels)) / fps, sigs))


@pytest.mark.parametrize("levels,cuts", [
    ([50] * 30, []),
    ([50] * 20 + [150] * 20, [0.8]),  # the first frame of the new shot
    ([50] * 20 + [200] + [50] * 20, []),  # a one-frame flash comes back to the picture before it
    ([50] * 20 + [150] * 5 + [250] * 20, [0.8]),  # a shot under MIN_SHOT is no shot
    ([50] * 3 + [150] * 30, []),  # nor is what comes MIN_SHOT into the video
    ([50] * 20 + [58] * 20, []),  # a small jump
])
def test_cuts_in_made_up_frames(levels, cuts):
    assert run(levels) == cuts


def test_steady_motion_is_no_cut_and_a_cut_through_it_is():
    motion = [50 + 30 * (i % 2) for i in range(40)]  # every frame jumps by 30
    assert run(motion) == []
    assert run(motion[:20] + [200 + 30 * (i % 2) for i in range(20)]) == [0.8]


def test_frames_far_apart_are_not_compared():
    sigs = np.stack([np.full((4, 4), v, np.uint8) for v in [50] * 10 + [150] * 10])
    times = np.concatenate([np.arange(10) / 25, 5 + np.arange(10) / 25])
    assert find_cuts(pair_changes(times, sigs)) == []


# Shots of lavfi sources whose pictures move or stay; a shot whose every frame jumps like a cut
# (lavfi cellauto, a strobe) hides the cuts beside it, which benchmarks/shots.py counts.
SHOTS = [("testsrc2", 61), ("mandelbrot", 40), ("life", 33), ("smptehdbars", 50), ("testsrc", 29),
         ("rgbtestsrc", 71), ("testsrc2", 38), ("yuvtestsrc", 44), ("mandelbrot", 52)]


@pytest.mark.parametrize("rate,readers", [("25", 1), ("30000/1001", 2)])
def test_cuts_of_a_generated_video_are_found_to_the_frame(tmp_path, rate, readers):
    video, starts = shots_video(tmp_path / "cuts.mp4", SHOTS, rate, encode=("-c:v", "libx264", "-bf", "3"))
    stream = FrameStream(video, 1.0, FrameSpec(64, 64), chunk=4, readers=readers, shots=True)
    assert sum(len(chunk) for chunk in stream) == len(stream) and stream.clipped == -(-len(stream) // 4)
    shots = stream.shot_log.shots()
    found = [c * float(Fraction(rate)) for c in shots.cuts]
    assert len(found) == len(starts) and all(abs(f - s) <= 1 for f, s in zip(found, starts))
    assert 0.5 < shots.looked / sum(f for _, f in SHOTS) <= 1  # B-frames nothing depends on go unseen


@pytest.mark.slow  # encoding AV1
def test_cuts_of_av1_read_through_pyav_are_found_too(tmp_path):
    encode = ("-c:v", "libaom-av1", "-cpu-used", "8", "-crf", "30", "-g", "30")
    video, starts = shots_video(tmp_path / "cuts.mkv", SHOTS[:4], encode=encode)
    stream = FrameStream(video, 1.0, FrameSpec(64, 64), chunk=3, readers=2, shots=True)
    assert sum(len(chunk) for chunk in stream) == len(stream) and stream.clipped == 0
    found = [c * 25 for c in stream.shot_log.shots().cuts]
    assert len(found) == len(starts) and all(abs(f - s) <= 1 for f, s in zip(found, starts))


def test_no_shots_are_looked_for_unless_asked(tmp_path):
    video, _ = shots_video(tmp_path / "cuts.mp4", SHOTS[:3])
    stream = FrameStream(video, 1.0, FrameSpec(64, 64))
    assert sum(len(chunk) for chunk in stream) == 5 and stream.shot_log is None


@pytest.mark.parametrize("start,end,seek,cuts,snap,want", [
    (4.0, 8.0, 4.0, [3.6, 7.8], 1.0, (3.6, 7.8)),
    (4.0, 8.0, 4.0, [3.6, 7.8], 0.3, (4.0, 7.8)),  # only the end is near enough
    (4.0, 8.0, 4.0, [4.5, 9.0], 1.0, (4.0, 9.0)),  # a start never snaps past the seek
    (4.0, 8.0, 5.0, [4.5, 4.9, 9.0], 1.0, (4.5, 9.0)),  # the nearest of two
    (4.0, 8.0, 7.5, [7.4], 1.0, (4.0, 8.0)),  # an end never snaps to or before it
    (4.0, 8.0, 4.0, [], 1.0, (4.0, 8.0)),
])
def test_edges_snap_to_cuts_near_them(start, end, seek, cuts, snap, want):
    assert snap_span(start, end, seek, cuts, snap) == want


@pytest.mark.parametrize("start,end,cuts,want", [
    (4.0, 8.0, [3.6, 7.8], (3.6, 12.0)),
    (3.6, 7.8, [3.6, 7.8], (3.6, 7.8)),
    (1.0, 2.0, [], (0.0, 12.0)),
])
def test_the_shots_a_segment_lies_in(start, end, cuts, want):
    assert shot_of(start, end, cuts, 12.0) == want


def test_find_snaps_to_cuts_and_says_which_shot(env, tmp_path, monkeypatch):
    run_cli("index", str(colour_video(tmp_path / "cuts.mp4", [("red", 3.6), ("green", 4.2), ("blue", 4.2)])))
    monkeypatch.setenv("VSEARCH_EXTRACT_SHOTS", "false")
    run_cli("index", str(colour_video(tmp_path / "unknown.mp4", [("white", 3.6), ("yellow", 4.2)])))
    [green] = find_json("green", "-k", "1")
    assert (green["start"], green["end"], green["shot_start"], green["shot_end"]) == (3.6, 7.8, 3.6, 7.8)
    [yellow] = find_json("yellow", "-k", "1")  # indexed without shots: none known, nothing snapped
    assert (yellow["start"], yellow["shot_start"], yellow["shot_end"]) == (4.0, None, None)
    monkeypatch.setenv("VSEARCH_FIND_SNAP", "0")
    [green] = find_json("green", "-k", "1")
    assert (green["start"], green["end"], green["shot_start"], green["shot_end"]) == (4.0, 8.0, 3.6, 12.0)
