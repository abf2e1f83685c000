"""`vsearch supercut`: moments joined into one MP4, each cut to the frame, whatever their videos' sizes,
frame rates or sound."""

import json

import av
import numpy as np
import pytest

from conftest import run_cli

from vsearch.extract.supercut import join_moments
from vsearch.testing.media import colour_video, frame_number, numbered_video


def decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def streams(path) -> tuple[float, float, int]:
    """(video seconds, audio seconds, audio streams) of a file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio
        seconds = [float(s.duration * s.time_base) for s in (video, *audio[:1])]
        return seconds[0], seconds[-1] if audio else 0.0, len(audio)


def test_each_moment_starts_and_ends_on_its_frames(tmp_path):
    video = numbered_video(tmp_path / "n.mp4", ["-c:v", "libx264", "-g", "50", "-bf", "2"])
    out = join_moments([(video, 2.0, 3.0), (video, 6.0, 6.4), (video, 0.0, 0.2)], tmp_path / "cut.mp4")
    assert [frame_number(f) for f in decoded(out)] == [*range(50, 75), *range(150, 160), *range(0, 5)]


def test_other_sizes_rates_and_silence_are_made_like_the_first(tmp_path):
    big = colour_video(tmp_path / "big.mp4", [("red", 3), ("blue", 3)], size="320x240", audio=True)
    ntsc = colour_video(tmp_path / "ntsc.mp4", [("green", 4)], size="160x90", rate="30000/1001")
    out = join_moments([(big, 1.0, 3.0), (ntsc, 0.5, 2.5), (big, 3.0, 4.0)], tmp_path / "cut.mp4")
    frames = decoded(out)
    assert {f.shape for f in frames} == {(240, 320, 3)} and len(frames) == 5 * 25
    middle = frames[2 * 25 + 25][60:180, 20:300].reshape(-1, 3).mean(axis=0)  # the green, letterboxed
    assert middle[1] > 200 and middle[0] < 60
    picture, sound, tracks = streams(out)
    assert tracks == 1 and abs(picture - 5.0) < 0.05 and abs(sound - 5.0) < 0.1


def test_supercut_joins_what_find_finds(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    want = [json.loads(line) for line in run_cli("find", "--json", "green", "-k", "2").stdout.splitlines()]
    result = run_cli("supercut", "green", "-k", "2", "-o", str(tmp_path / "green.mp4"))
    seconds = sum(s["end"] - s["start"] for s in want)
    assert f"({len(want)} moment{'s' if len(want) > 1 else ''}, {seconds:.1f} s)" in result.stderr
    first = decoded(tmp_path / "green.mp4")[0].reshape(-1, 3).mean(axis=0)
    assert first[1] > 200 and first[0] < 60  # the best moment, green, comes first


@pytest.mark.parametrize("args,says,code", [(["  "], "the query is empty", 2),
                                            (["zebra"], "no matching moments: ", 1),
                                            (["green", "--video", "/nope.mp4"], "not indexed", 1)])
def test_a_supercut_that_cannot_be_made_is_one_line(env, rgb_video, tmp_path, args, says, code):
    run_cli("index", str(rgb_video))
    result = run_cli("supercut", *args, "-o", str(tmp_path / "x.mp4"), ok=False)
    assert result.exit_code == code and says in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "x.mp4").exists()


def test_an_unwritable_output_is_one_line(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    result = run_cli("supercut", "green", "-o", str(tmp_path / "no" / "such" / "x.mp4"), ok=False)
    assert result.exit_code == 1 and "cannot write there" in result.stderr and "Traceback" not in result.output
