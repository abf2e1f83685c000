"""What a new user hits first: odd file names, partial files, read-only and misplaced indexes,
bad settings, pipes closed early. Each would stall a cron library or print a traceback."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import actions, find_json, ingest_json, run_cli

from vsearch import settings
from vsearch.settings import SettingsError, load_settings
from vsearch.testing.media import colour_video, ffmpeg, write_vtt


def segments_are_sane(segments, durations):
    for s in segments:
        assert 0 <= s["start"] <= s["seek"] < s["end"] <= durations[s["video"]], s


def test_a_name_that_is_not_utf8_is_indexed_found_and_played(settled, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    odd = Path(os.fsdecode(os.fsencode(lib) + b"/caf\xe9 it's.mp4"))  # a Latin-1 byte, as on old shares
    colour_video(odd, [("red", 2), ("blue", 2)])
    write_vtt(Path(os.fsdecode(os.fsencode(lib) + b"/caf\xe9 it's.en.vtt")), [(2.0, 3.0, "the lighthouse")])
    colour_video(lib / "zebra.mp4", [("green", 2)])  # after it in order: must not be starved
    summary = ingest_json(str(lib))
    assert sorted(v["action"] for v in summary["videos"]) == ["indexed", "indexed"]
    assert actions(ingest_json(str(lib))) == {os.path.basename(odd): "skipped", "zebra.mp4": "skipped"}

    [hit] = find_json("blue", "-k", "1")
    assert os.fsencode(hit["video"]) == os.fsencode(odd)  # the JSON names the real bytes
    assert hit["url"].endswith("/caf%E9%20it%27s.mp4#t=2,4")
    [said] = find_json("lighthouse", "-k", "1")
    assert said["cue"] == "the lighthouse" and os.fsencode(said["video"]) == os.fsencode(odd)
    human = run_cli("find", "blue", "-k", "1").stdout
    assert "caf\\xe9 it's.mp4" in human
    quoted = human.split("mpv --start=2 ", 1)[1].split("   |", 1)[0]
    assert quoted == "$'" + str(lib) + "/caf\\xe9 it\\'s.mp4'"
    # bash reads that word back as the real file name
    echoed = subprocess.run(["bash", "-c", f"printf %s {quoted}"], capture_output=True).stdout
    assert echoed == os.fsencode(odd)
    assert "caf\\xe9" in run_cli("list").stdout
    assert "indexed" in run_cli("index", str(odd)).stdout
    assert "removed" in run_cli("remove", str(odd)).stdout


def test_explicit_subtitles_survive_ingest_and_their_changes_are_noticed(settled, tmp_path):
    video = colour_video(tmp_path / "e.mp4", [("red", 3)])
    notes = write_vtt(tmp_path / "notes for e.vtt", [(0.5, 1.5, "alpha"), (1.5, 2.5, "beta")])
    assert "2 cues" in run_cli("index", str(video), "--subs", str(notes)).stdout
    old = time.time() - 500
    os.utime(notes, (old, old))
    os.utime(video, (old, old))
    assert actions(ingest_json(str(tmp_path))) == {"e.mp4": "skipped"}  # touched, same content
    assert actions(ingest_json(str(tmp_path))) == {"e.mp4": "skipped"}
    assert run_cli("list", "--json").stdout.count('"cues": 2') == 1
    write_vtt(notes, [(0.5, 1.5, "gamma")])
    os.utime(notes, (old, old))
    summary = ingest_json(str(tmp_path))
    assert actions(summary) == {"e.mp4": "indexed"} and summary["videos"][0]["cues"] == 1
    notes.unlink()
    summary = ingest_json(str(tmp_path))
    assert actions(summary) == {"e.mp4": "indexed"} and summary["videos"][0]["cues"] == 0
    assert "cues" in run_cli("index", str(video)).stdout  # index alone keeps what remains


def test_touching_a_sidecar_does_not_reindex(settled, tmp_path):
    video = colour_video(tmp_path / "t.mp4", [("red", 2)])
    sub = write_vtt(tmp_path / "t.vtt", [(0.0, 1.0, "hello")])
    assert actions(ingest_json(str(tmp_path))) == {"t.mp4": "indexed"}
    os.utime(sub, (time.time() - 100, time.time() - 100))
    assert actions(ingest_json(str(tmp_path))) == {"t.mp4": "skipped"}
    sub.write_text(sub.read_text().replace("hello", "hallo"))  # same size, new words
    os.utime(sub, (time.time() - 90, time.time() - 90))
    assert actions(ingest_json(str(tmp_path))) == {"t.mp4": "indexed"}
    assert video.exists()


def test_a_truncated_download_is_indexed_with_a_warning_and_again_when_it_grows(settled, tmp_path):
    full = tmp_path / "full.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=20", "-c:v", "libx264", "-g", "25",
           "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(full))
    lib = tmp_path / "lib"
    lib.mkdir()
    part = lib / "download.mp4"
    part.write_bytes(full.read_bytes()[: full.stat().st_size * 3 // 10])
    result = run_cli("index", str(part))
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "of 20 s: the file looks truncated" in warning
    [rec] = [json.loads(x) for x in run_cli("status", "--json").stdout.splitlines()]
    assert rec["declared_duration"] == 20.0 and rec["duration"] < 10 and "truncated" in rec["warnings"][0]
    assert "looks truncated" in run_cli("status").stdout
    shutil.copy(full, part)  # the download finished
    os.utime(part, (time.time() - 100, time.time() - 100))
    summary = ingest_json(str(lib))
    assert actions(summary) == {"download.mp4": "indexed"} and summary["videos"][0]["frames"] == 20
    [rec] = [json.loads(x) for x in run_cli("status", "--json").stdout.splitlines()]
    assert rec["declared_duration"] is None and rec["warnings"] == []


def test_gone_files_are_left_out_of_find_and_shown_as_gone(env, tmp_path):
    a = colour_video(tmp_path / "a.mp4", [("red", 2), ("blue", 2)])
    b = colour_video(tmp_path / "b.mp4", [("blue", 3), ("green", 2)])
    run_cli("index", str(a), str(b))
    b.unlink()
    result = run_cli("find", "blue", "--json")
    assert {json.loads(x)["video"] for x in result.stdout.splitlines()} == {str(a)}
    assert "1 indexed videos are gone from disk" in result.stderr and "b.mp4" in result.stderr
    states = {json.loads(x)["path"]: json.loads(x)["state"] for x in run_cli("list", "--json").stdout.splitlines()}
    assert states == {str(a): "done", str(b): "gone"}


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(env, rgb_video):
    run_cli("index", str(rgb_video))
    proc = subprocess.Popen([sys.executable, "-m", "vsearch", "find", "red", "-k", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.decode()) == (0, "")


def unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp"],
                           capture_output=True)
    return probe.returncode == 0


def read_only(home: Path, *args: str) -> subprocess.CompletedProcess:
    """Run vsearch with `home` mounted read-only, in a mount namespace of its own."""
    import shlex

    command = (f"mount --bind {shlex.quote(str(home))} {shlex.quote(str(home))} && "
               f"mount -o remount,bind,ro {shlex.quote(str(home))} && "
               f"{shlex.quote(sys.executable)} -m vsearch " + " ".join(map(shlex.quote, args)))
    return subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not unshare_works(), reason="needs root and mount namespaces (unshare -m)")
def test_a_read_only_index_is_searched_and_listed_and_ingest_says_why_not(settled, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    before = sorted(p.name for p in (settled / "index.db").rglob("*"))
    found = read_only(settled, "find", "blue", "--json", "-k", "1")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["seek"] == 8.0
    listed = read_only(settled, "list")
    assert listed.returncode == 0 and "done" in listed.stdout
    ingest = read_only(settled, "ingest", str(tmp_path))
    assert ingest.returncode == 1 and "Traceback" not in ingest.stderr
    assert "cannot be written" in ingest.stderr and "searching works read-only" in ingest.stderr
    index = read_only(settled, "index", str(rgb_video))
    assert index.returncode == 1 and "indexing needs write access" in index.stderr
    assert len(index.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (settled / "index.db").rglob("*")) == before


def test_home_that_is_a_file_and_a_mistyped_index_are_one_line_errors(env, rgb_video, tmp_path):
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text("not a folder")
    for args in (["index", str(rgb_video)], ["ingest", str(tmp_path)], ["list"], ["find", "red"]):
        result = run_cli(*args, ok=False)
        assert result.exit_code == 1 and "Traceback" not in result.stderr, args
        assert "is a file, not a folder" in result.stderr, (args, result.stderr)
    typo = tmp_path / "typo" / "x.db"
    for args in (["list", "--uri", str(typo)], ["status", "--uri", str(typo)]):
        result = run_cli(*args, ok=False)
        assert result.exit_code == 1 and "no index at" in result.stderr
    assert not (tmp_path / "typo").exists()  # reading never creates an index


def test_find_in_a_video_that_is_not_indexed_says_so(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    result = run_cli("find", "red", "--video", str(tmp_path / "other.mp4"), ok=False)
    assert result.exit_code == 1 and "not indexed: " in result.stderr and "other.mp4" in result.stderr


@pytest.mark.parametrize("content,key", [
    ("[find]\ntop_k = -3\n", "find.top_k"),
    ("[extract]\nfps = 0\n", "extract.fps"),
    ("[find]\nrel_threshold = 1.5\n", "find.rel_threshold"),
    ("[find]\nfusion = \"best\"\n", "find.fusion"),
    ("dtype = \"float8\"\n", "dtype"),
    ("[extract]\nchunk = 1.5\n", "extract.chunk"),
    ("collection = \"a-b\"\n", "collection"),
    ("[ingest]\nextensions = []\n", "ingest.extensions"),
    ("[extract]\nsubtitle_encoding = \"klingon\"\n", "extract.subtitle_encoding"),
])
def test_every_knob_is_range_checked_at_load(env, rgb_video, tmp_path, content, key):
    config = tmp_path / "c.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=f"setting {key} "):
        load_settings(config)
    result = run_cli("index", str(rgb_video), "--config", str(config), ok=False)
    assert result.exit_code == 2 and key in result.stderr and "Traceback" not in result.stderr
    assert not env.exists()  # nothing was written with the bad value


def test_every_default_has_a_rule_and_passes_it():
    from vsearch.configs import defaults

    assert set(settings.RULES) == set(defaults())
    load_settings(environ={})


def test_a_config_that_is_not_utf8_and_a_bad_shard_name_themselves(env, tmp_path):
    config = tmp_path / "latin1.toml"
    config.write_bytes(b"# caf\xe9\nmodel = \"clip\"\n")
    result = run_cli("list", "--config", str(config), ok=False)
    assert result.exit_code == 2 and "not UTF-8" in result.stderr and "latin1.toml" in result.stderr
    result = run_cli("ingest", str(tmp_path), "--shard", "3/2", ok=False)
    assert result.exit_code == 2 and "'--shard'" in result.stderr and "0 <= I < N" in result.stderr


def test_subtitles_longer_than_the_video_never_give_impossible_segments(env, tmp_path):
    video = colour_video(tmp_path / "short.mp4", [("red", 5), ("blue", 6)])
    write_vtt(tmp_path / "short.vtt", [(float(t), t + 2.0, f"line {t} blue sky") for t in range(0, 300, 4)])
    result = run_cli("index", str(video))
    assert "probably the subtitles of another video" in result.stderr
    hits = find_json("blue sky", "-k", "20")
    assert hits
    segments_are_sane(hits, {str(video): 11.0})
    assert all(h["cue_end"] is None or h["cue_end"] <= 11.0 for h in hits)


def test_times_are_rounded_in_json(env, tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 3), ("green", 4)], rate="30000/1001")
    run_cli("index", str(video))
    [rec] = [json.loads(x) for x in run_cli("list", "--json").stdout.splitlines()]
    assert rec["duration"] == round(rec["duration"], 3)
    for hit in find_json("green"):
        for key in ("start", "end", "seek", "best_frame", "cue_start", "cue_end"):
            assert hit[key] is None or hit[key] == round(hit[key], 3), (key, hit[key])


def test_failures_of_index_show_in_status(env, tmp_path):
    (tmp_path / "broken.mp4").write_text("not a video")
    assert run_cli("index", str(tmp_path / "broken.mp4"), ok=False).exit_code == 1
    [rec] = [json.loads(x) for x in run_cli("status", "--json").stdout.splitlines()]
    assert rec["state"] == "failed" and "not a readable video" in rec["error"]
    assert run_cli("index", str(tmp_path / "typo.mp4"), ok=False).exit_code == 1
    assert len(run_cli("status", "--json").stdout.splitlines()) == 1  # a mistyped name gets no record


def test_recent_files_say_how_long_they_wait(env, tmp_path):
    colour_video(tmp_path / "fresh.mp4", [("red", 2)])
    summary = ingest_json(str(tmp_path))
    [video] = summary["videos"]
    assert video["action"] == "waiting"
    assert "indexed once it is 60 s old" in video["error"] and "ingest.settle_seconds" in video["error"]


def test_a_dangling_symlink_is_reported_under_its_own_name(settled, tmp_path):
    colour_video(tmp_path / "real.mp4", [("red", 1)])
    (tmp_path / "link.mp4").symlink_to(tmp_path / "moved away.mp4")
    result = run_cli("ingest", "--json", str(tmp_path))
    summary, stderr = json.loads(result.stdout), result.stderr
    assert actions(summary) == {"real.mp4": "indexed"}
    [problem] = summary["problems"]
    assert problem.startswith(str(tmp_path / "link.mp4")) and "dangling symlink" in problem
    assert stderr.count("link.mp4") == 1


@pytest.mark.slow
def test_an_unreachable_hub_fails_fast_and_a_moved_model_folder_is_named(env, rgb_video, tmp_path, monkeypatch):
    from vsearch.testing.checkpoints import tiny_clip

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: refused at once
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    done = subprocess.run([sys.executable, "-m", "vsearch", "index", str(rgb_video), "--model", "nobody/nothing"],
                          capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 1
    assert "hub is unreachable" in done.stderr and "HF_HUB_OFFLINE=1" in done.stderr
    monkeypatch.delenv("VSEARCH_MODEL")
    clip = tiny_clip(tmp_path / "clip")
    run_cli("index", str(rgb_video), "--model", str(clip))
    clip.rename(tmp_path / "elsewhere")
    result = run_cli("find", "red", ok=False)
    assert result.exit_code == 1 and f"model folder {clip}, which is gone" in result.stderr
    # Random weights give frames nothing (tests/test_calibration.py): the subtitle answers.
    assert find_json("grass", "--model", str(tmp_path / "elsewhere"), "-k", "1")
    run_cli("index", str(rgb_video), "--model", str(tmp_path / "elsewhere"))  # the index learns the new place
    assert find_json("grass", "-k", "1")


def test_eval_files_name_the_media_folder_they_need(tmp_path):
    from vsearch.evaluate import EvalFileError, load_queries

    (tmp_path / "media").mkdir()
    colour_video(tmp_path / "media" / "v.mp4", [("red", 2)])
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"query": "red", "video": "{media}/v.mp4", "relevant_windows": [[0, 2]]}))
    with pytest.raises(EvalFileError, match="--media-root"):
        load_queries(queries)
    [q] = load_queries(queries, tmp_path / "media")
    assert q.video == (tmp_path / "media" / "v.mp4").resolve()


def test_av1_in_matroska_indexes_and_finds_its_colours(env, tmp_path):
    """AV1 plays everywhere but decord cannot decode it: PyAV reads it, with the same seconds."""
    video = colour_video(tmp_path / "av1.mkv", [("red", 3), ("blue", 4), ("green", 3)], codec="libaom-av1")
    [indexed] = [json.loads(line) for line in run_cli("index", "--json", str(video)).stdout.splitlines()]
    assert indexed["state"] == "done" and indexed["frames"] == 10
    [blue] = find_json("blue", "-k", "1")
    assert (blue["start"], blue["end"], blue["seek"]) == (3.0, 7.0, 3.0)
