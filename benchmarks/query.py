"""Query latency of `find` over synthetic indexes, cold start of `vsearch find`, `--help` time.

    python benchmarks/query.py [--sizes 10000,100000,1000000] [--dim 512] [--queries 50]

Stored seconds are random unit vectors (one video per 600 s, one cue per 10 s); query vectors
are random too, so the numbers are search and fusion cost, model load excluded. Each size is
queried twice on the same index: with vsearch's numpy searches for Milvus Lite (fast_lite, the
default) and with Milvus Lite's own, the baseline of `speedup_vs_stock_lite`.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

WORDS = "vector database index query frame subtitle lecture model search segment".split()


class RandomEncoder:
    """Stands in for a model: random unit vectors of the right size, no load time."""

    model_id = "bench"

    def __init__(self, dim: int):
        self.dim = dim
        self.rng = np.random.default_rng(1)

    def encode_texts(self, texts):
        v = self.rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def build(uri: str, seconds: int, dim: int) -> float:
    from vsearch.extract import Cue
    from vsearch.index import Store, StoreConfig, VideoRecord, video_id

    rng = np.random.default_rng(0)
    began = time.perf_counter()
    with Store(StoreConfig(uri)) as store:
        store.create("bench", dim)
        for n, lo in enumerate(range(0, seconds, 600)):
            length = min(600, seconds - lo)
            path = f"/bench/video{n:05d}.mp4"
            frames = rng.normal(size=(length, dim)).astype(np.float32)
            frames /= np.linalg.norm(frames, axis=1, keepdims=True)
            cues = [Cue(float(t), t + 4.0, " ".join(rng.choice(WORDS, 6))) for t in range(0, length, 10)]
            cue_vecs = rng.normal(size=(len(cues), dim)).astype(np.float32)
            cue_vecs /= np.linalg.norm(cue_vecs, axis=1, keepdims=True)
            rec = VideoRecord(video_id(path), path, duration=float(length), fps=1.0, model="bench")
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
    config = StoreConfig(uri, fast_lite=fast_lite)
    warm, cold = [], []
    with Store(config) as store:
        store.check("bench", dim)
        for i in range(queries):
            query = " ".join(WORDS[i % 7 : i % 7 + 3])
            began = time.perf_counter()
            hits = gather_hits(store, query, encoder.encode_texts([query])[0], options)
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
    from checkpoints import tiny_clip
    from media import colour_video

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            uri = f"{tmp}/q{size}.db"
            built = build(uri, size, args.dim)
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
        find_s, help_s = cli_times(Path(tmp))
    print(f"cold_start_find={find_s:.2f}s (process start to first result, tiny model)")
    print(f"help={help_s:.2f}s")


if __name__ == "__main__":
    main()
