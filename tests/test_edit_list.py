"""`find --export`: the moments as an edit list that parses back with OpenTimelineIO and matches
`find --json` on the frames of each video, ranked order kept, with the sound of videos that have any
(issue #43)."""

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from conftest import run_cli

from vsearch.query.types import Segment
from vsearch.testing.media import colour_video, ffmpeg
from vsearch.timeline import label, nominal, render

# An EDL event line: its number, and its track field after the 8-character reel.
EVENT = re.compile(r"^(\d{3})  .{8} (\S+) +C +")


@pytest.fixture
def two_rates(env, rgb_video, tmp_path):
    """The rgb video (25 fps) and a 29.97 fps one, both indexed."""
    ntsc = colour_video(tmp_path / "ntsc $1 'quoted'.mp4", [("yellow", 3), ("green", 3), ("red", 4)], rate="30000/1001")
    run_cli("index", str(rgb_video), str(ntsc))
    return rgb_video, ntsc


@pytest.fixture
def sounding(env, tmp_path):
    """Three 25 fps videos, green from 2 s to 4 s, indexed: stereo 48 kHz, mono 44.1 kHz (ffmpeg's sine), silent."""
    stretches = [("red", 2), ("green", 2), ("blue", 2)]
    silent = colour_video(tmp_path / "silent.mp4", stretches)
    stereo = tmp_path / "stereo talk.mp4"
    ffmpeg("-i", str(silent), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-map", "0:v",
           "-map", "1:a", "-c:v", "copy", "-ac", "2", "-c:a", "aac", str(stereo))
    mono = colour_video(tmp_path / "mono.mp4", stretches, audio=True)
    run_cli("index", str(stereo), str(mono), str(silent))
    return {"stereo": stereo, "mono": mono, "silent": silent}


def found(query: str, *args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli("find", "--json", query, *args).stdout.splitlines()]


def frames(seconds: float, rate: float) -> int:
    return round(seconds * rate)


def recorded(clip):
    """Where a clip read back from an EDL begins on the record side (each track starts at its first event)."""
    return clip.range_in_parent().start_time - clip.parent().trimmed_range().start_time


@pytest.mark.parametrize("suffix", [".otio", ".fcpxml"])
def test_an_edit_list_holds_each_moment_on_its_videos_frames(two_rates, tmp_path, suffix):
    want = found("green", "-k", "5")
    out = tmp_path / f"moments{suffix}"
    result = run_cli("find", "green", "-k", "5", "--export", str(out))
    assert f"wrote    {out}" in result.stderr and len(want) >= 2
    rates = {str(two_rates[0]): 25.0, str(two_rates[1]): 30000 / 1001}
    [picture] = otio.adapters.read_from_file(str(out)).video_tracks()
    clips = list(picture.find_clips())
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
    [picture] = otio.adapters.read_from_file(str(out), rate=25).video_tracks()
    assert [(round(c.source_range.start_time.value), round(c.source_range.end_time_exclusive().value))
            for c in picture.find_clips()] == [(frames(s["start"], 25), frames(s["end"], 25)) for s in want]


def test_moments_of_videos_with_sound_carry_it_in_every_format(sounding, tmp_path):
    want = found("green", "-k", "9")
    assert sorted(s["video"] for s in want) == sorted(map(str, sounding.values())), want
    # What ffmpeg made: channels and samples per second of each video with sound.
    heard = {str(sounding["stereo"]): (2, 48000), str(sounding["mono"]): (1, 44100)}

    out = tmp_path / "moments.otio"
    run_cli("find", "green", "-k", "9", "--export", str(out))
    made = otio.adapters.read_from_file(str(out))
    [picture], [sound] = made.video_tracks(), made.audio_tracks()
    assert len(picture) == len(sound) == len(want)
    for seen, said, seg in zip(picture, sound, want):
        assert said.range_in_parent() == seen.range_in_parent(), seg  # in step on the timeline
        if seg["video"] in heard:  # the same clip of the same file, over the same frames
            assert (said.name, said.source_range, said.media_reference.target_url) == (
                seen.name, seen.source_range, seen.media_reference.target_url)
            assert (said.metadata["vsearch"]["channels"], said.metadata["vsearch"]["rate"]) == heard[seg["video"]]
        else:
            assert isinstance(said, otio.schema.Gap), seg

    out = tmp_path / "moments.fcpxml"
    run_cli("find", "green", "-k", "9", "--export", str(out))
    root = ElementTree.parse(out).getroot()
    assets = {a.get("id"): a for a in root.iter("asset")}
    [spine] = root.iter("spine")
    assert root.get("version") == "1.8" and [c.tag for c in spine] == ["asset-clip"] * len(want)
    for clip, seg in zip(spine, want):
        asset = assets[clip.get("ref")]
        assert asset.get("src") == Path(seg["video"]).as_uri() and asset.get("hasVideo") == "1"
        assert len(clip.findall("marker")) == 1 and {"offset", "duration"} <= set(clip.attrib)
        if seg["video"] in heard:
            channels, rate = heard[seg["video"]]
            assert (asset.get("hasAudio"), asset.get("audioSources"), asset.get("audioChannels"),
                    asset.get("audioRate")) == ("1", "1", str(channels), str(rate)), asset.attrib
        else:
            assert asset.get("hasAudio") == "0" and "audioChannels" not in asset.attrib, asset.attrib
    [back] = otio.adapters.read_from_file(str(out)).video_tracks()  # the FCP X adapter still reads it
    assert [c.name for c in back.find_clips()] == [c.name for c in picture]

    out = tmp_path / "moments.edl"
    run_cli("find", "green", "-k", "9", "--export", str(out))
    channels = [heard.get(s["video"], (0, 0))[0] for s in want]
    fields = [m[2] for m in map(EVENT.match, out.read_text().splitlines()) if m]
    assert fields == [{2: "AA/V", 1: "B", 0: "V"}[n] for n in channels]
    back = otio.adapters.read_from_file(str(out), rate=25)  # held: its tracks go with it
    read = {track.name: track for track in back.tracks}
    assert sorted(read) == ["A1", "A2", "V"]
    for track, has in (("A1", {1, 2}), ("A2", {2})):  # audio 1 of either, audio 2 of the stereo one
        sounded = [c for c, n in zip(read["V"].find_clips(), channels) if n in has]
        assert [(c.name, c.source_range, recorded(c)) for c in read[track].find_clips()] == [
            (c.name, c.source_range, recorded(c)) for c in sounded], track


@pytest.mark.parametrize("suffix", [".otio", ".fcpxml", ".edl"])
def test_silent_videos_keep_their_picture_alone(suffix):
    moments = [Segment(video=f"/videos/{n}.mp4", video_id=n, start=1.0, end=2.0, seek=1.5, score=0.5) for n in (1, 2)]
    text = render(moments, suffix, "quiet", {m.video: (25.0, 10.0) for m in moments})
    if suffix == ".otio":
        assert not otio.adapters.read_from_string(text, "otio_json").audio_tracks()
    elif suffix == ".fcpxml":
        assert {a.get("hasAudio") for a in ElementTree.fromstring(text).iter("asset")} == {"0"}
    else:
        assert [m[2] for m in map(EVENT.match, text.splitlines()) if m] == ["V", "V"]


@pytest.mark.parametrize("name,says", [("moments.txt", "an edit list ends in .otio, .edl, .fcpxml"),
                                       ("no/such/folder/m.otio", "cannot write there")])
def test_a_bad_export_name_is_one_line(two_rates, tmp_path, name, says):
    result = run_cli("find", "green", "--export", str(tmp_path / name), ok=False)
    assert result.exit_code == 1 and says in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 if name.endswith(".txt") else True
