import json
import os
import subprocess
import sys

import pytest
from conftest import find_json, index_interrupted, run_cli

from vsearch.index import Store, video_id
from vsearch.settings import load_settings
from vsearch.testing.checkpoints import tiny_clip
from vsearch.testing.media import colour_video, write_vtt
from vsearch.testing.rows import stored_rows


def counts(home, path):
    with Store(load_settings().store_config()) as store:
        return stored_rows(store, video_id(str(path.resolve())))


def test_index_find_list_remove(env, rgb_video):
    out = run_cli("index", str(rgb_video)).stdout
    assert "indexed" in out and "12 frames (3 encoded), 2 cues" in out
    assert counts(env, rgb_video) == (12, 2)

    [blue] = find_json("blue", "--top-k", "1")
    assert set(blue) >= {"video", "start", "end", "seek", "score", "cue"}
    assert blue["video"] == str(rgb_video.resolve())
    assert (blue["start"], blue["end"], blue["seek"]) == (8.0, 12.0, 8.0)

    [talk] = find_json("讲到向量数据库的部分", "-k", "1")  # only BM25 can find it
    assert talk["cue"] == "这里讲向量数据库" and talk["seek"] == 9.0 and talk["start"] <= 9.0 <= talk["end"]

    [grass] = find_json("the grass", "-k", "1")
    assert grass["cue"] == "now the grass appears" and 4.0 <= grass["seek"] <= 4.5

    human = run_cli("find", "red").stdout
    assert "00:00:00–00:00:04" in human and "mpv --start=0" in human and "#t=0,4" in human

    run_cli("index", str(rgb_video))  # again: rows replaced, not added
    assert counts(env, rgb_video) == (12, 2)
    listing = [json.loads(x) for x in run_cli("list", "--json").stdout.splitlines()]
    assert [(v["path"], v["state"], v["frames"], v["cues"]) for v in listing] == [
        (str(rgb_video.resolve()), "done", 12, 2)]

    assert "removed" in run_cli("remove", str(rgb_video)).stdout
    assert counts(env, rgb_video) == (0, 0)
    assert run_cli("list", "--json").stdout == ""


def test_video_filter_and_ranking_across_videos(env, tmp_path):
    a = colour_video(tmp_path / "a.mp4", [("red", 3), ("yellow", 3)])
    b = colour_video(tmp_path / "b.mp4", [("yellow", 2), ("cyan", 4)])
    run_cli("index", str(a), str(b))
    hits = find_json("cyan")
    assert hits[0]["video"] == str(b) and hits[0]["seek"] == 2.0
    only_a = find_json("cyan", "--video", str(a))
    assert {h["video"] for h in only_a} <= {str(a)}


def test_subs_option_and_broken_sidecar(env, tmp_path):
    video = colour_video(tmp_path / "talk.mp4", [("red", 3), ("blue", 3)])
    (tmp_path / "talk.vtt").write_text("WEBVTT\n\n00:00:01.000 -> nonsense\nbroken\n")
    extra = write_vtt(tmp_path / "notes.vtt", [(3.2, 5.0, "magnificent lighthouse")])
    result = run_cli("index", str(video), "--subs", str(extra))
    assert "warning:" in result.stderr and "talk.vtt" in result.stderr
    assert "1 cue," in result.stdout
    [hit] = find_json("lighthouse", "-k", "1")
    assert hit["cue"] == "magnificent lighthouse" and hit["seek"] == 3.0


@pytest.mark.parametrize("make,message", [
    (lambda d: d / "missing.mp4", "no such file"),
    (lambda d: (d / "notes.mp4").write_text("plain text") and d / "notes.mp4", "not a readable video"),
    (lambda d: (d / "zero.mp4").write_bytes(b"") or d / "zero.mp4", "empty file"),
])
def test_bad_videos_fail_alone(env, tmp_path, make, message):
    good = colour_video(tmp_path / "good.mp4", [("red", 2), ("green", 2)])
    bad = make(tmp_path)
    result = run_cli("index", str(bad), str(good), ok=False)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count(bad.name) == 1  # the error names the file once
    assert "indexed" in result.stdout  # the good one still went in
    assert find_json("green", "-k", "1")[0]["video"] == str(good)


def test_query_errors(env, rgb_video):
    result = run_cli("find", "anything", ok=False)
    assert result.exit_code == 1 and "index is empty" in result.stderr
    run_cli("index", str(rgb_video))
    result = run_cli("find", "   ", ok=False)
    assert result.exit_code == 2 and "query is empty" in result.stderr  # a usage error, as -k 2000 is
    result = run_cli("find", "red", "--model", "no-such-model", ok=False)
    assert "unknown model" in result.stderr
    result = run_cli("remove", "/nope.mp4", ok=False)
    assert "not in the index" in result.stderr


@pytest.mark.slow
def test_model_mismatch_is_refused(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    clip = tiny_clip(tmp_path / "clip")
    result = run_cli("index", str(rgb_video), "--model", str(clip), ok=False)
    assert result.exit_code == 1 and "holds test-colors vectors" in result.stderr
    assert "--home DIR or --collection NAME" in result.stderr
    assert counts(env, rgb_video) == (12, 2)  # nothing lost


@pytest.mark.slow
def test_real_transformers_checkpoint_end_to_end(env, rgb_video, tmp_path, monkeypatch):
    monkeypatch.delenv("VSEARCH_MODEL")
    clip = tiny_clip(tmp_path / "clip")
    run_cli("index", str(rgb_video), "--model", str(clip), "--collection", "tiny")
    hits = find_json("the grass", "--collection", "tiny")  # the index's own model is used
    assert hits and all(set(h) >= {"video", "start", "end", "seek", "score", "cue"} for h in hits)
    assert hits[0]["cue"] == "now the grass appears"
    # Random weights tell no plain colour from another: its frames are given nothing, not noise.
    assert find_json("blue sky", "--collection", "tiny") == []


def cli_process(*args, env_extra=None, **kwargs):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "vsearch", *args], capture_output=True, text=True,
                          env=env, timeout=120, **kwargs)


def test_help_is_light():
    code = ("import sys, vsearch.cli as c\n"
            "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'pymilvus', 'decord') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    for args in ([], ["find"], ["index"]):
        out = subprocess.run([sys.executable, "-c", code, *args, "--help"], capture_output=True, text=True)
        assert "HEAVY []" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_hub_model_unreachable_is_one_line(env, rgb_video):
    done = cli_process("index", str(rgb_video), "--model", "nobody/nothing-here",
                       env_extra={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "hf download nobody/nothing-here" in line


@pytest.mark.slow
def test_busy_index_is_reported(env, rgb_video):
    run_cli("index", str(rgb_video))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from vsearch.settings import load_settings; from vsearch.index import Store\n"
        "s = Store(load_settings().store_config()); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = cli_process("find", "red", env_extra={"VSEARCH_BUSY_TIMEOUT": "1"})
        assert done.returncode == 75
        assert "busy" in done.stderr and "vsearch copy" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        holder.kill()
        holder.wait()


def test_settings_precedence(tmp_path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text('model = "clip"\nhome = "/from/file"\n[find]\ntop_k = 7\nmax_gap = 4\n')
    monkeypatch.setenv("VSEARCH_HOME", "/from/env")
    monkeypatch.setenv("VSEARCH_FIND_TOP_K", "9")
    monkeypatch.delenv("VSEARCH_MODEL", raising=False)
    s = load_settings(config, {"home": "/from/flag", "model": None})
    assert (s["home"], s["model"], s["find.top_k"], s["find.max_gap"], s["find.pad"]) == (
        "/from/flag", "clip", 9, 4, 0.0)
    assert {"home", "model", "find.top_k"} <= s.explicit and "find.pad" not in s.explicit


@pytest.mark.parametrize("content,env,message", [
    ("colour = 1\n", {}, "unknown setting 'colour'"),
    ("[find]\ntop_k = \"many\"\n", {}, "must be a int"),
    ("", {"VSEARCH_EXTRACT_SIDECAR_SUBS": "maybe"}, "must be a bool"),
    ("not toml = = 1", {}, "not valid TOML"),
])
def test_settings_errors(tmp_path, monkeypatch, content, env, message):
    from vsearch.settings import SettingsError

    config = tmp_path / "c.toml"
    config.write_text(content)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError, match=message):
        load_settings(config)


def test_every_default_has_one_source():
    """Each key of default.toml is the default of the field that uses it, and settings build the
    same options a library caller gets from the dataclasses."""
    from dataclasses import fields

    from vsearch.configs import defaults
    from vsearch.extract.ocr import OcrOptions
    from vsearch.extract.speech import SpeechOptions
    from vsearch.index import AudioOptions, EncoderOptions, IndexOptions, StoreConfig
    from vsearch.query import FindOptions

    owners = {"": [StoreConfig, EncoderOptions], "extract": [IndexOptions], "asr": [SpeechOptions],
              "ocr": [OcrOptions], "audio": [AudioOptions], "find": [FindOptions]}
    # Read by the pipeline from the settings themselves, with no dataclass of their own.
    settings_only = {"home", "uri", "model", "text_model", "picture_model", "ingest.extensions", "ingest.settle_seconds",
                     "ingest.retry_base", "ingest.retry_max", "find.use_server", "find.resident", "serve.host", "serve.port",
                     "serve.token", "serve.max_clip", "serve.hold", "serve.idle", "serve.page", "chapters.min_length",
                     "ingest.follow_links", "serve.allowed_hosts", "serve.thumb_cache_mb", "mcp.output_dir",
                     "mcp.max_clips", "mcp.max_clips_gb"}
    s = load_settings(environ={})
    assert set(s.values) == set(defaults())
    for key, value in defaults().items():
        section, _, name = key.rpartition(".")
        if key in settings_only:
            continue
        if section == "find" and name.startswith("weight_"):
            assert FindOptions().weights[name[len("weight_"):]] == value
            continue
        found = [f.default for owner in owners[section] for f in fields(owner) if f.name == name]
        assert found == [value], key
    assert s.find_options() == FindOptions()
    assert s.encoder_options() == EncoderOptions()
    assert s.index_options() == IndexOptions(asr=SpeechOptions(device=s["device"]), cache=s.home / "cache")
    assert s.store_config() == StoreConfig(str(s.home / "index.db"))


@pytest.mark.slow
def test_dedup_saves_encodes_and_changes_no_result(env, tmp_path, monkeypatch):
    """A static-slide video encodes once per slide, and ranks exactly as with every frame encoded."""
    video = colour_video(tmp_path / "slides.mp4", [("red", 7), ("blue", 9), ("yellow", 5), ("blue", 6)])
    queries = ["red", "blue", "yellow", "green"]
    runs = {}
    for threshold in ("2.0", "0"):
        monkeypatch.setenv("VSEARCH_HOME", str(tmp_path / f"home{threshold}"))
        monkeypatch.setenv("VSEARCH_EXTRACT_DEDUP_THRESHOLD", threshold)
        [indexed] = [json.loads(line) for line in run_cli("index", "--json", str(video)).stdout.splitlines()]
        runs[threshold] = (indexed["encoded"], [find_json(q, "-k", "3") for q in queries])
    (encoded_on, found_on), (encoded_off, found_off) = runs["2.0"], runs["0"]
    assert (encoded_on, encoded_off) == (4, 27)
    assert found_on == found_off and found_on[1]


@pytest.mark.slow
def test_ctrl_c_mid_video_is_one_line_and_exit_130(env, tmp_path, monkeypatch):
    """The decoder thread is stopped and joined, not left inside decord at interpreter exit."""
    from vsearch.testing.media import ffmpeg

    video = tmp_path / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=40", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(video))
    index_interrupted(video, monkeypatch)


def test_transcript_of_a_video_with_subtitles_and_no_speech_prints_the_subtitles(env, rgb_video):
    run_cli("index", str(rgb_video))
    out = run_cli("transcript", str(rgb_video))
    assert "now the grass appears" in out.stdout and "--source subtitle" in out.stderr
    asked = run_cli("transcript", str(rgb_video), "--source", "asr", ok=False)
    assert asked.exit_code == 1 and asked.stdout == "" and "no asr cues" in asked.stderr
    assert "Traceback" not in asked.output


def test_an_empty_answer_still_says_why_signals_were_left_out(env, rgb_video):
    run_cli("index", str(rgb_video))
    human = run_cli("find", "zebra stampede")
    assert human.stdout == "" and "no matching moments" in human.stderr
    assert "note: cues left out: the text model image does not tell latin paraphrases apart" in human.stderr
    as_json = run_cli("find", "--json", "zebra stampede")
    assert as_json.stdout == "" and "note: cues left out" in as_json.stderr
