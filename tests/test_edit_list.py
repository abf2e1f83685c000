"""`find --export`: the moments as an edit list that parses back with OpenTimelineIO and matches
`find --json` on the frames of each video, ranked order kept."""

import json
from pathlib import Path

import opentimelineio as otio
import pytest

from conftest import run_cli

from vsearch.testing.media import colour_video
from vsearch.timeline import label, nominal


@pytest.fixture
def two_rates(env, rgb_video, tmp_path):
    """The rgb video (25 fps) and a 29.97 fps one, both indexed."""
    ntsc = colour_video(tmp_path / "ntsc $1 'quoted'.mp4", [("yellow", 3), ("green", 3), ("red", 4)], rate="30000/1001")
    run_cli("index", str(rgb_video), str(ntsc))
    return rgb_video, ntsc


def found(query: str, *args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli("find", "--json", query, *args).stdout.splitlines()]


def frames(seconds: float, rate: float) -> int:
    return round(seconds * rate)


@pytest.mark.parametrize("suffix", [".otio", ".fcpxml"])
def test_an_edit_list_holds_each_moment_on_its_videos_frames(two_rates, tmp_path, suffix):
    want = found("green", "-k", "5")
    out = tmp_path / f"moments{suffix}"
    result = run_cli("find", "green", "-k", "5", "--export", str(out))
    assert f"wrote    {out}" in result.stderr and len(want) >= 2
    rates = {str(two_rates[0]): 25.0, str(two_rates[1]): 30000 / 1001}
    clips = list(otio.adapters.read_from_file(str(out)).find_clips())
    assert len(clips) == len(want)
    for clip, seg in zip(clips, want):
        rate = rates[seg["video"]]
        got = clip.source_range
        first, last = frames(seg["start"], rate), frames(seg["end"], rate)
        if suffix == ".otio":  # exact: the frames, counted at the video's own rate
            assert got.start_time.rate == nominal(rate) and abs(nominal(rate) - rate) < 1e-2, (got, seg)
            assert (got.start_time.value, got.duration.value) == (first, last - first)
        else:  # the FCP X adapter reads 29.97 back as 29: the times it reads are within half a frame
            assert abs(got.start_time.to_seconds() - first / rate) < 0.5 / rate, (got, seg)
            assert abs(got.end_time_exclusive().to_seconds() - last / rate) < 0.5 / rate, (got, seg)
        assert clip.name.endswith(label(Path(seg["video"]).name))
        if suffix == ".otio":  # the native format keeps every field
            assert clip.media_reference.target_url == Path(seg["video"]).as_uri()
            [marker] = clip.markers
            assert round(marker.marked_range.start_time.value) == frames(seg["seek"], rate)


def test_an_edl_of_one_frame_rate_parses_back(two_rates, tmp_path):
    rgb, _ = two_rates
    want = found("blue", "--video", str(rgb), "-k", "3")
    out = tmp_path / "moments.edl"
    run_cli("find", "blue", "--video", str(rgb), "-k", "3", "--export", str(out))
    clips = list(otio.adapters.read_from_file(str(out), rate=25).find_clips())
    assert [(round(c.source_range.start_time.value), round(c.source_range.end_time_exclusive().value))
            for c in clips] == [(frames(s["start"], 25), frames(s["end"], 25)) for s in want]


@pytest.mark.parametrize("name,says", [("moments.txt", "an edit list ends in .otio, .edl, .fcpxml"),
                                       ("no/such/folder/m.otio", "cannot write there")])
def test_a_bad_export_name_is_one_line(two_rates, tmp_path, name, says):
    result = run_cli("find", "green", "--export", str(tmp_path / name), ok=False)
    assert result.exit_code == 1 and says in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 if name.endswith(".txt") else True
