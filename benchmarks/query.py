"""Query latency of `find` over synthetic indexes, on Milvus Lite and on a Milvus server, the
recall of the server's vector index, through `vsearch serve`, cold start of `vsearch find` with
and without a server, finds typed at a terminal and searches on the page, `--help` time.

    python benchmarks/query.py [--sizes 10000,100000,1000000] [--dim 512] [--queries 50] [--no-server]
                               [--uri http://host:19530 [--token user:password] | --uri start] [--ef 400,800]

The index: stored seconds whose frame vectors are made like a film library's (benchmarks/vectors.py
`film_library`: 600 s videos of 2-30 s shots near a few hundred topics, near-duplicate frames
within a shot, returning shots, stills), one cue per 10 s with random words and a random vector.
`find` is timed on an open index (gather_hits and rank_segments: the frames, cue-vector and BM25
searches, the hits' video records, ranking) with random query vectors, so the numbers are search
and fusion cost, model load excluded. On Milvus Lite each size is queried twice: with vsearch's
numpy searches (fast_lite, the default) and with Milvus Lite's own, the baseline of
`speedup_vs_stock_lite`.

Recall: queries made like a library's (`vectors.queries`: perturbed stored frames, unseen
pictures of a topic, and text-like queries far from every frame) are searched with
`Store.search_frames(q, k)` for k = 10, 50, 200 (200 is find.candidates), answers compared with
the exact top k computed in numpy over every stored vector (an answer tied with the k-th best
score, to 1e-6, counts); "filtered" restricts each search, and the exact top k, to 5 random
videos. Milvus Lite searches exactly (FLAT), so its 1.000 checks the harness; a server searches
HNSW (index/schema.py) at vsearch's ef. Where a server's recall is under 0.95 (or for the
`--ef` values given), recall at other ef is measured through the client directly.

`--uri` measures a Milvus server too, on the same index (same vectors, cues, video ids), written in
large batches straight into its collections (prefix `bench_q<size>`, dropped after) and measured
once the server has built its index on every row and loaded it afresh: its build line gives
creating, writing, flushing, index-building and loading times. `--uri start` starts the `milvus`
wheel's 2.3.5 standalone in a temporary folder for the run (vsearch.testing.milvus_server; one a
machine, its etcd's port being fixed; 10-45 s to start); the token defaults to root:Milvus there,
and to none with another URI. The server is measured first, then Milvus Lite; each prints

    seconds=N backend=server(2.3.5) find p50=..ms p95=..ms recall@10=.. recall@50=.. recall@200=.. filtered ...
    seconds=N backend=lite find p50=..ms p95=..ms recall@10=1.000 ...

and the server its recall by query kind (frame, topic, text) and any ef sweep beneath.

`vsearch serve` (in this process, asked over HTTP, on the Milvus Lite index; `--no-server` skips
it and the terminal session, not the Milvus server of `--uri`) encodes each query with a randomly
initialised ViT-B/32-sized CLIP text tower, so its numbers include query encoding; the CLI's wall
time is measured with that server announced, and without it (the model loaded).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from vectors import WORDS, by_kind, ef_sweep, recall_run, recall_text


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


def _cues(rng, length: int, text_dim: int):
    """A video's cues, one per 10 s with random words, and their random unit vectors."""
    from vsearch.extract import Cue

    cues = [Cue(float(t), t + 4.0, " ".join(rng.choice(WORDS, 6))) for t in range(0, length, 10)]
    cue_vecs = rng.normal(size=(len(cues), text_dim)).astype(np.float32)
    return cues, cue_vecs / np.linalg.norm(cue_vecs, axis=1, keepdims=True)


def _record(files: Path, n: int, length: int, model: str):
    from vsearch.index import VideoRecord, video_id

    path = str(files / f"video{n:05d}.mp4")
    Path(path).touch()
    return VideoRecord(video_id(path), path, duration=float(length), fps=1.0, model=model)


def build(uri: str, seconds: int, dim: int, files: Path, model: str = "", text: tuple = ("image", 0, {}),
          lib=None, token: str = "", collection: str | None = None) -> float:
    """An index of `seconds` stored seconds; its videos are empty files in `files`, so `find` keeps them.

    Frame vectors are `lib`'s (vectors.film_library), made here if not given. `text` is the text
    model's (name, dim, meta entries) where cue vectors are not the image model's. Milvus Lite is
    written video by video with `replace_rows`, as ingest writes it (a flush, so a segment, per
    video); a server with `server_build`. Returns the seconds taken (on a server, to the index
    built and loaded).
    """
    from vectors import film_library

    from vsearch.index import Store, StoreConfig

    model = model or MODEL
    text_model, text_dim, meta = text
    text_dim = text_dim or dim
    lib = film_library(seconds, dim) if lib is None else lib
    config = StoreConfig(uri, token, **({"collection": collection} if collection else {}))
    if not config.is_lite:
        return sum(server_build(config, lib, files, model, (text_model, text_dim, meta)).values())
    rng = np.random.default_rng(0)
    began = time.perf_counter()
    files.mkdir(parents=True, exist_ok=True)
    with Store(config) as store:
        store.create(model, dim, text_model, text_dim, meta)
        for n, (lo, length) in enumerate(zip(lib.starts, lib.lengths)):
            rec = _record(files, n, int(length), model)
            cues, cue_vecs = _cues(rng, int(length), text_dim)
            store.replace_rows(rec, list(range(length)), [t + 0.5 for t in range(length)],
                               lib.vectors[lo : lo + length], cues, cue_vecs)
    return time.perf_counter() - began


SERVER_BATCH = 8192  # frame rows an insert: 8192 x (2 KB at 512-d) = 17 MB, under gRPC's 64 MB


def server_build(config, lib, files: Path, model: str, text: tuple) -> dict[str, float]:
    """The same index as `build` writes into Milvus Lite, on a server: frame rows inserted straight
    into the frames collection in batches of SERVER_BATCH rows across videos (replace_rows's
    insert per 512 rows and per video would take far longer), each video's cues with
    `insert_cues`, its record, "done", with `put_video`. Then a flush, a wait until describe_index
    says every row of frames and cues is in the HNSW index, and a release and load of both, so
    searches run on the indexes built (not on segments loaded before them). Seconds per step."""
    from dataclasses import replace

    from vsearch.index import Store

    text_model, text_dim, meta = text
    dim = lib.vectors.shape[1]
    rng = np.random.default_rng(0)  # cues as build's, draw for draw
    files.mkdir(parents=True, exist_ok=True)
    took = {}
    with Store(config) as store:
        drop_collections(store)
        began = time.perf_counter()
        store.create(model, dim, text_model, text_dim, meta)
        took["create"] = time.perf_counter() - began
        began = time.perf_counter()
        frames, pending = store.names["frames"], []
        for n, (lo, length) in enumerate(zip(lib.starts, lib.lengths)):
            rec = _record(files, n, int(length), model)
            cues, cue_vecs = _cues(rng, int(length), text_dim)
            store.insert_cues(rec.id, cues, cue_vecs)
            pending += [{"video_id": rec.id, "slot": s, "t": s + 0.5, "vec": lib.vectors[lo + s]}
                        for s in range(length)]
            while len(pending) >= SERVER_BATCH or (pending and n == len(lib.starts) - 1):
                store.call("write", store.client.insert, frames, pending[:SERVER_BATCH])
                pending = pending[SERVER_BATCH:]
            store.put_video(replace(rec, state="done", frames=int(length), cues=len(cues), indexed_at=int(time.time())))
        took["write"] = time.perf_counter() - began
        began = time.perf_counter()
        for kind in ("frames", "cues", "videos"):
            store.call("write", store.client.flush, store.names[kind])
        took["flush"] = time.perf_counter() - began
        began = time.perf_counter()
        for kind in ("frames", "cues"):
            wait_indexed(store, store.names[kind])
        took["index"] = time.perf_counter() - began
        began = time.perf_counter()
        for kind in ("frames", "cues"):
            store.call("write", store.client.release_collection, store.names[kind])
            store.call("open", store.client.load_collection, store.names[kind])
        took["load"] = time.perf_counter() - began
        print(f"  server collections {config.collection}_*: {loaded_segments(store)}", flush=True)
    return took


def wait_indexed(store, name: str, timeout: float = 6 * 3600) -> None:
    """Wait until the server's index on `name`'s vectors covers every row: Milvus 2.3 builds HNSW
    per sealed segment after a flush; describe_index gives total_rows, indexed_rows and
    pending_index_rows (a compaction's new segment needs its index too)."""
    began, total, told = time.monotonic(), store.count(name), 0.0
    while True:
        d = store.call("open", store.client.describe_index, name, "vec")
        if d.get("indexed_rows") == d.get("total_rows") == total and not d.get("pending_index_rows"):
            return
        waited = time.monotonic() - began
        if waited > timeout:
            raise TimeoutError(f"{name}: index not built after {timeout:.0f}s: {d}")
        if waited - told >= 300:  # a million rows take a while: say how far it got
            told = waited
            print(f"  ({name}: {d.get('indexed_rows')} of {total} rows indexed after {waited:.0f}s)",
                  file=sys.stderr, flush=True)
        time.sleep(2)


def loaded_segments(store) -> str:
    """What the server has loaded of frames: segments, rows and whether each has its index."""
    try:
        segs = store.client.list_loaded_segments(store.names["frames"])
    except Exception as exc:  # noqa: BLE001 - a diagnostic only
        return f"(loaded segments not listed: {exc})"
    indexed = sum(1 for s in segs if s.index_id or s.index_name)
    return (f"frames loaded as {len(segs)} segments, {sum(s.num_rows for s in segs)} rows, "
            f"{indexed} of them with an index")


def drop_collections(store) -> None:
    """Drop every collection of the store's prefix (a benchmark's own, `bench...`)."""
    assert store.config.collection.startswith("bench"), store.config.collection
    prefix = f"{store.config.collection}_"
    for name in store.call("open", store.client.list_collections):
        if name.startswith(prefix):
            store.call("write", store.client.drop_collection, name)


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return f"p50={statistics.median(samples) * 1000:.1f}ms p95={q[18] * 1000:.1f}ms"


def latency(config, dim: int, queries: int) -> tuple[list[float], list[float], list[float]]:
    """`find` on an open index (warm), with opening the index (cold), and a video's delete_rows,
    each in seconds, on the index at `config` (a StoreConfig)."""
    from vsearch.index import Store
    from vsearch.query import FindOptions, find, rank_segments
    from vsearch.query.search import gather_hits

    encoder, options = RandomEncoder(dim), FindOptions()
    encoder.model_id = MODEL
    warm, cold = [], []
    with Store(config) as store:
        store.check(MODEL, dim)
        for i in range(queries):
            query = " ".join(WORDS[i % 7 : i % 7 + 3])
            began = time.perf_counter()
            hits = gather_hits(store, store.folded(query), encoder.encode_texts([query])[0], options)
            rank_segments(hits, store.get_videos({h.video_id for h in hits}), options)
            warm.append(time.perf_counter() - began)
    for i in range(min(queries, 20)):
        began = time.perf_counter()
        with Store(config) as store:
            find(store, encoder, WORDS[i % 10], options)
        cold.append(time.perf_counter() - began)
    # Re-indexing a video deletes its rows by filter first (a video id that holds none here). Last:
    # on a server, reads after a delete are Strong for a while (Store.level).
    deletes = []
    with Store(config) as store:
        store.check(MODEL, dim)
        for i in range(5):
            began = time.perf_counter()
            store.delete_rows(i + 1)
            deletes.append(time.perf_counter() - began)
    return warm, cold, deletes


def server_at(uri: str | None, tmp: Path):
    """A context yielding the server's URI: `uri` as given, or for "start" the milvus wheel's
    2.3.5 standalone started in a folder of `tmp` (stopped on leaving); None without `uri`."""
    import contextlib

    if uri != "start":
        return contextlib.nullcontext(uri)
    from vsearch.testing.milvus_server import running

    return running(tmp / "milvus")


def server_version(config) -> str:
    import re

    from vsearch.index import Store

    with Store(config) as store:
        said = store.client.get_server_version()
    found = re.search(r"\d+\.\d+(\.\d+)?", said or "")
    return found[0] if found else said


def measure_server(config, lib, files: Path, qs, kinds, size: int, dim: int, queries: int, efs) -> None:
    """Build the index on a server, time find on it, measure its recall, print; drop it after."""
    from vsearch.index import Store

    version = server_version(config)
    try:
        took = server_build(config, lib, files, MODEL, ("image", dim, {}))
        print(f"  server {version} build: create={took['create']:.0f}s write={took['write']:.0f}s "
              f"flush={took['flush']:.0f}s index={took['index']:.0f}s load={took['load']:.0f}s "
              f"(total {sum(took.values()):.0f}s)")
        warm, cold, deletes = latency(config, dim, queries)
        r = recall_run(config, MODEL, lib, files, qs, kinds)
        print(f"seconds={size} backend=server({version}) find {percentiles(warm)} {recall_text(r)}")
        print(f"  find(incl. connecting): {percentiles(cold)}  delete_rows(filter) "
              f"p50={statistics.median(deletes) * 1000:.1f}ms; recall@10/50/200 by query kind: {by_kind(r)}")
        ef_sweep(config, MODEL, lib, files, qs, kinds, r, efs)
        sys.stdout.flush()
    finally:
        with Store(config) as store:
            drop_collections(store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--no-server", action="store_true", help="skip the vsearch serve measurements")
    parser.add_argument("--uri", help="a Milvus server to measure beside Milvus Lite, or 'start' for the "
                                      "milvus wheel's 2.3.5 in a temporary folder")
    parser.add_argument("--token", help="the server's token (default: root:Milvus with --uri start, else none)")
    parser.add_argument("--ef", help="server recall at these ef too (comma-separated), beside vsearch's own")
    args = parser.parse_args()
    global MODEL
    from serving import cli_times, served, terminal_session
    from vectors import film_library, queries

    from vsearch.index import StoreConfig
    from vsearch.testing.milvus_server import TOKEN

    token = args.token if args.token is not None else (TOKEN if args.uri == "start" else "")
    efs = [int(e) for e in args.ef.split(",")] if args.ef else None
    with tempfile.TemporaryDirectory() as tmp, server_at(args.uri, Path(tmp)) as server_uri:
        if not args.no_server:
            from ingest import vit_b32

            MODEL = str(vit_b32(Path(tmp) / "vit-b32"))
            args.dim = 512
        for size in (int(s) for s in args.sizes.split(",")):
            began = time.perf_counter()
            lib = film_library(size, args.dim)
            qs, kinds = queries(lib, args.queries)
            print(f"seconds={size} dim={args.dim} vectors made in {time.perf_counter() - began:.0f}s "
                  f"({len(lib.starts)} videos)", flush=True)
            uri, files = f"{tmp}/q{size}.db", Path(tmp) / f"files{size}"
            if server_uri:  # first: at a million seconds its build is the longer wait, its numbers the newer
                measure_server(StoreConfig(server_uri, token, collection=f"bench_q{size}"), lib, files, qs, kinds,
                               size, args.dim, args.queries, efs)
            built = build(uri, size, args.dim, files, lib=lib)
            print(f"seconds={size} dim={args.dim} build={built:.0f}s (Milvus Lite)", flush=True)
            shown, median = {}, {}
            for fast_lite in (True, False):
                warm, cold, deletes = latency(StoreConfig(uri, fast_lite=fast_lite), args.dim, args.queries)
                shown[fast_lite], median[fast_lite] = percentiles(warm), statistics.median(warm)
                label = "vsearch (fast_lite)" if fast_lite else "Milvus Lite's own search"
                print(f"  {label}: find(open index): {percentiles(warm)}  "
                      f"find(incl. opening Milvus Lite): {percentiles(cold)}  "
                      f"delete_rows(filter) p50={statistics.median(deletes) * 1000:.1f}ms", flush=True)
            print(f"  speedup_vs_stock_lite={median[False] / median[True]:.2f}")
            r = recall_run(StoreConfig(uri), MODEL, lib, files, qs, kinds)
            print(f"seconds={size} backend=lite find {shown[True]} {recall_text(r)}", flush=True)
            del lib
            if not args.no_server:
                http, encoding, with_server, without = served(Path(tmp), uri, args.queries, MODEL)
                print(f"  through vsearch serve (HTTP, incl. encoding the query with a ViT-B/32-sized text tower): "
                      f"{percentiles(http)}; encoding alone {percentiles(encoding)}")
                print(f"  vsearch find, wall: with the server p50={statistics.median(with_server):.2f}s  "
                      f"without (model loaded) p50={statistics.median(without):.2f}s")
                first, later, page = terminal_session(Path(tmp), uri, min(args.queries, 20), MODEL)
                print(f"  a terminal session (find.resident = auto): first find {first:.2f}s (starts the server), "
                      f"later finds p50={statistics.median(later):.2f}s "
                      f"p95={statistics.quantiles(later, n=20)[18]:.2f}s"
                      + (f"; the page, Enter to results drawn: {percentiles(page)}" if page else ""))
        find_s, help_s = cli_times(Path(tmp))
    print(f"cold_start_find={find_s:.2f}s (process start to first result, tiny model)")
    print(f"help={help_s:.2f}s")


if __name__ == "__main__":
    main()
