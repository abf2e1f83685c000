"""Each vector signal's background: a fixed sample of its stored rows that a query is measured against.

A similarity means little on its own, and a model's probe levels (index/calibration.py) come from
easy pairs: a query that nothing answers still has a nearest row, and among thousands of rows
some clear any fixed level. So each query is also scored against a sample of the same signal's
rows in this index, in the same pass, and a hit counts only where it stands out from them: above
the similarity the best of the collection's unrelated rows reaches by chance (`chance`). The
sample is a list of primary keys per collection, chosen evenly over the keys in insertion order
(so over every video), kept in a row of the meta collection of its own (never the meta row, which
a writer beside this one may be changing), and chosen again when the collection has grown or
shrunk by a quarter or a video's rows replaced some of its keys. A process reads its vectors once,
by key (in a Milvus Lite folder, from a copy beside the meta row's copy). An index written before
keeps none: its keys are chosen where it is read, once a process, until a write keeps them.
"""

import base64
import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE = 1024  # rows per signal: 11 kB of keys (a JSON field holds 64 kB), 3 MB of 768-d vectors read once
MIN_ROWS = 50  # fewer rows: too few to tell a query's background, the probe levels alone
GROWTH = 1.25  # the sample is chosen again when its collection grew or shrank by this factor
KINDS = ("frames", "cues", "sounds", "pictures")

ROW = 2  # the meta collection's row of the samples' keys (0: the meta row; 1: a migration's claim, index/schema.py)
KEPT = 0.9  # a sample with fewer of its keys still stored is chosen again

# (index location, collection, keys) -> the sample's vectors, read once per process; and
# (index location, collection, rows) -> keys chosen where none were kept.
_READ: dict[tuple, np.ndarray] = {}
_CHOSEN: dict[tuple, dict] = {}
# (index location, meta collection) -> (when read, the entries): a server answering query after
# query reads them at most this often, so sees a sample chosen anew this long after its write.
_KEPT: dict[tuple, tuple[float, dict]] = {}
KEPT_SECONDS = 10.0


@dataclass(frozen=True)
class Sample:
    """A signal's sample: its vectors (None for fewer than MIN_ROWS rows), and how many rows the
    collection held when it was chosen."""

    vectors: np.ndarray | None
    rows: int


def chance(sims: np.ndarray, rows: int, strength: float = 1.0) -> float:
    """The similarity the best of `rows` unrelated rows reaches by chance for one query, from its
    similarities `sims` to the sample: the median plus sqrt(2 ln rows) spreads (the expected
    maximum of that many normal draws), times `strength`. The spread is read below the median,
    where the rows a query matches (a lecture's ten slides of one topic) do not sit."""
    low, mid = np.percentile(sims, [15.87, 50.0])
    return float(mid + strength * (mid - low) * math.sqrt(2.0 * math.log(max(rows, 2))))


def chosen(keys: list[int], n: int = SAMPLE) -> list[int]:
    """`n` keys spread evenly over `keys` in order (all of them when there are fewer)."""
    keys = sorted(keys)
    if len(keys) <= n:
        return keys
    return [keys[round(i * (len(keys) - 1) / (n - 1))] for i in range(n)]


def _packed(keys: list[int]) -> str:
    return base64.b64encode(np.asarray(keys, "<i8").tobytes()).decode("ascii")


def _unpacked(text) -> list[int]:
    try:
        return np.frombuffer(base64.b64decode(text, validate=True), "<i8").tolist()
    except (TypeError, ValueError):
        return []  # a damaged entry: chosen again


def _choose(store, kind: str, rows: int) -> dict:
    keys = [int(r["id"]) for r in store.rows(store.names[kind], "", ["id"])] if rows else []
    return {"rows": rows, "keys": _packed(chosen(keys))}


def _valid(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("rows"), int) and isinstance(entry.get("keys"), str)


def kept(store, fresh: bool = False) -> dict:
    """Each collection's sample entry as the index keeps it ({} where none is kept), read at most
    every KEPT_SECONDS by a process that searches (a server answers many queries), or now (`fresh`)."""
    key, now = (store.config.uri, store.names["meta"]), time.monotonic()
    if fresh or key not in _KEPT or now - _KEPT[key][0] > KEPT_SECONDS:
        found = store.query(store.names["meta"], "", ["info"], ids=[ROW])
        entries = found[0]["info"].get("background") if found and isinstance(found[0]["info"], dict) else None
        _KEPT[key] = (now, entries if isinstance(entries, dict) else {})
    return _KEPT[key][1]


def refresh(store, replaced: bool = False) -> None:
    """Choose each signal's sample again where its collection grew or shrank by a quarter, or
    (`replaced`: a video's old rows were deleted) where fewer than 90% of its keys are still
    stored; a writer calls this after a video's rows are written or removed. A failure leaves
    the old sample, chosen again where it is read and by the next write."""
    from .milvus_lite import StoreError

    try:
        entries, changed = dict(kept(store, fresh=True)), []
        for kind in store.row_kinds():
            rows = store.count(store.names[kind])
            if _due(store, kind, entries.get(kind), rows, replaced):
                entries[kind] = _choose(store, kind, rows)
                changed.append(kind)
        if changed:
            store.call("write", store.client.upsert, store.names["meta"],
                       [{"id": ROW, "info": {"background": entries}, "pad": [1.0, 0.0]}])
            _KEPT.pop((store.config.uri, store.names["meta"]), None)
        for kind in changed:
            _keep_copy(store, kind, entries[kind])
    except StoreError:
        pass


def _due(store, kind: str, entry, rows: int, replaced: bool) -> bool:
    if not _valid(entry) or not entry["rows"] / GROWTH <= rows <= entry["rows"] * GROWTH:
        return True
    if not replaced or entry["rows"] < MIN_ROWS:
        return False
    keys = _unpacked(entry["keys"])
    return len(store.query(store.names[kind], "", ["id"], ids=keys)) < KEPT * len(keys)


def _copy_path(store, kind: str) -> Path:
    return Path(store.config.uri) / f"vsearch.{store.config.collection}.{kind}.sample.npz"


def _keep_copy(store, kind: str, entry: dict) -> None:
    """In a Milvus Lite folder, the sample's vectors beside the meta row's copy: Milvus Lite turns
    1,024 stored vectors into Python lists in about 200 ms, a file reads in a few. None where the
    folder cannot take it (read from the index instead)."""
    from vsearch.extract.errors import VsearchError
    from vsearch.extract.outputs import written

    if not store.config.is_lite:
        return
    path = _copy_path(store, kind)
    try:
        vectors = _queried(store, kind, entry)
        with written(path) as part:
            np.savez(part, keys=np.asarray(_unpacked(entry["keys"]), "<i8"),
                     vectors=vectors if vectors is not None else np.zeros((0, 0), np.float32))
    except VsearchError:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)  # an old copy holds other keys: none is clearer


def _copied(store, kind: str, entry: dict) -> np.ndarray | None:
    """The vectors of a Lite folder's copy, if it holds the entry's keys."""
    if not store.config.is_lite:
        return None
    try:
        with np.load(_copy_path(store, kind)) as copy:
            if copy["keys"].tolist() == _unpacked(entry["keys"]) and len(copy["vectors"]) >= MIN_ROWS:
                return copy["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        pass  # none, damaged or another's: read from the index
    return None


def _queried(store, kind: str, entry: dict) -> np.ndarray | None:
    """The entry's vectors read from the index by key; None for fewer than MIN_ROWS."""
    found = store.query(store.names[kind], "", ["vec"], ids=_unpacked(entry["keys"])) if entry["keys"] else []
    return np.asarray([r["vec"] for r in found], np.float32) if len(found) >= MIN_ROWS else None


def sample(store, kind: str, entries: dict) -> Sample:
    """The sample of collection `kind` (frames, cues, sounds, pictures), its vectors as stored;
    `entries` as `kept` read them."""
    entry = entries.get(kind)
    vectors = _read(store, kind, entry) if _valid(entry) else None
    if vectors is None and not (_valid(entry) and entry["rows"] < MIN_ROWS):
        entry = _chosen_here(store, kind)  # none kept, or rows removed since the keys were kept
        vectors = _read(store, kind, entry)
    return Sample(vectors, entry["rows"])


def _chosen_here(store, kind: str) -> dict:
    """Keys chosen in this process for the collection at its present size, once per size."""
    key = (store.config.uri, store.names[kind], store.count(store.names[kind]))
    if key not in _CHOSEN:
        if len(_CHOSEN) >= 2 * len(KINDS):
            _CHOSEN.clear()
        _CHOSEN[key] = _choose(store, kind, key[2])
    return _CHOSEN[key]


def _read(store, kind: str, entry: dict) -> np.ndarray | None:
    """The vectors of an entry's keys, read once per process; None for fewer than MIN_ROWS."""
    if entry["rows"] < MIN_ROWS:
        return None
    key = (store.config.uri, store.names[kind], entry["keys"])
    if key not in _READ:
        vectors = _copied(store, kind, entry)
        vectors = _queried(store, kind, entry) if vectors is None else vectors
        if vectors is None:
            return None
        while len(_READ) >= 2 * len(KINDS):  # a server searches one index: keep its samples, not old ones
            del _READ[next(iter(_READ))]
        _READ[key] = vectors
    return _READ[key]
