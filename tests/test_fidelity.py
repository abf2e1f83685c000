"""int8 where it is faithful: the image tower's check on the user's own frames (index/fidelity.py)."""

import json
import logging
import math
import shutil

import numpy as np
import pytest
from conftest import find_json, run_cli

from vsearch.index.fidelity import SAMPLE, Sample, VERDICT, judge, read_verdict, write_verdict
from vsearch.testing.checkpoints import outlier_clip, tiny_clip
from vsearch.testing.media import ffmpeg, scenes_video


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _angles(*degrees: float) -> np.ndarray:
    return np.array([[math.cos(math.radians(d)), math.sin(math.radians(d))] for d in degrees], np.float32)


FRAMES = _unit(np.random.default_rng(0).normal(size=(SAMPLE, 32)))
KEY = "the int8 weights judged"
NOISY = _unit(FRAMES + np.random.default_rng(1).normal(scale=0.003, size=FRAMES.shape))
ONE_OFF = np.concatenate([FRAMES[:1] * -1, FRAMES[1:]])  # one frame of 64 turned around: 98% close


def _turned(frames: np.ndarray, count: int, degrees: float) -> np.ndarray:
    """`frames` with the first `count` turned by `degrees` towards a direction orthogonal to each."""
    out = frames.copy()
    for i in range(count):
        other = _unit(np.roll(frames[i:i + 1], 1, axis=1) - frames[i] @ np.roll(frames[i], 1) * frames[i:i + 1])[0]
        out[i] = math.cos(math.radians(degrees)) * frames[i] + math.sin(math.radians(degrees)) * other
    return out


AT_BAR = math.degrees(math.acos(0.99)) - 0.01  # turned just inside cosine 0.99
PAST_BAR = math.degrees(math.acos(0.99)) + 0.01


@pytest.mark.parametrize("fp32,int8,passed,close,same", [
    (FRAMES, FRAMES, True, 1.0, 1.0),
    (FRAMES, NOISY, True, 1.0, None),
    (FRAMES, ONE_OFF, False, 63 / 64, None),
    (FRAMES, _turned(FRAMES, 64, AT_BAR), None, 1.0, None),  # every frame at 0.99 and a hair: the bar is >=
    (FRAMES, _turned(FRAMES, 1, PAST_BAR), False, 63 / 64, None),  # 99% of 64 is all of them
    # a's nearest is b (10 degrees) in fp32; int8 turns a by 1 degree so c (11) is nearer: a gap of
    # 0.003 in fp32, past the tie allowance, so one frame in three has another neighbour.
    (_angles(0, 10, -11), _angles(-1, 10, -11), False, 1.0, 2 / 3),
    # the same with c at 10.02 degrees: fp32 cannot tell b from c, and a swapped tie is no change.
    (_angles(0, 10, -10.02), _angles(-0.1, 10, -10.02), True, 1.0, 1.0),
])
def test_judge(fp32, int8, passed, close, same):
    verdict = judge(fp32, int8, KEY)
    assert (verdict.frames, verdict.cosine_share) == (len(fp32), pytest.approx(close))
    assert passed is None or verdict.passed is passed
    if same is not None:
        assert verdict.neighbour_share == pytest.approx(same)
    assert ("cosine to fp32" in verdict.why) == (close < 0.99)
    assert ("nearest frame" in verdict.why) == (verdict.neighbour_share < 0.95)


def test_neighbours_pass_at_95_percent_and_fail_below():
    """20 frames in pairs half a degree apart, pairs 6 degrees apart; int8 moves a frame 3.5 degrees
    (cosine 0.998) towards the next pair, which is then its nearest: one frame of 20 is 95%, two 90%."""
    pairs = np.array([d for k in range(10) for d in (k * 6.0, k * 6.0 + 0.5)])
    for moved, passed in ((1, True), (2, False)):
        turned = pairs.copy()
        turned[[4 * i for i in range(moved)]] += 3.5
        verdict = judge(_angles(*pairs), _angles(*turned), KEY)
        assert (verdict.cosine_share, verdict.neighbour_share) == (1.0, pytest.approx(1 - moved / 20)), verdict
        assert verdict.passed is passed


def test_the_sample_keeps_distinct_frames_up_to_its_size():
    sample = Sample()
    pixels = np.random.default_rng(0).integers(0, 256, (SAMPLE + 10, 2, 2, 3), dtype=np.uint8)
    sample.add(np.stack([pixels[0]] * 3), np.stack([FRAMES[0]] * 3))  # a still: one frame, however often encoded
    assert len(sample.vectors) == 1 and not sample.full
    alike = pixels[1:2].copy()
    alike[0, 0, 0, 0] ^= 1  # one bit apart: another frame, however close its vector
    sample.add(alike, FRAMES[:1])
    assert len(sample.vectors) == 2
    sample.add(pixels, np.concatenate([FRAMES, FRAMES[:10]]))
    assert len(sample.vectors) == SAMPLE and sample.full and np.array_equal(sample.pixels[2], pixels[1])


def test_a_verdict_is_read_only_whole_and_the_first_stored_for_the_same_weights_holds(tmp_path):
    verdict, other = judge(FRAMES, NOISY, KEY), judge(FRAMES, ONE_OFF, KEY)
    assert write_verdict(tmp_path, verdict) == verdict and read_verdict(tmp_path) == verdict
    assert write_verdict(tmp_path, other) == verdict  # another process judged the same weights first
    rejudged = judge(FRAMES, ONE_OFF, "int8 weights made again")
    assert write_verdict(tmp_path, rejudged) == rejudged == read_verdict(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [VERDICT]  # nothing written aside is left
    text = (tmp_path / VERDICT).read_text()
    for broken in (text[: len(text) // 2], "", "[]", json.dumps({**json.loads(text), "passed": "yes"})):
        (tmp_path / VERDICT).write_text(broken)
        assert read_verdict(tmp_path) is None, broken
    (tmp_path / VERDICT).write_bytes(b"\xff\xfe{")
    assert read_verdict(tmp_path) is None


def _models(home):
    (root,) = list((home / "cache" / "models").iterdir())
    return root


@pytest.fixture
def on_onnx(env, monkeypatch):
    """`env` with the image model on the CPU engine at the default precision."""
    monkeypatch.setenv("VSEARCH_ENGINE", "onnx")
    monkeypatch.delenv("VSEARCH_ENGINE_PRECISION", raising=False)
    return env


@pytest.mark.slow
def test_int8_runs_once_it_tracks_fp32_on_the_ingests_own_frames(on_onnx, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_MODEL", str(tiny_clip(tmp_path / "clip")))
    short, long, later = (scenes_video(tmp_path / f"{name}.mp4", seconds, seed=seed)
                          for name, seconds, seed in (("short", 40, 0), ("long", 60, 3), ("later", 12, 5)))
    run_cli("index", str(short), str(long))  # one run: its first 64 distinct frames, from both videos
    verdict = read_verdict(_models(on_onnx))
    assert verdict.passed and verdict.frames == SAMPLE and verdict.lowest_cosine > 0.99
    # 40 + 24 frames were encoded in fp32 before the verdict (a chunk of 96 cut where the sample was
    # full); the rest of the run in int8.
    status = run_cli("status").stdout
    assert "(frames fp32)" in status and "(frames fp32 24 + int8 36)" in status
    run_cli("index", str(later))
    status = run_cli("status").stdout
    assert "(frames int8)" in status
    assert f"engine: ONNX Runtime; image tower int8, checked faithful on {verdict.line()}; " \
           "text and sound towers fp32" in status
    picture = tmp_path / "still.png"
    ffmpeg("-ss", "6.5", "-i", str(later), "-frames:v", "1", str(picture))
    # --all: a tiny random CLIP puts every frame within a hair of the next, so none stands out of
    # its background; what is checked here is that int8 answers, and answers right.
    assert find_json("--image", str(picture), "-k", "1", "--all")[0]["video"] == str(later)
    # Its int8 weights gone, a find runs the picture through fp32 and makes none: only an ingest does.
    shutil.rmtree(_models(on_onnx) / "image-int8")
    assert find_json("--image", str(picture), "-k", "1", "--all")[0]["video"] == str(later)
    assert not (_models(on_onnx) / "image-int8").exists()


@pytest.mark.slow
def test_a_model_int8_cannot_hold_stays_fp32_and_says_why(on_onnx, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VSEARCH_MODEL", str(outlier_clip(tmp_path / "clip")))
    first, second = scenes_video(tmp_path / "first.mp4", 70), scenes_video(tmp_path / "second.mp4", 70, seed=5)
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        run_cli("index", str(first))
    verdict = read_verdict(_models(on_onnx))
    assert not verdict.passed and verdict.cosine_share < 0.99
    assert [r.message for r in caplog.records if "int8" in r.message] == [
        f"vsearch: warning: {tmp_path / 'clip'}'s frames stay fp32: int8 was not faithful on 64 of them "
        f"(cosine to fp32 >= 0.99 for only {verdict.cosine_share:.0%} of frames (needs 99%)"
        + (f"; the same nearest frame for only {verdict.neighbour_share:.0%} (needs 95%))"
           if verdict.neighbour_share < 0.95 else ")")]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        run_cli("index", str(second))
    assert not [r for r in caplog.records if "int8" in r.message]  # judged once per model, not per ingest
    status = run_cli("status").stdout
    assert status.count("(frames fp32)") == 2
    assert f"image tower fp32: int8 was not faithful on 64 frames ({verdict.why})" in status


@pytest.mark.slow
def test_a_broken_verdict_is_judged_again_and_a_broken_int8_entry_made_again(on_onnx, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_MODEL", str(tiny_clip(tmp_path / "clip")))
    videos = [scenes_video(tmp_path / f"{i}.mp4", 66, seed=i) for i in range(3)]
    run_cli("index", str(videos[0]))
    root = _models(on_onnx)
    verdict = read_verdict(root)
    (root / VERDICT).write_text((root / VERDICT).read_text()[:20])  # unreadable: not trusted, judged again
    assert "image tower fp32 until int8 is checked" in run_cli("status").stdout
    run_cli("index", str(videos[1]))
    assert run_cli("status").stdout.count("(frames fp32 64 + int8 2)") == 2
    assert read_verdict(root).passed and read_verdict(root).judged == verdict.judged  # judged on other frames
    # int8 weights damaged on disk: made again from fp32, never loaded; the same weights, the same verdict.
    weights = root / "image-int8" / "model.onnx.data"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    weights.write_bytes(bytes(data))
    run_cli("index", str(videos[2]))
    assert weights.read_bytes() != bytes(data)
    assert "(frames int8)" in run_cli("status").stdout


@pytest.mark.slow
def test_a_verdict_that_cannot_be_stored_is_obeyed_in_its_run(on_onnx, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VSEARCH_MODEL", str(tiny_clip(tmp_path / "clip")))
    run_cli("index", str(scenes_video(tmp_path / "one.mp4", 3)))  # the exports, and no verdict yet
    (_models(on_onnx) / VERDICT).mkdir()  # where it would be written, something vsearch cannot replace
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        run_cli("index", str(scenes_video(tmp_path / "two.mp4", 70)))
    assert [r.message for r in caplog.records if "int8" in r.message] == [
        f"vsearch: warning: {tmp_path / 'clip'}'s int8 verdict cannot be stored in {_models(on_onnx)} "
        "(Is a directory); the next run judges it again"]
    assert "(frames fp32 64 + int8 6)" in run_cli("status").stdout


def test_a_verdict_never_writes_through_a_link_planted_in_its_place(tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("a user's file")
    root = tmp_path / "models"
    root.mkdir()
    (root / VERDICT).symlink_to(outside)
    verdict = judge(FRAMES, NOISY, KEY)
    assert write_verdict(root, verdict) == verdict == read_verdict(root)
    assert outside.read_text() == "a user's file" and not (root / VERDICT).is_symlink()
