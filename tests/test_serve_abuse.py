"""A real `vsearch serve` (uvicorn, its own process) under bad requests, and on a read-only home."""

import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import free_port, run_cli

pytestmark = pytest.mark.slow


def _serve(port: int, home, log) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "vsearch", "serve", "--port", str(port), "--home", str(home)],
                              stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if _ask(port, "/api/ping")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.kill()
    raise AssertionError(f"no server: {open(log.name).read()}")


def _ask(port: int, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """(status, body bytes) of one request to the server on `port`."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def _big_png() -> bytes:
    """7000x7000 16-bit RGB that compresses to a few hundred kB: 294 MB once decoded as it is."""
    import numpy as np
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.zeros((7000, 7000), np.uint16)).save(out, "PNG")
    return out.getvalue()


def _multipart(data: bytes) -> tuple[bytes, dict]:
    boundary = "vsearchtestboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_two_hundred_bad_requests_leave_the_server_answering_as_before(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    port = free_port()
    with open(tmp_path / "serve.log", "w") as log:
        server = _serve(port, env, log)
    try:
        vid = json.loads(_ask(port, "/api/videos")[1])["videos"][0]["video_id"]
        before = json.loads(_ask(port, "/api/find?q=blue&k=3")[1])["results"]
        upload, form = _multipart(_big_png())
        rank = json.dumps({"query": "blue", "variants": [{"pad": -1e308}]}).encode()
        bad = [  # (path, method, body, headers, the status wanted)
            ("/api/videos", "GET", None, {"Host": "evil.example"}, 421),
            ("/api/find?q=blue", "GET", None, {"Origin": "https://evil.example"}, 403),
            ("/api/find", "POST", upload, {**form, "Sec-Fetch-Site": "cross-site"}, 403),
            ("/api/find", "POST", upload, form, 200),
            ("/api/rank", "POST", rank, {"Content-Type": "application/json"}, 400),
            (f"/thumb/{vid}/99999", "GET", None, {}, 400),
            (f"/thumb/{vid}/1.5", "GET", None, {}, 200),
            ("/static/..%2f..%2fsettings.py", "GET", None, {}, 404),
            ("/media/..%2f..%2fetc%2fpasswd", "GET", None, {}, 404),
            (f"/media/{vid}", "GET", None, {"Range": "bytes=5-2,0-1,3-"}, 400),  # malformed
            (f"/media/{vid}", "GET", None, {"Range": "bytes=999999999-"}, 416),
            (f"/clip/{vid}?start=0&end=1e9", "GET", None, {}, 400),
            ("/api/find?q=" + "x" * 5000, "GET", None, {}, 400),
        ]
        asks = [bad[n % len(bad)] for n in range(200)]
        peak = [0.0]

        def one(case):
            path, method, body, headers, wanted = case
            status = _ask(port, path, method, body, headers)[0]
            peak[0] = max(peak[0], _rss_mb(server.pid))
            return path, wanted, status

        with ThreadPoolExecutor(20) as pool:
            answered = list(pool.map(one, asks))
        wrong = [a for a in answered if a[1] != a[2]]
        assert not wrong, wrong[:5]
        assert json.loads(_ask(port, "/api/find?q=blue&k=3")[1])["results"] == before
        assert server.poll() is None and peak[0] < 1500, peak
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_read_only_home_is_served(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(env), str(frozen)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot make a read-only folder here (mount --bind needs root)")
    try:
        assert subprocess.run(["touch", str(frozen / "x")], capture_output=True).returncode != 0
        port = free_port()
        with open(tmp_path / "serve.log", "w") as log:
            server = _serve(port, frozen, log)
        try:
            status, body = _ask(port, "/api/find?q=blue&k=1")
            assert status == 200 and json.loads(body)["results"][0]["start"] == 8.0
            vid = json.loads(body)["results"][0]["video_id"]
            assert _ask(port, f"/thumb/{vid}/9.0")[0] == 200  # kept in a private folder
        finally:
            server.terminate()
            server.wait(timeout=30)
        said = (tmp_path / "serve.log").read_text()
        assert "Traceback" not in said and "cannot write" in said, said
    finally:
        subprocess.run(["umount", str(frozen)], check=True)
