"""A newcomer's first runs (#43): `cp *.mp4 lib/; vsearch ingest lib` at a terminal says when the
copies are taken and how to take them now; a file that is no video leaves no record behind."""

import json
import os
import pty
import re
import subprocess
import sys
import time

from conftest import actions, ingest_json, run_cli

from vsearch.testing.media import colour_video, ffmpeg, write_vtt


def at_a_terminal(*args: str) -> tuple[int, str, str]:
    """`vsearch ARGS` with stderr on a pseudo-terminal, as a person runs it: (exit code, stdout, stderr)."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "vsearch", *args], check=False, stdout=subprocess.PIPE,
                              stderr=follower, text=True, env=os.environ, timeout=120)
    finally:
        os.close(follower)
    said = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal is closed and all it held was read
            break
        if not chunk:
            break
        said += chunk
    os.close(leader)
    return done.returncode, done.stdout, said.decode().replace("\r\n", "\n")


def copied(lib, *names: str) -> None:
    """Videos just copied into `lib`, as `cp *.mp4 lib/` leaves them."""
    lib.mkdir(exist_ok=True)
    for name in names:
        colour_video(lib / name, [("red", 1), ("blue", 1)])


def test_copied_videos_say_at_a_terminal_when_they_are_taken_and_how_to_take_them_now(env, tmp_path):
    lib = tmp_path / "lib"
    copied(lib, "a.mp4", "b.mp4", "c.mp4", "d.mp4")
    code, out, err = at_a_terminal("ingest", str(lib))
    assert code == 0 and "0 indexed" in out and "4 waiting" in out, out + err
    [note] = [line for line in err.splitlines() if "--settle 0" in line]
    assert note.startswith("4 waiting: modified in the last 60 s (still being copied?)"), note
    assert "unchanged for 60 s (ingest.settle_seconds)" in note
    assert 0 < int(re.search(r"run again in (\d+) s", note)[1]) <= 60
    taken = actions(ingest_json(str(lib), "--settle", "0"))  # how to go on now
    assert len(taken) == 4 and set(taken.values()) == {"indexed"}


def test_cron_logs_and_json_of_waiting_videos_stay_as_they_were(env, tmp_path):
    lib = tmp_path / "lib"
    copied(lib, "a.mp4")
    result = run_cli("ingest", str(lib))  # stderr is no terminal here, as under cron
    assert "--settle" not in result.output + result.stderr and "waiting" in result.stdout
    summary = ingest_json(str(lib))
    assert set(summary) == {"counts", "problems", "seconds", "videos"}
    assert (summary["counts"], summary["problems"]) == ({"waiting": 1}, [])
    assert "indexed once it is 60 s old" in summary["videos"][0]["error"]


def test_settle_flag_overrides_the_setting(env, tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    copied(lib, "a.mp4")
    hour_ago = time.time() - 3600
    os.utime(lib / "a.mp4", (hour_ago, hour_ago))
    monkeypatch.setenv("VSEARCH_INGEST_SETTLE_SECONDS", "7200")
    assert actions(ingest_json(str(lib))) == {"a.mp4": "waiting"}
    assert actions(ingest_json(str(lib), "--settle", "60")) == {"a.mp4": "indexed"}
    assert run_cli("ingest", str(lib), "--settle", "-1", ok=False).exit_code == 2


def no_videos(folder):
    """{file: what its error says}: files a newcomer passes to `index` that are no videos."""
    folder.mkdir()
    write_vtt(folder / "friday.vtt", [(0.0, 1.0, "hello")])
    (folder / "notes.txt").write_text("a talk about vector databases\n")
    ffmpeg("-f", "lavfi", "-i", "color=red:s=64x48", "-frames:v", "1", str(folder / "photo.png"))
    ffmpeg("-f", "lavfi", "-i", "color=red:s=64x48", "-frames:v", "1", "-f", "image2", str(folder / "photo.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(folder / "song.mp3"))
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "a folder").mkdir()
    return {"friday.vtt": "a subtitle file, not a video", "notes.txt": "not a readable video",
            "photo.png": "a picture, not a video", "photo.mp4": "a picture, not a video",
            "song.mp3": "no video stream", "empty.mp4": "empty file", "a folder": "is a folder"}


def test_a_file_that_is_no_video_gets_its_error_and_no_record(env, tmp_path):
    said = no_videos(tmp_path / "given")
    good = colour_video(tmp_path / "good.mp4", [("green", 2)])
    result = run_cli("index", *(str(tmp_path / "given" / n) for n in said), str(good), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    for name, words in said.items():
        [line] = [line for line in result.stderr.splitlines() if name in line]
        assert line.startswith("failed ") and words in line, line
    assert "indexed  " + str(good) in result.stdout
    for command in ("list", "status"):
        assert [json.loads(x)["path"] for x in run_cli(command, "--json").stdout.splitlines()] == [str(good)]
    shown = run_cli("list").stdout + run_cli("status").stdout
    assert str(good) in shown and not any(name in shown for name in said)


def test_a_broken_file_named_like_a_video_shows_once_in_status_and_waits_for_its_retry(settled, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    write_vtt(lib / "good.vtt", [(0.0, 1.0, "hello")])
    (lib / "notes.txt").write_text("a talk about vector databases\n")
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(lib / "song.mp3"))
    (lib / "broken.mp4").write_text("not a video")
    colour_video(lib / "good.mp4", [("green", 2)])
    summary = ingest_json(str(lib), code=1)  # files of none of ingest.extensions are never taken
    assert actions(summary) == {"good.mp4": "indexed", "broken.mp4": "failed"}
    states = {os.path.basename(s["path"]): (s["state"], s["error"] or "")
              for s in map(json.loads, run_cli("status", "--json").stdout.splitlines())}
    assert states.keys() == {"good.mp4", "broken.mp4"} and states["good.mp4"] == ("done", "")
    assert states["broken.mp4"][0] == "failed" and "not a readable video" in states["broken.mp4"][1]
    assert actions(ingest_json(str(lib)))["broken.mp4"] == "backoff"  # exit 0: cron is told once
