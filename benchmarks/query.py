"""Query latency of `find` over synthetic indexes, through `vsearch serve`, cold start of `vsearch
find` with and without a server, finds typed at a terminal and searches on the page, `--help` time.

    python benchmarks/query.py [--sizes 10000,100000,1000000] [--dim 512] [--queries 50] [--no-server]

Stored seconds are random unit vectors (one video per 600 s, one cue per 10 s); query vectors
are random too, so the numbers are search and fusion cost, model load excluded. Each size is
queried twice on the same index: with vsearch's numpy searches for Milvus Lite (fast_lite, the
default) and with Milvus Lite's own, the baseline of `speedup_vs_stock_lite`.

The server path (`vsearch serve` in this process, asked over HTTP) encodes each query with a
randomly initialised ViT-B/32-sized CLIP text tower, so its numbers include query encoding; the
CLI's wall time is measured with that server announced, and without it (the model loaded).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORDS = "vector database index query frame subtitle lecture model search segment".split()


class RandomEncoder:
    """Stands in for a model: random unit vectors of the right size, no load time."""

    model_id = "bench"
    # As a measured model's (index/calibration.py): frame hits take the calibrated-share path.
    levels = {"latin": (0.0, 0.1), "han": (0.0, 0.1)}

    def __init__(self, dim: int):
        self.dim = dim
        self.rng = np.random.default_rng(1)

    def encode_texts(self, texts):
        v = self.rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


MODEL = "bench"  # the model id the index is built for; the server path sets it to the ViT-B/32 folder


def build(uri: str, seconds: int, dim: int, files: Path, model: str = "", text: tuple = ("image", 0, {})) -> float:
    """An index of `seconds` stored seconds; its videos are empty files in `files`, so `find` keeps them.

    `text` is the text model's (name, dim, meta entries) where cue vectors are not the image model's.
    """
    from vsearch.extract import Cue
    from vsearch.index import Store, StoreConfig, VideoRecord, video_id

    model = model or MODEL
    text_model, text_dim, meta = text
    text_dim = text_dim or dim
    rng = np.random.default_rng(0)
    began = time.perf_counter()
    with Store(StoreConfig(uri)) as store:
        store.create(model, dim, text_model, text_dim, meta)
        files.mkdir(parents=True, exist_ok=True)
        for n, lo in enumerate(range(0, seconds, 600)):
            length = min(600, seconds - lo)
            path = str(files / f"video{n:05d}.mp4")
            Path(path).touch()
            frames = rng.normal(size=(length, dim)).astype(np.float32)
            frames /= np.linalg.norm(frames, axis=1, keepdims=True)
            cues = [Cue(float(t), t + 4.0, " ".join(rng.choice(WORDS, 6))) for t in range(0, length, 10)]
            cue_vecs = rng.normal(size=(len(cues), text_dim)).astype(np.float32)
            cue_vecs /= np.linalg.norm(cue_vecs, axis=1, keepdims=True)
            rec = VideoRecord(video_id(path), path, duration=float(length), fps=1.0, model=model)
            store.replace_rows(rec, list(range(length)), [t + 0.5 for t in range(length)], frames, cues, cue_vecs)
    return time.perf_counter() - began


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return f"p50={statistics.median(samples) * 1000:.1f}ms p95={q[18] * 1000:.1f}ms"


def latency(uri: str, dim: int, queries: int, fast_lite: bool) -> tuple[list[float], list[float], list[float]]:
    from vsearch.index import Store, StoreConfig
    from vsearch.query import FindOptions, find, rank_segments
    from vsearch.query.search import gather_hits

    encoder, options = RandomEncoder(dim), FindOptions()
    encoder.model_id = MODEL
    config = StoreConfig(uri, fast_lite=fast_lite)
    warm, cold = [], []
    with Store(config) as store:
        store.check(MODEL, dim)
        for i in range(queries):
            query = " ".join(WORDS[i % 7 : i % 7 + 3])
            began = time.perf_counter()
            hits = gather_hits(store, store.folded(query), encoder.encode_texts([query])[0], options)
            rank_segments(hits, store.get_videos({h.video_id for h in hits}), options)
            warm.append(time.perf_counter() - began)
        # Re-indexing a video deletes its rows by filter first (a video id that holds none here).
        deletes = []
        for i in range(5):
            began = time.perf_counter()
            store.delete_rows(i + 1)
            deletes.append(time.perf_counter() - began)
    for i in range(min(queries, 20)):
        began = time.perf_counter()
        with Store(config) as store:
            find(store, encoder, WORDS[i % 10], options)
        cold.append(time.perf_counter() - began)
    return warm, cold, deletes


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


def served(tmp: Path, uri: str, queries: int) -> tuple[list[float], list[float], list[float], list[float]]:
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
               VSEARCH_MODEL=MODEL, VSEARCH_TEXT_MODEL="image", VSEARCH_DEVICE="cpu")
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
            subprocess.run([sys.executable, "-m", "vsearch", "find", WORDS[i]], env=env, check=True, capture_output=True)
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


def terminal_session(tmp: Path, uri: str, queries: int) -> tuple[float, list[float], list[float]]:
    """`vsearch find` typed at a terminal (a pseudo-terminal): the first, which starts the
    background server, the ones after it, and the page's searches (Enter to the results drawn,
    in chromium) on that server; then `serve --stop`."""
    import json
    import shutil

    from test_resident import in_terminal

    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(VSEARCH_HOME=str(tmp / f"serve-home-{Path(uri).stem}"), VSEARCH_URI=uri, VSEARCH_MODEL=MODEL,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--no-server", action="store_true", help="skip the vsearch serve measurements")
    args = parser.parse_args()
    global MODEL
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_server:
            from ingest import vit_b32

            MODEL = str(vit_b32(Path(tmp) / "vit-b32"))
            args.dim = 512
        for size in (int(s) for s in args.sizes.split(",")):
            uri = f"{tmp}/q{size}.db"
            built = build(uri, size, args.dim, Path(tmp) / f"files{size}")
            print(f"seconds={size} dim={args.dim} build={built:.0f}s")
            p50 = {}
            for fast_lite in (True, False):
                warm, cold, deletes = latency(uri, args.dim, args.queries, fast_lite)
                p50[fast_lite] = statistics.median(warm)
                label = "vsearch (fast_lite)" if fast_lite else "Milvus Lite's own search"
                print(f"  {label}: find(open index): {percentiles(warm)}  "
                      f"find(incl. opening Milvus Lite): {percentiles(cold)}  "
                      f"delete_rows(filter) p50={statistics.median(deletes) * 1000:.1f}ms")
            print(f"  speedup_vs_stock_lite={p50[False] / p50[True]:.2f}")
            if not args.no_server:
                http, encoding, with_server, without = served(Path(tmp), uri, args.queries)
                print(f"  through vsearch serve (HTTP, incl. encoding the query with a ViT-B/32-sized text tower): "
                      f"{percentiles(http)}; encoding alone {percentiles(encoding)}")
                print(f"  vsearch find, wall: with the server p50={statistics.median(with_server):.2f}s  "
                      f"without (model loaded) p50={statistics.median(without):.2f}s")
                first, later, page = terminal_session(Path(tmp), uri, min(args.queries, 20))
                print(f"  a terminal session (find.resident = auto): first find {first:.2f}s (starts the server), "
                      f"later finds p50={statistics.median(later):.2f}s p95={statistics.quantiles(later, n=20)[18]:.2f}s"
                      + (f"; the page, Enter to results drawn: {percentiles(page)}" if page else ""))
        find_s, help_s = cli_times(Path(tmp))
    print(f"cold_start_find={find_s:.2f}s (process start to first result, tiny model)")
    print(f"help={help_s:.2f}s")


if __name__ == "__main__":
    main()
