"""`vsearch find` as people run it, for benchmarks/query.py: through `vsearch serve` over HTTP, at a
terminal (the background server), on the page in chromium, and a cold start; `--help`."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from vectors import WORDS


def cli_times(tmp: Path) -> tuple[float, float]:
    from vsearch.testing.checkpoints import tiny_clip
    from vsearch.testing.media import colour_video

    env = dict(os.environ, VSEARCH_HOME=str(tmp / "home"), VSEARCH_MODEL=str(tiny_clip(tmp / "clip")),
               VSEARCH_TEXT_MODEL="image", VSEARCH_ASR_MODE="off", VSEARCH_OCR_MODE="off")
    video = colour_video(tmp / "v.mp4", [("red", 3), ("blue", 3)])
    subprocess.run([sys.executable, "-m", "vsearch", "index", str(video)], env=env, check=True, capture_output=True)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vsearch", "find", "blue"], env=env, check=True, capture_output=True)
    find_s = time.perf_counter() - began
    helps = []
    for _ in range(5):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vsearch", "--help"], check=True, capture_output=True)
        helps.append(time.perf_counter() - began)
    return find_s, statistics.median(helps)


def served(tmp: Path, uri: str, queries: int, model: str) -> tuple[list[float], list[float], list[float], list[float]]:
    """`find` through a server on `uri` over HTTP, encoding a query alone, and `vsearch find` wall
    times with that server announced and with `find.use_server = false`."""
    import threading
    import urllib.parse
    import urllib.request

    import uvicorn

    from vsearch import remote
    from vsearch.settings import load_settings
    from vsearch.web import create_app

    env = dict(os.environ, VSEARCH_HOME=str(tmp / f"serve-home-{Path(uri).stem}"), VSEARCH_URI=uri,
               VSEARCH_MODEL=model, VSEARCH_TEXT_MODEL="image", VSEARCH_DEVICE="cpu")
    settings = load_settings(environ=env)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    remote.announce(settings, url)
    http, encoding, with_server, without = [], [], [], []
    for i in range(queries):
        began = time.perf_counter()
        app.state.resident.encoder.encode_texts([" ".join(WORDS[i % 7 : i % 7 + 3]) + f" {i}"])
        encoding.append(time.perf_counter() - began)
    try:
        for i in range(queries):
            q = urllib.parse.quote(" ".join(WORDS[i % 7 : i % 7 + 3]) + f" {i}")
            began = time.perf_counter()
            with urllib.request.urlopen(f"{url}/api/find?q={q}&k=5") as answer:
                answer.read()
            http.append(time.perf_counter() - began)
        for i in range(5):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vsearch", "find", WORDS[i]], env=env, check=True,
                           capture_output=True)
            with_server.append(time.perf_counter() - began)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        remote.withdraw(settings)
    for i in range(3):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vsearch", "find", WORDS[i]], check=True, capture_output=True,
                       env=dict(env, VSEARCH_FIND_USE_SERVER="0"))
        without.append(time.perf_counter() - began)
    return http, encoding, with_server, without


def terminal_session(tmp: Path, uri: str, queries: int, model: str) -> tuple[float, list[float], list[float]]:
    """`vsearch find` typed at a terminal (a pseudo-terminal): the first, which starts the
    background server, the ones after it, and the page's searches (Enter to the results drawn,
    in chromium) on that server; then `serve --stop`."""
    import json
    import shutil

    from test_resident import in_terminal

    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(VSEARCH_HOME=str(tmp / f"serve-home-{Path(uri).stem}"), VSEARCH_URI=uri, VSEARCH_MODEL=model,
               VSEARCH_TEXT_MODEL="image", VSEARCH_DEVICE="cpu")
    began = time.perf_counter()
    code, said = in_terminal("find", "vector database", env=env, timeout=600)
    first = time.perf_counter() - began
    assert code == 0 and "starting a server" in said, said
    later, page = [], []
    try:
        for i in range(queries):
            began = time.perf_counter()
            code, said = in_terminal("find", " ".join(WORDS[i % 7 : i % 7 + 2]) + f" {i}", env=env)
            later.append(time.perf_counter() - began)
            assert code == 0 and "starting" not in said, said
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium:
            server = json.loads((Path(env["VSEARCH_HOME"]) / "serve.json").read_text())
            page = page_searches(chromium, f"{server['url']}/?token={server['token']}", queries)
    finally:
        subprocess.run([sys.executable, "-m", "vsearch", "serve", "--stop"], env=env, capture_output=True)
    return first, later, page


def page_searches(chromium: str, url: str, queries: int) -> list[float]:
    """Seconds from Enter to the page showing a new query's results, in chromium."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(bypass_csp=True)
        page.goto(url)
        for i in range(queries):
            page.evaluate("document.getElementById('results').textContent = ''")
            page.fill("#q", " ".join(WORDS[i % 5 : i % 5 + 3]) + f" page {i}")
            began = time.perf_counter()
            page.press("#q", "Enter")
            page.wait_for_selector(".card")
            times.append(time.perf_counter() - began)
        browser.close()
    return times


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
