import os
import threading
from pathlib import Path

import numpy as np
import pytest

from vsearch.extract.errors import MediaError
from vsearch.extract import FrameSpec, FrameStream
from vsearch.extract.clips import cut, packet_times, skippable
from vsearch.extract.frames import center_crop, fit, looking
from vsearch.extract.machine import auto_readers
from vsearch.extract.opening import decode_size
from vsearch.extract.timing import clean_timestamps, plan_samples
from vsearch.testing.media import colour_video, ffmpeg, frame_number, numbered_video
from vsearch.testing.threads import started_since

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0)}


def colour_of(pixels: np.ndarray) -> str:
    mean = pixels.reshape(-1, 3).mean(axis=0)
    return min(COLOURS, key=lambda c: np.abs(mean - COLOURS[c]).sum())


@pytest.mark.parametrize("starts,end,fps,expected", [
    ([0.0, 0.5, 1.0, 1.5], 2.0, 1.0, [(0, 1), (1, 3)]),
    ([0.0, 1.0, 2.0], 3.0, 2.0, [(0, 0), (1, 0), (2, 1), (3, 1), (4, 2), (5, 2)]),
    ([0.0, 3.0], 4.0, 1.0, [(0, 0), (1, 0), (2, 0), (3, 1)]),  # a held frame fills every slot
    ([0.2, 0.4], 0.6, 1.0, [(0, 1)]),
    ([0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24, 0.28], 0.32, 1.0, [(0, 4)]),  # under half a second: its middle
    ([0.0], 0.04, 1.0, [(0, 0)]),  # one frame
    ([], 0.0, 1.0, []),
    ([1.0, 0.0, 2.0], 3.0, 1.0, [(0, 1), (1, 0), (2, 2)]),  # decode order is not display order
])
def test_plan_samples(starts, end, fps, expected):
    assert plan_samples(np.array(starts), end, fps) == expected


@pytest.mark.parametrize("raw,fps,expected", [
    ([0.0, 0.04, 0.08], 25, [0.0, 0.04, 0.08]),
    ([-3.8e17] + [0.04 * i for i in range(1, 12)], 25, [0.04 * i for i in range(12)]),  # no first time
    ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, float("nan")], 10, [0.1 * i for i in range(10)]),
    ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1e12], 10, [0.1 * i for i in range(10)]),
    ([-3.8e17, -3.8e17, 0.125, 0.25], 8, [0.0, 0.125, 0.25, 0.375]),  # mostly missing: use the rate
])
def test_clean_timestamps(raw, fps, expected):
    assert np.allclose(clean_timestamps(np.array(raw), fps), expected)


@pytest.mark.parametrize("w,h,spec,expected", [
    (1920, 1080, FrameSpec(224, 224, "cover"), (398, 224)),
    (1080, 1920, FrameSpec(224, 224, "cover"), (224, 398)),
    (1920, 1080, FrameSpec(224, 224, "stretch"), (224, 224)),
    (100, 100, FrameSpec(32, 24, "cover"), (32, 32)),
])
def test_decode_size(w, h, spec, expected):
    assert decode_size(w, h, spec) == expected


def test_center_crop_takes_the_middle():
    img = np.zeros((4, 6, 3), np.uint8)
    img[1:3, 2:4] = 255
    assert center_crop(img, 2, 2).min() == 255


@pytest.mark.parametrize("spec,expected", [
    (FrameSpec(224, 224, "cover"), FrameSpec(224, 224, "cover")),    # decoded as the model wants
    (FrameSpec(224, 224, "stretch"), FrameSpec(224, 224, "cover")),  # aspect kept, squashed for the model
    (FrameSpec(32, 24), FrameSpec(224, 224, "cover")),               # a tiny model: the measure still sees text
    (FrameSpec(384, 384, "stretch"), FrameSpec(384, 384, "cover")),
    (None, None),
])
def test_frames_are_decoded_large_enough_for_the_change_measure(spec, expected):
    assert looking(spec) == expected


def test_the_change_measure_sees_the_whole_frame_and_the_model_its_crop(tmp_path):
    video = colour_video(tmp_path / "wide.mp4", [("red", 2)], size="320x180")
    frame = next(iter(FrameStream(video, 1.0, FrameSpec(32, 24))))[0]
    assert frame.pixels.shape == (24, 32, 3) and frame.whole.shape == (224, 398, 3)
    assert colour_of(frame.pixels) == colour_of(frame.whole) == "red"


@pytest.mark.parametrize("rate", ["25", "30000/1001", "24"])
def test_each_slot_shows_the_colour_on_screen(tmp_path, rate):
    video = colour_video(tmp_path / "v.mp4", [("red", 3), ("green", 2), ("blue", 3)], rate=rate)
    stream = FrameStream(video, 1.0, FrameSpec(32, 24))
    frames = [f for chunk in stream for f in chunk]
    assert [colour_of(f.pixels) for f in frames] == ["red"] * 3 + ["green"] * 2 + ["blue"] * 3
    assert [f.slot for f in frames] == list(range(8))
    assert all(abs(f.t - (f.slot + 0.5)) < 0.05 for f in frames)
    assert frames[0].pixels.shape == (24, 32, 3)


def test_variable_frame_rate_maps_to_the_right_second(tmp_path):
    video = colour_video(tmp_path / "vfr.mkv", [("red", 3), ("green", 4), ("blue", 2), ("yellow", 3)],
                         rates=["5", "30", "2", "12"])
    frames = [f for chunk in FrameStream(video, 1.0, FrameSpec(32, 24), chunk=5) for f in chunk]
    expected = ["red"] * 3 + ["green"] * 4 + ["blue"] * 2 + ["yellow"] * 3
    assert [colour_of(f.pixels) for f in frames] == expected


@pytest.mark.slow
def test_29_97_fps_does_not_drift(tmp_path):
    # 10 minutes at 30000/1001: index/30 would be 0.6 s late by the end; pts-based time is not.
    video = colour_video(tmp_path / "long.mp4", [("red", 599), ("green", 1)], rate="30000/1001", size="32x24")
    stream = FrameStream(video, 1.0, FrameSpec(16, 16), chunk=128)
    frames = [f for chunk in stream for f in chunk]
    assert len(frames) == 600
    assert colour_of(frames[598].pixels) == "red" and colour_of(frames[599].pixels) == "green"
    assert abs(frames[599].t - 599.5) < 0.04


def test_half_fps_sampling(tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 2), ("green", 2)])
    frames = [f for chunk in FrameStream(video, 2.0, None) for f in chunk]
    assert [colour_of(f.pixels) for f in frames] == ["red"] * 4 + ["green"] * 4


@pytest.mark.parametrize("make,message", [
    (lambda p: p, "no such file"),
    (lambda p: (p.write_bytes(b""), p)[1], "empty file"),
    (lambda p: (p.write_text("hello, not a video"), p)[1], "not a readable video"),
    (lambda p: (p.mkdir(), p)[1], "is a folder"),
])
def test_bad_inputs_raise_media_error(tmp_path, make, message):
    path = make(tmp_path / "x.mp4")
    with pytest.raises(MediaError, match=message):
        FrameStream(path, 1.0)


def test_truncated_videos(tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 3), ("green", 3)], size="320x240")
    data = video.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # moov at the end: lost
    with pytest.raises(MediaError, match="truncated or corrupt"):
        FrameStream(tmp_path / "cut.mp4", 1.0)


@pytest.mark.parametrize("name,codec,message", [
    ("a.mp4", "aac", "not a readable video|no decodable video frames"),
    ("a.avi", "pcm_s16le", r"not a readable video \(no video stream; audio only\?\)"),
])
def test_audio_only_file_has_no_frames(tmp_path, name, codec, message):
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", codec, str(tmp_path / name))
    with pytest.raises(MediaError, match=message):
        FrameStream(tmp_path / name, 1.0)


GB = 2**30


@pytest.mark.parametrize("cores,file_bytes,memory,expected", [
    (1, 0, 0, 1), (2, 0, 0, 1), (3, 0, 0, 1), (4, 0, 0, 2), (16, 0, 0, 8), (64, 0, 0, 8),
    (16, 4 * GB, 128 * GB, 8),  # a film on a GPU box
    (16, 4 * GB, 16 * GB, 1),  # each reader may hold the whole file
    (8, 1 * GB, 16 * GB, 4),
    (8, 3 * GB, 16 * GB, 1),
])
def test_auto_readers(cores, file_bytes, memory, expected):
    assert auto_readers(cores, file_bytes, memory) == expected


@pytest.mark.parametrize("name,rates", [("cfr.mp4", None), ("vfr.mkv", ["5", "30", "2", "12"])])
def test_parallel_readers_yield_what_one_reader_does(tmp_path, name, rates):
    stretches = [("red", 3), ("green", 4), ("blue", 2), ("yellow", 3)]
    video = colour_video(tmp_path / name, stretches, size="64x48", rates=rates)
    before = set(threading.enumerate())
    one = [f for chunk in FrameStream(video, 2.0, FrameSpec(32, 24), chunk=2) for f in chunk]
    three = FrameStream(video, 2.0, FrameSpec(32, 24), chunk=2, readers=3)
    many = [f for chunk in three for f in chunk]
    assert three.readers == 3 and len(many) == len(one) == 24
    assert [(f.slot, f.t) for f in many] == [(f.slot, f.t) for f in one]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(one, many))
    assert started_since(before) == []


def test_stopping_early_stops_every_reader_and_restores_stderr(tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 6), ("green", 6)])
    stderr = os.fstat(2).st_ino
    before = set(threading.enumerate())
    chunks = iter(FrameStream(video, 1.0, FrameSpec(16, 16), chunk=2, readers=4))
    assert colour_of(next(chunks)[0].pixels) == "red"
    chunks.close()
    assert started_since(before) == []
    assert os.fstat(2).st_ino == stderr


def sequential(stream: FrameStream) -> list[np.ndarray]:
    """The planned frames as decoding the file from start to end gives them (no seeks, no clips),
    with the decoder clips are read with: PyAV, scaling as it does."""
    import av

    height, width = stream._size
    wanted = {index for _, index in stream.plan}
    frames = {}
    with av.open(str(stream._source)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frames[index] = fit(frame.to_ndarray(width=width, height=height, format="rgb24"), stream.spec)
            if index == max(wanted):
                break
    return [frames[index] for _, index in stream.plan]


def same_pictures(frames, others) -> bool:
    """Whether two decoders' frames show the same pictures: decord and PyAV scale alike to within
    a few levels, where one frame on in this moving test video is further off."""
    return all(np.abs(a.pixels.astype(int) - b.pixels.astype(int)).mean() < 4.0 for a, b in zip(frames, others))


MOVING = "testsrc2=s=96x72:d=12"  # every frame differs, so a frame off by one shows


@pytest.mark.parametrize("name,source,encode", [
    ("b-frames.mp4", MOVING + ":r=25", ["-c:v", "libx264", "-g", "25", "-bf", "3"]),
    ("open-gop.mkv", MOVING + ":r=30000/1001", ["-c:v", "libx264", "-x264-params", "open-gop=1:keyint=40:bframes=3"]),
    ("open-gop-hevc.mp4", MOVING + ":r=25", ["-c:v", "libx265", "-x265-params", "open-gop=1:keyint=30:log-level=error"]),
    ("vfr.mkv", MOVING + ":r=30,setpts='N/30/TB+0.012*sin(N)/TB'", ["-c:v", "libx264", "-fps_mode", "vfr"]),
    ("vp9.webm", MOVING + ":r=24", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-g", "30"]),
])
@pytest.mark.parametrize("readers", [1, 3])
def test_chunks_decoded_from_clips_are_the_frames_of_the_whole_file(tmp_path, name, source, encode, readers):
    ffmpeg("-f", "lavfi", "-i", source, *encode, "-pix_fmt", "yuv420p", str(tmp_path / name))
    stream = FrameStream(tmp_path / name, 2.0, FrameSpec(64, 48), chunk=3, readers=readers)
    frames = [f for chunk in stream for f in chunk]
    whole = [f for chunk in FrameStream(tmp_path / name, 2.0, FrameSpec(64, 48), chunk=3, clips=False) for f in chunk]
    assert stream.clipped == 8 and len(frames) == len(whole) == 24
    assert [(f.slot, f.t) for f in frames] == [(f.slot, f.t) for f in whole]
    assert all(np.array_equal(f.pixels, truth) for f, truth in zip(frames, sequential(stream)))
    if "open-gop" not in name:  # from the whole file, decord seeks a GOP short at open-GOP keyframes
        assert same_pictures(frames, whole)


@pytest.mark.parametrize("name,encode", [
    # DivX/Xvid: no presentation times, each B-frame packed with the frame after it
    ("xvid.avi", ["-c:v", "mpeg4", "-vtag", "xvid", "-g", "25", "-bf", "2"]),
    ("lecture.mp4", ["-c:v", "mpeg4", "-bf", "2", "-f", "avi"]),  # an AVI by its bytes, not its name
    ("divx3.avi", ["-c:v", "msmpeg4v3", "-g", "25"]),
    ("camera.avi", ["-c:v", "mjpeg"]),
    ("xvid.mp4", ["-c:v", "mpeg4", "-g", "25", "-bf", "2"]),
])
def test_each_slot_shows_the_frame_on_screen_in_avi_and_mpeg4(tmp_path, name, encode):
    stream = FrameStream(numbered_video(tmp_path / name, encode), 2.0, FrameSpec(32, 24), chunk=3)
    shown = [frame_number(f.pixels) for chunk in stream for f in chunk]
    assert stream.clipped == 7 and shown == [int((slot + 0.5) / 2 * 25) for slot in range(20)]


@pytest.mark.parametrize("name,encode", [
    ("short.mp4", ["-t", "0.32"]),
    ("truncated.avi", ["-t", "0.32", "-c:v", "mpeg4"]),
])
def test_a_video_under_half_a_second_gives_its_middle_frame(tmp_path, name, encode):
    stream = FrameStream(numbered_video(tmp_path / name, encode), 1.0, FrameSpec(32, 24))
    assert [(f.slot, frame_number(f.pixels)) for chunk in stream for f in chunk] == [(0, 4)]


@pytest.mark.parametrize("name,encode,h264", [
    ("b-frames.mp4", ["-c:v", "libx264", "-g", "50", "-bf", "3"], True),
    # HEVC's "non-reference" pictures may still be referenced from higher temporal layers.
    ("hevc.mp4", ["-c:v", "libx265", "-x265-params", "keyint=50:log-level=error"], False),
])
def test_clips_leave_out_only_unwanted_frames_nothing_depends_on(tmp_path, name, encode, h264):
    video = tmp_path / name
    ffmpeg("-f", "lavfi", "-i", MOVING + ":r=25", *encode, "-pix_fmt", "yuv420p", str(video))
    listing = packet_times(video, 300)
    assert listing.disposable.any() == h264
    # Wanted: two reference frames and, where there are any, a disposable one between them.
    wanted = sorted([60, 140] + ([int(np.flatnonzero(listing.disposable)[50])] if h264 else []))
    keep = listing.pts[wanted]
    leave_out = skippable(listing, wanted[0], wanted[-1], keep)
    full = cut(video, wanted[0] / 25, wanted[-1] / 25, tmp_path / "full.mkv")
    thin = cut(video, wanted[0] / 25, wanted[-1] / 25, tmp_path / "thin.mkv", leave_out)
    assert set(keep) <= set(thin) and not set(leave_out) & set(thin)
    assert (len(thin) < len(full) - 40) == h264 and set(thin) <= set(full)


def test_an_ffmpeg_that_can_leave_pictures_out_is_preferred_for_clips(tmp_path, monkeypatch):
    import imageio_ffmpeg

    from vsearch.extract.ffmpeg import clip_ffmpeg, ffmpeg_exe

    bundled = imageio_ffmpeg.get_ffmpeg_exe()
    older = tmp_path / "bin" / "ffmpeg"  # cuts clips, but its filter_units has no discard option (Debian 12's 5.1)
    older.parent.mkdir()
    older.write_text(f'#!/bin/sh\ncase "$*" in *bsf=filter_units*) echo "filter_units AVOptions:"; exit 0;; esac\n'
                     f'exec "{bundled}" "$@"\n')
    older.chmod(0o755)
    monkeypatch.setenv("PATH", f"{older.parent}{os.pathsep}{os.environ['PATH']}")
    clip_ffmpeg.cache_clear(), ffmpeg_exe.cache_clear()
    try:
        assert ffmpeg_exe() == str(older) and clip_ffmpeg() == bundled
    finally:
        clip_ffmpeg.cache_clear(), ffmpeg_exe.cache_clear()


def test_an_ffmpeg_without_discard_leaves_nothing_out(tmp_path, monkeypatch):
    from vsearch.extract.ffmpeg import clip_ffmpeg, ffmpeg_exe

    video = tmp_path / "b-frames.mp4"
    ffmpeg("-f", "lavfi", "-i", MOVING + ":r=25", "-c:v", "libx264", "-bf", "3", str(video))
    import imageio_ffmpeg

    real = imageio_ffmpeg.get_ffmpeg_exe()  # one whose help lists discard, so it is the one chosen
    fake = tmp_path / "bin" / "ffmpeg"  # an FFmpeg whose filter_units knows no discard option
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\ncase "$*" in *discard=*) exit 1;; esac\nexec "{real}" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    clip_ffmpeg.cache_clear(), ffmpeg_exe.cache_clear()
    try:
        assert clip_ffmpeg() == str(fake)
        assert not packet_times(video, 300).disposable.any()
        stream = FrameStream(video, 2.0, FrameSpec(64, 48), chunk=3)
        frames = [f for chunk in stream for f in chunk]
        assert stream.clipped == 8 and all(np.array_equal(f.pixels, t) for f, t in zip(frames, sequential(stream)))
    finally:
        clip_ffmpeg.cache_clear(), ffmpeg_exe.cache_clear()


@pytest.mark.parametrize("terms", [2000, 8000])
def test_long_drop_lists_still_cut_a_clip(tmp_path, terms):
    # 2000 terms would nest too deep for FFmpeg written flat; 8000 are over one argument's limit.
    video = tmp_path / "b-frames.mp4"
    ffmpeg("-f", "lavfi", "-i", MOVING + ":r=25", "-c:v", "libx264", "-bf", "3", str(video))
    full = cut(video, 1.0, 3.0, tmp_path / "full.mkv")
    absent = -np.arange(1, terms + 1)  # timestamps no packet has
    assert np.array_equal(cut(video, 1.0, 3.0, tmp_path / "long.mkv", absent), full)


def test_chunks_that_cannot_be_clipped_exactly_come_from_the_whole_file(tmp_path):
    # MPEG-2 in MPEG-TS: ffmpeg's seek lands past the wanted frames, and MPEG-2 is not clipped.
    video = tmp_path / "tv.ts"
    ffmpeg("-f", "lavfi", "-i", MOVING + ":r=25", "-c:v", "mpeg2video", "-g", "12", str(video))
    stream = FrameStream(video, 2.0, FrameSpec(64, 48), chunk=3)
    frames = [f for chunk in stream for f in chunk]
    assert stream.clipped == 0 and len(frames) == 24
    assert [f.slot for f in frames] == list(range(24))


def test_odd_file_names_are_clipped_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "clip:1 it's \"a\" -y.webm"  # FFmpeg would read "clip:" as a protocol; quotes; an option
    ffmpeg("-f", "lavfi", "-i", MOVING + ":r=24", "-c:v", "libvpx-vp9", "-deadline", "realtime", f"file:{name}")
    stream = FrameStream(Path(name), 2.0, FrameSpec(64, 48), chunk=3)
    assert len([f for chunk in stream for f in chunk]) == 24 and stream.clipped == 8


@pytest.fixture
def vp9_video(tmp_path):
    video = tmp_path / "v.webm"
    ffmpeg("-f", "lavfi", "-i", MOVING + ":r=24", "-c:v", "libvpx-vp9", "-deadline", "realtime", str(video))
    return video


@pytest.fixture
def old_ffmpeg_on_path(vp9_video, tmp_path, monkeypatch):
    """An FFmpeg 4.4-like `ffmpeg` first on PATH (its noise filter knows no expressions), put
    there after the test video is made."""
    from vsearch.extract.ffmpeg import clip_ffmpeg, ffmpeg_exe

    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'noise AVOptions:'\necho '  -amount <int>'\necho '  -dropamount <int>'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    clip_ffmpeg.cache_clear(), ffmpeg_exe.cache_clear()
    yield fake
    monkeypatch.undo()
    clip_ffmpeg.cache_clear(), ffmpeg_exe.cache_clear()


def test_clips_are_cut_by_the_bundled_ffmpeg_when_the_one_on_path_is_too_old(vp9_video, old_ffmpeg_on_path):
    from vsearch.extract.ffmpeg import clip_ffmpeg, ffmpeg_exe

    assert ffmpeg_exe() == str(old_ffmpeg_on_path) and clip_ffmpeg() not in (None, str(old_ffmpeg_on_path))
    stream = FrameStream(vp9_video, 2.0, FrameSpec(64, 48), chunk=3)
    assert len([f for chunk in stream for f in chunk]) == 24 and stream.clipped == 8


AV1 = ["-c:v", "libaom-av1", "-cpu-used", "8", "-crf", "20", "-g", "30"]


@pytest.mark.parametrize("name,readers", [("av1.mkv", 1), ("av1.mp4", 2), ("av1.webm", 1)])
def test_av1_is_read_through_pyav_with_the_frames_on_screen(tmp_path, name, readers):
    """decord's FFmpeg has no AV1 decoder: PyAV decodes it, at the same slots and sizes."""
    stream = FrameStream(numbered_video(tmp_path / name, AV1), 2.0, FrameSpec(32, 24), chunk=3, readers=readers)
    frames = [f for chunk in stream for f in chunk]
    assert stream.readers == readers and stream.clipped == 0
    assert [frame_number(f.pixels) for f in frames] == [int((slot + 0.5) / 2 * 25) for slot in range(20)]
    assert {f.pixels.shape for f in frames} == {(24, 32, 3)}
    assert [round(f.t, 2) for f in frames[:3]] == [0.24, 0.72, 1.24]


def test_pyav_and_decord_read_the_same_frames_of_a_file_both_decode(tmp_path):
    from vsearch.extract.pyav_reader import PyAVReader

    video = numbered_video(tmp_path / "h264.mp4", ["-c:v", "libx264", "-bf", "2", "-g", "25"])
    import decord

    ours, theirs = PyAVReader(video), decord.VideoReader(str(video))
    assert len(ours) == len(theirs) == 250
    assert np.allclose(ours.get_frame_timestamp(range(250)), theirs.get_frame_timestamp(range(250)))
    wanted = [3, 40, 41, 77, 200, 249]
    assert np.array_equal(ours.get_batch(wanted).asnumpy(), theirs.get_batch(wanted).asnumpy())


def test_a_damaged_av1_file_names_its_codec(tmp_path):
    video = numbered_video(tmp_path / "av1.mkv", AV1)
    data = bytearray(video.read_bytes())
    data[1100:] = np.random.default_rng(1).integers(0, 256, len(data) - 1100, dtype=np.uint8).tobytes()
    video.write_bytes(bytes(data))  # the header survives, the first frame does not
    with pytest.raises(MediaError, match=r"av1\.mkv: not a readable video \(av1 video: .+\); if it is truncated"):
        FrameStream(video, 1.0, FrameSpec(32, 24))
