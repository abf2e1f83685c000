"""Synthetic frame vectors shaped like a film library's, query vectors against them, and recall of
a search's answers against the exact top-k (benchmarks/query.py)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The words of the synthetic cues (one cue per 10 s, six of them at random) and of the queries.
WORDS = ["vector", "database", "index", "query", "frame", "subtitle", "lecture", "model", "search", "segment"]

VIDEO_SECONDS = 600
# The shared direction every image vector leans on (CLIP-like embeddings are far from isotropic:
# two unrelated pictures score about 0.3), and how much of it a vector has.
SHARED = 0.7


@dataclass
class Library:
    """Stored seconds as rows: `vectors` (rows x dim, float32, unit), video n's rows are
    `starts[n] : starts[n] + lengths[n]` (slot = row - start). `topics` and `shared` are the
    generator's directions, for making queries."""

    vectors: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    topics: np.ndarray
    shared: np.ndarray
    gap: np.ndarray

    def video_rows(self, n: int) -> np.ndarray:
        return np.arange(self.starts[n], self.starts[n] + self.lengths[n])


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _noise(rng, shape, scale: float) -> np.ndarray:
    """Gaussian noise of norm about `scale` per row (each coordinate N(0, scale^2 / dim))."""
    return rng.normal(scale=scale / np.sqrt(shape[-1]), size=shape).astype(np.float32)


def film_library(seconds: int, dim: int = 512, topics: int = 300, seed: int = 0) -> Library:
    """Frame vectors (one a stored second, 1 fps) of `seconds // 600` videos of 600 s (the last
    one shorter), made like a film's:

    - `topics` topic centres, random directions in `dim`-d: the things a library shows (a
      kitchen, a lecture slide, a street at night). Each video draws 3-8 of them.
    - A video is a run of shots of 2-30 s (uniform). A shot is, with probability 0.15, the
      return of one of the video's earlier shots (a cutaway returning: the same centre, new frame
      noise); otherwise a new centre near one of the video's topics: topic + noise of norm 0.8
      (two shots of one topic score about 0.6 before the shared direction).
    - A frame is its shot's centre + noise of norm 0.25 (frames of a shot score about 0.94:
      near-duplicates, as consecutive seconds of a film are). One shot in ten is static: every
      frame is the same vector (a still or a slide: exact duplicates, ties in any search).
    - Every vector finally gets a shared direction (weight 0.7 against a unit vector), so two
      unrelated frames score about 0.33 and a shot's frames about 0.96, roughly as image
      embeddings of a CLIP-like model do; all rows are unit-normalised, float32.

    Deterministic in `seed`. Memory: seconds x dim x 4 bytes (2 GB at 1,000,000 x 512).
    """
    rng = np.random.default_rng(seed)
    shared = _unit(rng.normal(size=dim))
    gap = _unit(rng.normal(size=dim))  # the text side's own offset (`queries`)
    centres = _unit(rng.normal(size=(topics, dim)))
    vectors = np.empty((seconds, dim), dtype=np.float32)
    starts, lengths = [], []
    for lo in range(0, seconds, VIDEO_SECONDS):
        length = min(VIDEO_SECONDS, seconds - lo)
        mine = rng.choice(topics, size=int(rng.integers(3, 9)), replace=False)
        shots: list[np.ndarray] = []
        t = 0
        while t < length:
            n = min(int(rng.integers(2, 31)), length - t)
            if shots and rng.random() < 0.15:
                centre = shots[int(rng.integers(len(shots)))]
            else:
                centre = _unit(centres[rng.choice(mine)] + _noise(rng, (dim,), 0.8))
                shots.append(centre)
            if rng.random() < 0.1:
                frames = np.repeat(_unit(centre + _noise(rng, (dim,), 0.25))[None], n, axis=0)
            else:
                frames = _unit(centre[None] + _noise(rng, (n, dim), 0.25))
            vectors[lo + t : lo + t + n] = _unit(SHARED * shared[None] + frames)
            t += n
        starts.append(lo)
        lengths.append(length)
    return Library(vectors, np.array(starts), np.array(lengths), centres, shared, gap)


QUERY_KINDS = ("frame", "topic", "text")


def queries(lib: Library, count: int, seed: int = 1) -> tuple[np.ndarray, list[str]]:
    """`count` unit query vectors, in turn of three kinds:

    - frame: a stored frame + noise of norm 0.3 (a picture like one in the library; its own
      shot's frames score about 0.95);
    - topic: a topic centre + noise of norm 0.5, with the shared direction (a picture of that
      topic never stored);
    - text: a topic centre at weight 0.35 with a text-side offset, noise and a little of the
      shared direction (0.85, 0.4, 0.15), so the best frames score about 0.3 and unrelated ones
      about 0.1, as a CLIP-like model's text
      queries against its image vectors: far from every stored vector, the hard case for a graph.
    """
    rng = np.random.default_rng(seed)
    dim = lib.vectors.shape[1]
    out, kinds = [], []
    for i in range(count):
        kind = QUERY_KINDS[i % len(QUERY_KINDS)]
        if kind == "frame":
            q = lib.vectors[int(rng.integers(len(lib.vectors)))] + _noise(rng, (dim,), 0.3)
        elif kind == "topic":
            centre = _unit(lib.topics[int(rng.integers(len(lib.topics)))] + _noise(rng, (dim,), 0.5))
            q = SHARED * lib.shared + centre
        else:
            q = (0.35 * lib.topics[int(rng.integers(len(lib.topics)))] + 0.85 * lib.gap + 0.15 * lib.shared
                 + _noise(rng, (dim,), 0.4))
        out.append(_unit(q))
        kinds.append(kind)
    return np.stack(out), kinds


def exact_scores(lib: Library, q: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Inner products of `q` with every stored vector (or those of `rows`), descending."""
    vecs = lib.vectors if rows is None else lib.vectors[rows]
    return np.sort(vecs @ q)[::-1]


def recall(lib: Library, q: np.ndarray, found: list[tuple[int, int]], k: int, ranked: np.ndarray,
           row_of: dict[int, int]) -> float:
    """The share of the exact top `k` that `found` (its (video number, slot) answers) holds: an
    answer counts if its exact score reaches the k-th best score less 1e-6, so among tied
    duplicates any one is right. `ranked` is exact_scores' answer over the searched rows; `row_of`
    maps a video number to its first row. Fewer than k answers count as misses."""
    kth = ranked[min(k, len(ranked)) - 1]
    rows = np.array([row_of[v] + s for v, s in found[:k]], dtype=np.int64)
    right = int(np.sum(lib.vectors[rows] @ q >= kth - 1e-6)) if len(rows) else 0
    return right / min(k, len(ranked))


# --- recall of a Store's frame search against the exact top k ---------------------------------

KS = (10, 50, 200)  # 200: find.candidates
FILTER_VIDEOS = 5


def recall_run(config, model: str, lib, files: Path, qs: np.ndarray, kinds: list[str], ef: int | None = None,
               ks=KS, seed: int = 7) -> dict:
    """Recall of `store.search_frames` (or, with `ef`, of a server's search at that ef through the
    client) against the exact top k, per k, unfiltered and filtered to FILTER_VIDEOS random
    videos: {("all"|"filtered"|kind, k): mean recall}."""

    from vsearch.index import Store, video_id
    from vsearch.index.reads import ids_filter

    ids = [video_id(str(files / f"video{n:05d}.mp4")) for n in range(len(lib.starts))]
    row_of = {v: int(lib.starts[n]) for n, v in enumerate(ids)}
    rng = np.random.default_rng(seed)
    found: dict[tuple[str, int], list[float]] = {}
    with Store(config) as store:
        store.check(model, lib.vectors.shape[1])

        def search(q, k, videos):
            if ef is None:
                return [(h.video_id, h.slot) for h in store.search_frames(q, k, videos)]
            res = store.call("search", store.client.search, store.names["frames"], data=[q.tolist()], anns_field="vec",
                             limit=k, filter=ids_filter(videos), output_fields=["video_id", "slot"],
                             search_params={"metric_type": "IP", "params": {"ef": ef}},
                             **store.level(store.names["frames"]))
            return [(int(h["entity"]["video_id"]), int(h["entity"]["slot"])) for h in res[0]]

        for q, kind in zip(qs, kinds):
            ranked = exact_scores(lib, q)
            chosen = rng.choice(len(ids), size=min(FILTER_VIDEOS, len(ids)), replace=False)
            rows = np.concatenate([lib.video_rows(int(n)) for n in chosen])
            narrow = exact_scores(lib, q, rows)
            for k in ks:
                if ef is not None and ef < k:
                    continue
                r = recall(lib, q, search(q, k, None), k, ranked, row_of)
                found.setdefault(("all", k), []).append(r)
                found.setdefault((kind, k), []).append(r)
                found.setdefault(("filtered", k), []).append(
                    recall(lib, q, search(q, k, [ids[int(n)] for n in chosen]), k, narrow, row_of))
    return {key: float(np.mean(v)) for key, v in found.items()}


def recall_text(r: dict, ks=KS) -> str:
    return (" ".join(f"recall@{k}={r[('all', k)]:.3f}" for k in ks if ("all", k) in r) + " "
            + " ".join(f"filtered recall@{k}={r[('filtered', k)]:.3f}" for k in ks if ("filtered", k) in r))


def by_kind(r: dict, ks=KS) -> str:

    return "  ".join(f"{kind} " + "/".join(f"{r[(kind, k)]:.3f}" for k in ks if (kind, k) in r)
                     for kind in QUERY_KINDS if any((kind, k) in r for k in ks))


def ef_sweep(config, model: str, lib, files, qs, kinds, short: dict, efs: list[int] | None) -> None:
    """Recall at other ef on a server: at the `efs` given, or, for the k whose recall (unfiltered
    or filtered) at vsearch's own ef is under 0.95 (`short`, recall_run's answer), at ef doubling
    from the next power of two above vsearch's until 0.99 (or Milvus's largest, 32768)."""
    from types import SimpleNamespace

    from vsearch.index.schema import search_breadth

    if efs:
        for ef in efs:
            r = recall_run(config, model, lib, files, qs, kinds, ef=ef)
            print(f"    ef={ef}: {recall_text(r)}; by kind: {by_kind(r)}")
        return
    default = {k: search_breadth(SimpleNamespace(config=config), k)["params"]["ef"] for k in KS}
    todo = [k for k in KS if min(short[("all", k)], short[("filtered", k)]) < 0.95]
    ef = 64
    while todo:
        ef *= 2
        here = tuple(k for k in todo if ef > default[k])
        if ef > 32768:
            print(f"    recall@{todo} still under 0.99 at ef 32768, Milvus's largest")
            return
        if not here:
            continue
        r = recall_run(config, model, lib, files, qs, kinds, ef=ef, ks=here)
        print(f"    ef={ef}: {recall_text(r, here)}; by kind: {by_kind(r, here)}")
        todo = [k for k in todo if k not in here or min(r[("all", k)], r[("filtered", k)]) < 0.99]
