"""A Milvus server (`milvus-lite server`) as the index: the same code as Milvus Lite, through --uri."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import find_json, free_port, run_cli


@pytest.fixture
def server(tmp_path):
    """A real `milvus-lite server` on loopback, stopped after the test."""
    exe = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
    port = free_port()
    proc = subprocess.Popen([exe, "server", "--data-dir", str(tmp_path / "srv"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("milvus-lite server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_index_and_find_through_a_server(env, rgb_video, server, monkeypatch):
    monkeypatch.setenv("VSEARCH_URI", server)
    run_cli("index", str(rgb_video))
    [hit] = find_json("blue", "-k", "1")
    assert (hit["seek"], hit["video"]) == (8.0, str(rgb_video.resolve()))
    # Two clients at once are fine with a server: no lock, no busy error.
    [talk] = find_json("向量数据库", "-k", "1")
    assert talk["cue"] == "这里讲向量数据库"
    assert not (env / "index.db").exists()


def test_server_gone_is_one_line(env):
    result = run_cli("find", "x", "--uri", "http://127.0.0.1:9", ok=False)
    assert result.exit_code == 1 and "cannot reach Milvus at http://127.0.0.1:9" in result.stderr
