import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import actions, ingest_json, run_cli

from vsearch.extract.scratch import scratch_dir, sweep_scratch
from vsearch.index import Store, VideoRecord, video_id
from vsearch.ingest import backoff, decide, run_lock
from vsearch.settings import load_settings
from vsearch.testing.media import colour_video, ffmpeg, write_vtt
from vsearch.testing.rows import stored_rows


def rows(path):
    with Store(load_settings().store_config()) as store:
        return stored_rows(store, video_id(str(path.resolve())))


def test_incremental_runs(settled, tmp_path):
    lib = tmp_path / "lib"
    (lib / "deep" / "er").mkdir(parents=True)
    a = colour_video(lib / "a talk.mp4", [("red", 2), ("blue", 2)])
    b = colour_video(lib / "deep" / "er" / "b 讲座.mkv", [("green", 3)])
    sub = write_vtt(lib / "a talk.en.vtt", [(0.0, 1.0, "hello")])
    (lib / "notes.txt").write_text("not a video")
    assert actions(ingest_json(str(lib))) == {"a talk.mp4": "indexed", "b 讲座.mkv": "indexed"}
    assert actions(ingest_json(str(lib))) == {"a talk.mp4": "skipped", "b 讲座.mkv": "skipped"}

    os.utime(a, (time.time() - 500, time.time() - 500))  # touched, same bytes
    assert actions(ingest_json(str(lib)))["a talk.mp4"] == "skipped"

    write_vtt(sub, [(0.0, 1.0, "hello"), (2.0, 3.0, "a new cue")])
    os.utime(sub, (time.time() - 400, time.time() - 400))
    assert actions(ingest_json(str(lib))) == {"a talk.mp4": "indexed", "b 讲座.mkv": "skipped"}
    assert rows(a) == (4, 2)

    colour_video(a, [("yellow", 5)])
    os.utime(a, (time.time() - 300, time.time() - 300))
    assert actions(ingest_json(str(lib)))["a talk.mp4"] == "indexed"
    assert rows(a) == (5, 2)

    b.unlink()
    assert actions(ingest_json(str(lib)))["b 讲座.mkv"] == "gone"
    assert rows(b) == (3, 0)  # kept until --prune
    assert actions(ingest_json(str(lib), "--prune"))["b 讲座.mkv"] == "pruned"
    assert rows(b) == (0, 0)


def test_recent_files_wait(env, tmp_path):
    colour_video(tmp_path / "fresh.mp4", [("red", 2)])
    summary = ingest_json(str(tmp_path))
    assert actions(summary) == {"fresh.mp4": "waiting"}


@pytest.mark.slow
def test_bad_inputs_fail_alone_and_back_off(settled, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    colour_video(lib / "good one.mp4", [("red", 2), ("cyan", 2)])
    (lib / "zero.mp4").write_bytes(b"")
    (lib / "text.mp4").write_text("just text")
    full = colour_video(tmp_path / "full.mp4", [("red", 3), ("blue", 3)], size="320x240").read_bytes()
    (lib / "no moov.mp4").write_bytes(full[: len(full) // 2])
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(lib / "audio only.mp4"))
    colour_video(lib / "huge.mp4", [("blue", 1)], size="3840x2160")
    colour_video(lib / "silent.mp4", [("green", 2)])
    (lib / "silent.vtt").write_text("WEBVTT\n\nthis is -> not a cue\n")
    colour_video(lib / "cp.mp4", [("red", 2)])
    (lib / "cp.srt").write_bytes("1\n00:00:00,000 --> 00:00:01,500\nÉté à la plage\n\n".encode("cp1252") * 3)
    colour_video(lib / "gb.mp4", [("red", 2)])
    (lib / "gb.srt").write_bytes("1\n00:00:00,000 --> 00:00:01,500\n我们讲到向量数据库的部分\n\n".encode("gb18030") * 3)

    summary = ingest_json(str(lib), code=1)
    got = actions(summary)
    assert {k for k, v in got.items() if v == "failed"} == {"zero.mp4", "text.mp4", "no moov.mp4", "audio only.mp4"}
    assert {k for k, v in got.items() if v == "indexed"} == {"good one.mp4", "huge.mp4", "silent.mp4", "cp.mp4", "gb.mp4"}
    errors = {os.path.basename(v["path"]): v["error"] for v in summary["videos"]}
    assert "empty file" in errors["zero.mp4"] and "\n" not in errors["text.mp4"]
    assert rows(lib / "silent.mp4") == (2, 0)
    with Store(load_settings().store_config()) as store:
        assert store.search_words("向量数据库", 3)[0].text == "我们讲到向量数据库的部分"
        assert store.search_words("plage", 3)[0].text == "Été à la plage"

    status = [json.loads(x) for x in run_cli("status", "--json").stdout.splitlines()]
    by_name = {os.path.basename(s["path"]): s for s in status}
    assert by_name["zero.mp4"]["state"] == "failed" and "empty file" in by_name["zero.mp4"]["error"]
    assert set(by_name["good one.mp4"]) >= {"path", "state", "frames", "cues", "error", "indexed_at"}
    assert "with errors" in run_cli("status").stdout

    again = actions(ingest_json(str(lib)))  # failures wait for their retry time: exit 0
    assert again["zero.mp4"] == "backoff" and again["good one.mp4"] == "skipped"

    colour_video(lib / "zero.mp4", [("magenta", 2)])  # fixed: retried at once
    os.utime(lib / "zero.mp4", (time.time() - 200, time.time() - 200))
    assert actions(ingest_json(str(lib)))["zero.mp4"] == "indexed"


def test_a_second_run_exits_at_once(settled, tmp_path):
    colour_video(tmp_path / "v.mp4", [("red", 2)])
    with run_lock(load_settings().home):
        result = run_cli("ingest", str(tmp_path), ok=False)
    assert result.exit_code == 0 and "another ingest is running" in result.stderr
    assert "indexed" in run_cli("ingest", str(tmp_path)).stdout  # lock released


def test_shards_split_the_library(settled, tmp_path):
    for i in range(6):
        colour_video(tmp_path / f"v{i}.mp4", [("red", 1)], size="32x24")
    owned = [set(actions(ingest_json(str(tmp_path), "--shard", f"{i}/3"))) for i in range(3)]
    assert sum(len(o) for o in owned) == 6 and set().union(*owned) == {f"v{i}.mp4" for i in range(6)}
    assert run_cli("ingest", str(tmp_path), "--shard", "3/3", ok=False).exit_code == 2


def test_symlink_loops_are_reported(settled, tmp_path):
    colour_video(tmp_path / "v.mp4", [("red", 1)])
    (tmp_path / "loop").symlink_to(tmp_path)
    summary = ingest_json(str(tmp_path))
    assert actions(summary) == {"v.mp4": "indexed"}
    assert any("symlink loop" in p for p in summary["problems"])


def test_not_a_folder(settled, tmp_path):
    result = run_cli("ingest", str(tmp_path / "nope"), ok=False)
    assert result.exit_code == 1 and "not a folder" in result.stderr


NOW = 1_000_000


@pytest.mark.parametrize("record,quick,expected", [
    (None, "1:2|#", "index"),
    (VideoRecord(1, "/v", fingerprint="1:2|#abc", state="done"), "1:2|#", "skip"),
    (VideoRecord(1, "/v", fingerprint="1:3|#abc", state="done"), "1:2|#", "index"),
    (VideoRecord(1, "/v", fingerprint="1:2|#abc", state="indexing"), "1:2|#", "index"),  # killed mid-write
    (VideoRecord(1, "/v", fingerprint="1:2|#", state="failed", error="x", retry_at=NOW + 5,
                 info={"failed": "1:2|#"}), "1:2|#", "backoff"),
    (VideoRecord(1, "/v", fingerprint="1:2|#", state="failed", error="x", retry_at=NOW - 5,
                 info={"failed": "1:2|#"}), "1:2|#", "index"),                          # due
    (VideoRecord(1, "/v", fingerprint="1:2|#", state="failed", error="x", retry_at=NOW + 5,
                 info={"failed": "1:2|#"}), "9:9|#", "index"),                          # file changed
])
def test_decide(record, quick, expected):
    assert decide(record, quick, NOW) == expected


@pytest.mark.parametrize("attempts,expected", [(1, 300), (2, 600), (3, 1200), (20, 86400)])
def test_backoff(attempts, expected):
    assert backoff(attempts, 300, 86400) == expected


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A private temp folder for this process and the ones it starts."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.slow
def test_a_video_that_kills_the_process_cannot_starve_the_rest(settled, tmp_path, scratch):
    lib = tmp_path / "lib"
    lib.mkdir()
    colour_video(lib / "a poison.mp4", [("magenta", 2)])  # first in order; kills test-crash
    for name in ("b.mp4", "c.mp4"):
        colour_video(lib / name, [("red", 2)])
    cmd = [sys.executable, "-m", "vsearch", "ingest", str(lib), "--model", "test-crash"]
    for _ in range(3):
        assert subprocess.run(cmd, capture_output=True, env=os.environ).returncode == -signal.SIGKILL
    assert [rows(lib / n) for n in ("b.mp4", "c.mp4")] == [(2, 0), (2, 0)]
    assert (settled / "ingest.attempt").read_text("utf-8") == str((lib / "a poison.mp4").resolve())
    assert len(list(scratch.iterdir())) == 1  # the last killed run's; each run swept the one before's
    (lib / "a poison.mp4").unlink()
    result = run_cli("ingest", str(lib), "--model", "test-crash")
    assert "died while indexing" not in result.stderr and not (settled / "ingest.attempt").exists()
    assert list(scratch.iterdir()) == []


def test_sweep_removes_only_folders_of_dead_vsearch_processes_on_this_host(scratch):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    with scratch_dir() as made:
        host = Path(made).name.split("@")[1].rsplit("-", 1)[0]
    names = [f"vsearch-{dead}@{host}-ab12_x9z", f"vsearch-{os.getpid()}@{host}-ab12_x9z",
             f"vsearch-{dead}@other.host-ab12_x9z", "vsearch-ab12_x9z", "unrelated"]
    for name in names:
        (scratch / name).mkdir()
    assert sweep_scratch() == [scratch / names[0]]
    assert sorted(p.name for p in scratch.iterdir()) == sorted(names[1:])


@pytest.mark.slow
def test_sigterm_mid_video_stops_cleanly_and_keeps_what_was_indexed(settled, tmp_path, scratch):
    lib = tmp_path / "lib"
    lib.mkdir()
    a = colour_video(lib / "a.mp4", [("red", 2)])
    b = colour_video(lib / "b.avi", [("blue", 2)], codec="mpeg4")  # AVI: a temp copy exists meanwhile
    cmd = [sys.executable, "-m", "vsearch", "ingest", str(lib), "--model", "test-term"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, timeout=120)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (
        143, "vsearch: terminated; what was indexed is kept, run it again to go on"), done.stderr
    assert "Traceback" not in done.stderr
    assert list(scratch.iterdir()) == [] and not (settled / "ingest.attempt").exists()
    assert (rows(a), rows(b)) == ((2, 0), (0, 0))
    assert subprocess.run(cmd, capture_output=True, env=os.environ, timeout=120).returncode == 0
    assert rows(b) == (2, 0)


@pytest.mark.slow
def test_sigkill_at_any_moment_then_rerun_equals_a_clean_run(env, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_INGEST_SETTLE_SECONDS", "0")
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(5):
        colour_video(lib / f"v{i}.mp4", [("red", 20 + i), ("blue", 10)], size="32x24")
        write_vtt(lib / f"v{i}.vtt", [(float(j), j + 0.5, f"cue {j}") for j in range(0, 25, 2)])

    def counts(home):
        config = load_settings(flags={"home": str(home)}).store_config()
        with Store(config) as store:
            return {r.path: (r.state, stored_rows(store, r.id)) for r in store.videos()}

    clean = tmp_path / "clean"
    run_cli("ingest", str(lib), "--home", str(clean))
    expected = counts(clean)
    assert len(expected) == 5 and all(state == "done" for state, _ in expected.values())

    victim = tmp_path / "victim"
    cmd = [sys.executable, "-m", "vsearch", "ingest", str(lib), "--home", str(victim)]
    for delay in (0.8, 1.6, 2.4, 3.2, 4.0):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run_cli("ingest", str(lib), "--home", str(victim))
    assert counts(victim) == expected
