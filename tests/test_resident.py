"""The server a `find` typed at a terminal starts, and `find` through any running server.

Real processes on a real pseudo-terminal: `vsearch find` as a user types it, the detached server
it starts, `serve --stop`, and the idle exit.
"""

import json
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import find_json, run_cli

pytestmark = pytest.mark.slow


def in_terminal(*args: str, env: dict, timeout: float = 180, cwd=None) -> tuple[int, str]:
    """(exit code, what it printed) of `vsearch ARGS` with a terminal as its stdin, stdout and stderr;
    in `cwd`, the installed `vsearch` command, as a user types it."""
    leader, follower = pty.openpty()
    program = [str(Path(sys.executable).parent / "vsearch")] if cwd else [sys.executable, "-m", "vsearch"]
    child = subprocess.Popen([*program, *args], stdin=follower, stdout=follower, stderr=follower, env=env, cwd=cwd)
    os.close(follower)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif child.poll() is not None:
                break
        child.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(leader)
        if child.poll() is None:
            child.kill()
    return child.returncode, out.decode("utf-8", "replace").replace("\r\n", "\n")


def _announced(home) -> dict | None:
    try:
        return json.loads((home / "serve.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def terminal_env(env, rgb_video):
    """The `env` index with the rgb video, as a terminal session's environment (no CI variable);
    any server left running is stopped afterwards."""
    run_cli("index", str(rgb_video))
    session = {k: v for k, v in os.environ.items() if k != "CI"}
    yield session
    server = _announced(env)
    if server:
        try:
            os.kill(server["pid"], 15)
        except ProcessLookupError:
            pass
        _gone(server["pid"], 20)


def test_a_find_at_a_terminal_starts_a_server_the_next_finds_use(env, terminal_env, rgb_video, tmp_path):
    expected = find_json("blue", "-k", "2")
    # From the folder `git clone` leaves a user in: its vsearch/ folder is not the package.
    (tmp_path / "vsearch").mkdir()
    code, said = in_terminal("find", "blue", "-k", "2", env=terminal_env, cwd=tmp_path)
    assert code == 0 and "starting a server" in said and "00:00:08" in said, said
    server = _announced(env)
    assert server and server["started_by"] == "find" and server["idle"] == 15 and server["token"], server
    # Its token is for the processes of this user only: never in the log, files 0600, home 0700.
    log = env / "serve.log"
    assert server["token"] not in log.read_text("utf-8", "replace") and "serving" in log.read_text("utf-8", "replace")
    assert [oct(p.stat().st_mode & 0o777) for p in (env, log, env / "serve.json")] == ["0o700", "0o600", "0o600"]
    # This process cannot load the test encoder (no plugin): only the server can answer.
    alone = dict(terminal_env, VSEARCH_PLUGINS="")
    code, said = in_terminal("find", "blue", "-k", "2", "--json", env=alone)
    assert code == 0 and "starting" not in said, said
    assert [json.loads(line) for line in said.splitlines() if line.startswith("{")] == expected
    status = run_cli("status").stdout
    assert f"server: {server['url']} (pid {server['pid']}, started by find, exits after 15 min" in status
    # A server's answers count only for finds ranked with its settings: these differ.
    other = subprocess.run([sys.executable, "-m", "vsearch", "find", "blue", "--json"], capture_output=True,
                           text=True, env=dict(alone, VSEARCH_FIND_WEIGHT_BM25="0.3"))
    assert other.returncode != 0 and "test-colors" in other.stderr
    stopped = run_cli("serve", "--stop")
    assert f"stopped the server at {server['url']}" in stopped.stderr
    assert _gone(server["pid"], 5) and not (env / "serve.json").exists()
    assert log.read_text("utf-8").splitlines()[-1] == "vsearch: the server stopped"
    assert "no server is running" in run_cli("serve", "--stop").stderr


def test_scripts_and_pipes_never_start_one(env, terminal_env):
    piped = subprocess.run([sys.executable, "-m", "vsearch", "find", "blue"], capture_output=True, text=True,
                           env=terminal_env)
    assert piped.returncode == 0 and "starting" not in piped.stderr
    code, said = in_terminal("find", "blue", env=dict(terminal_env, CI="true"))
    assert code == 0 and "starting" not in said
    code, said = in_terminal("find", "blue", env=dict(terminal_env, VSEARCH_FIND_RESIDENT="off"))
    assert code == 0 and "starting" not in said
    assert not (env / "serve.json").exists()


def test_the_server_exits_when_idle(env, terminal_env):
    code, said = in_terminal("find", "blue", env=dict(terminal_env, VSEARCH_SERVE_IDLE="0.05"))  # 3 s
    assert code == 0, said
    server = _announced(env)
    assert server and _gone(server["pid"], 30) and not (env / "serve.json").exists()


def test_an_empty_index_is_said_by_find_not_kept_by_a_server(env):
    session = {k: v for k, v in os.environ.items() if k != "CI"}
    code, said = in_terminal("find", "anything", env=session)
    assert code == 1 and "the index is empty" in said and "Traceback" not in said, said
    assert not (env / "serve.json").exists()


def test_a_port_in_use_is_one_line_before_any_model_loads(env, monkeypatch):
    monkeypatch.setenv("VSEARCH_MODEL", str(env / "no-such-model"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        began = time.monotonic()
        result = run_cli("serve", "--port", str(taken.getsockname()[1]), ok=False)
    assert result.exit_code == 3 and "is in use" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr and time.monotonic() - began < 5


def test_pictures_and_gone_videos_through_a_server(env, terminal_env, rgb_video, tmp_path):
    """`find --image`, with a text query or not, asks the server too; a video gone from disk is said through it."""
    from PIL import Image

    from vsearch.testing.media import colour_video

    gone = colour_video(tmp_path / "soon gone.mp4", [("blue", 3)])
    run_cli("index", str(gone))
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "red.png")
    code, said = in_terminal("find", "green", env=terminal_env)
    assert code == 0 and _announced(env), said
    gone.unlink()
    alone = dict(terminal_env, VSEARCH_PLUGINS="")
    picture = subprocess.run([sys.executable, "-m", "vsearch", "find", "--image", str(tmp_path / "red.png"),
                              "-k", "1", "--json"], capture_output=True, text=True, env=alone)
    assert picture.returncode == 0, picture.stderr
    [red] = [json.loads(line) for line in picture.stdout.splitlines()]
    assert (red["start"], red["end"], red["source"]) == (0.0, 4.0, "frames")
    both = subprocess.run([sys.executable, "-m", "vsearch", "find", "blue", "--image", str(tmp_path / "red.png"),
                           "-k", "2", "--json"], capture_output=True, text=True, env=alone)
    assert both.returncode == 0, both.stderr  # text and picture in one ranking, by the server alone
    signals = [set(json.loads(line)["signals"]) for line in both.stdout.splitlines()]
    assert {"frames"} in signals and {"picture"} in signals, signals
    blue = subprocess.run([sys.executable, "-m", "vsearch", "find", "blue"], capture_output=True, text=True,
                          env=alone)
    assert blue.returncode == 0 and "1 indexed videos are gone from disk" in blue.stderr, blue.stderr
    assert "soon gone.mp4" in blue.stderr
    bad = subprocess.run([sys.executable, "-m", "vsearch", "find", "--image", str(rgb_video)], capture_output=True,
                         text=True, env=alone)
    assert bad.returncode == 1 and "not an image" in bad.stderr and "Traceback" not in bad.stderr
    sound = subprocess.run([sys.executable, "-m", "vsearch", "find", "--audio", str(rgb_video)],
                           capture_output=True, text=True, env=alone)
    assert sound.returncode == 1 and "no sounds to search" in sound.stderr, sound.stderr


def test_a_served_page_takes_the_place_of_the_server_a_find_started(env, terminal_env):
    from conftest import free_port

    code, said = in_terminal("find", "blue", env=terminal_env)
    started = _announced(env)
    assert code == 0 and started and started["started_by"] == "find", said
    serving = subprocess.Popen([sys.executable, "-m", "vsearch", "serve", "--port", str(free_port())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=terminal_env)
    try:
        assert _gone(started["pid"], 30)
        deadline = time.monotonic() + 60
        while (_announced(env) or {}).get("pid") != serving.pid and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _announced(env)["started_by"] == "serve"
    finally:
        serving.terminate()
        serving.wait(timeout=20)
