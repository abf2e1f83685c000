"""`find --export x.edl` for a video at a rate SMPTE timecode lacks (issue #42): the EDL counts in the
nearest timecode rate whose frames line up with the video's, and its clips read back within a frame;
a video's sound (issue #43) changes an event's track field and none of its timecodes."""

import opentimelineio as otio
import pytest

from conftest import find_json, run_cli

from vsearch.extract.errors import VsearchError
from vsearch.query.types import Segment
from vsearch.testing.media import colour_video
from vsearch.timeline import Sound, render, timecode_rate

NTSC = 30000 / 1001
# A video's frames per second as ffmpeg is told them -> the timecode rate its EDL counts in.
ODD_RATES = {"10": 30.0, "12.5": 25.0, "15": 30.0}


@pytest.fixture
def odd_rates(env, tmp_path):
    """A 6 s video at each of 10, 12.5 and 15 fps, all indexed; green from 2.3 s, so no cut falls on a whole second."""
    stretches = [("red", 2.3), ("green", 2.3), ("blue", 1.4)]
    videos = {fps: colour_video(tmp_path / f"at {fps} fps.mp4", stretches, rate=fps) for fps in ODD_RATES}
    run_cli("index", *map(str, videos.values()))
    return videos


def within_a_frame(clip, start: float, end: float, rate: float) -> bool:
    """Whether a clip read back from an EDL starts and ends within one frame of `rate` of these seconds."""
    got = clip.source_range
    return all(abs(read.to_seconds() - want) <= 1 / rate
               for read, want in ((got.start_time, start), (got.end_time_exclusive(), end)))


def test_an_edl_of_a_video_at_a_rate_smpte_lacks_reads_back_within_a_frame(odd_rates, tmp_path):
    for fps, video in odd_rates.items():
        want = find_json("green", "--video", str(video), "-k", "3")
        out = tmp_path / f"at {fps}.edl"
        result = run_cli("find", "green", "--video", str(video), "-k", "3", "--export", str(out))
        assert "wrote" in result.stderr and want, (fps, result.stderr)
        rate = ODD_RATES[fps]
        clips = list(otio.adapters.read_from_file(str(out), rate=rate).find_clips())
        assert len(clips) == len(want), fps
        for clip, seg in zip(clips, want):
            assert within_a_frame(clip, seg["start"], seg["end"], rate), (fps, clip.source_range, seg)
        own = tmp_path / f"at {fps}.otio"  # the native format keeps the video's own rate
        run_cli("find", "green", "--video", str(video), "-k", "3", "--export", str(own))
        kept = otio.adapters.read_from_file(str(own)).find_clips()
        assert {clip.source_range.start_time.rate for clip in kept} == {float(fps)}, fps


@pytest.mark.parametrize("fps,counts_in", [
    (25, 25), (24, 24), (NTSC, NTSC), (24000 / 1001, 24000 / 1001), (60, 60),  # timecode has them
    (10, 30), (12.5, 25), (15, 30), (20, 60), (12, 24), (15000 / 1001, NTSC),  # a whole fraction of one
    (100, 50), (120, 60), (24.7, 25), (7, 24000 / 1001),  # a whole multiple of one, or else the nearest
    (0.5, 24), (1000, 50), (90000, 60)])  # absurd, from a container's bad header
def test_the_timecode_rate_an_edl_counts_in(fps, counts_in):
    assert timecode_rate(fps) == pytest.approx(counts_in)


@pytest.mark.parametrize("fps", [0.0, 0.5, 1000.0])
@pytest.mark.parametrize("suffix", [".edl", ".otio", ".fcpxml"])
def test_an_absurd_frame_rate_still_writes(fps, suffix):
    moment = Segment(video="/videos/odd.mp4", video_id=1, start=2.0, end=4.1, seek=3.0, score=0.5, source="frames")
    text = render([moment], suffix, "odd", {moment.video: (fps, 10.0)})
    if suffix == ".edl":
        rate = timecode_rate(fps or 25.0)
        [clip] = otio.adapters.read_from_string(text, "cmx_3600", rate=rate).find_clips()
        assert within_a_frame(clip, 2.0, 4.1, rate), clip.source_range


def test_an_edl_the_adapter_cannot_write_is_one_line(monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("SMPTE timecode does not support\nthis rate")

    monkeypatch.setattr(otio.adapters, "write_to_string", refuse)
    moment = Segment(video="/videos/odd.mp4", video_id=1, start=0.0, end=1.0, seek=0.5, score=0.5)
    with pytest.raises(VsearchError) as caught:
        render([moment], ".edl", "odd", {moment.video: (10.0, 10.0)})
    assert str(caught.value) == ("cannot write .edl (SMPTE timecode does not support this rate); "
                                 ".otio and .fcpxml take any frame rate")


@pytest.mark.parametrize("fps", [25.0, NTSC, 24000 / 1001, 12.5, 15.0])
def test_sound_changes_only_an_edl_events_track_field(fps):
    moments = [Segment(video=f"/videos/{name}.mp4", video_id=n, start=1.3 * n, end=1.3 * n + 2.1, seek=1.3 * n + 1,
                       score=0.5) for n, name in enumerate(("stereo", "silent", "mono", "stereo"), 1)]
    videos = {m.video: (fps, 60.0) for m in moments}
    sounds = {"/videos/stereo.mp4": Sound(channels=2, rate=48000), "/videos/mono.mp4": Sound(channels=1, rate=16000)}
    plain, heard = render(moments, ".edl", "odd", videos), render(moments, ".edl", "odd", videos, sounds)
    def besides_the_field(text: str) -> list[str]:  # the field: 5 characters after the number and the 8 of the reel
        return [line[:14] + line[19:] for line in text.splitlines()]

    assert besides_the_field(heard) == besides_the_field(plain)
    events = [line for line in heard.splitlines() if line[:3].isdigit()]
    assert [line[14:19] for line in events] == ["AA/V ", "V    ", "B    ", "AA/V "]
    rate = timecode_rate(fps)
    back = otio.adapters.read_from_string(heard, "cmx_3600", rate=rate)  # held: its tracks go with it
    tracks = {track.name: list(track.find_clips()) for track in back.tracks}
    for track, has in (("A1", (0, 2, 3)), ("A2", (0, 3))):  # audio 1 of the mono and stereo, audio 2 of the stereo
        same = [tracks["V"][n] for n in has]
        assert [(c.name, c.source_range) for c in tracks[track]] == [(c.name, c.source_range) for c in same], track
    for clip, moment in zip(tracks["V"], moments):
        assert within_a_frame(clip, moment.start, moment.end, rate), (fps, clip.source_range, moment)
