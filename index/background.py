"""Each vector signal's background: a fixed sample of its stored rows that a query is measured against.

A similarity means little on its own, and a model's probe levels (index/calibration.py) come from
easy pairs: a query that nothing answers still has a nearest row, and among thousands of rows
some clear any fixed level. So each query is also scored against a sample of the same signal's
rows in this index, in the same pass, and a hit counts only where it stands out from them: above
the similarity the best of the collection's unrelated rows reaches by chance (`chance`). The
sample is a list of primary keys per collection in the meta row (`background`), chosen evenly
over the keys in insertion order (so over every video) and chosen again when the collection has
grown or shrunk by a quarter; a process reads its vectors once, by key (in a Milvus Lite folder,
from a copy of them beside the meta row's). An index written before keeps none: its keys are
chosen where it is read, until a write keeps them.
"""

import base64
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE = 1024  # rows per signal: 11 kB of keys in the meta row, 3 MB of 768-d vectors read once
MIN_ROWS = 50  # fewer rows: too few to tell a query's background, the probe levels alone
GROWTH = 1.25  # the sample is chosen again when its collection grew or shrank by this factor
KINDS = ("frames", "cues", "sounds")

# (index location, collection, keys) -> the sample's vectors, read once per process.
_READ: dict[tuple, np.ndarray] = {}


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


def _stale(entry, rows: int) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("rows"), int) or not isinstance(entry.get("keys"), str):
        return True
    return not entry["rows"] / GROWTH <= rows <= entry["rows"] * GROWTH


def _kinds(store) -> tuple[str, ...]:
    return KINDS if store.audio else KINDS[:2]


def refresh(store) -> None:
    """Choose each signal's sample again where its collection grew or shrank by a quarter since
    (a writer, after a video's rows are written); the meta row keeps the keys."""
    meta = store.peek()
    if meta is None:
        return
    kept = dict(meta["background"]) if isinstance(meta.get("background"), dict) else {}
    changed = []
    for kind in _kinds(store):
        rows = store.count(store.names[kind])
        if _stale(kept.get(kind), rows):
            kept[kind] = _choose(store, kind, rows)
            changed.append(kind)
    if changed:
        store.put_meta({**meta, "background": kept})
    for kind in changed:
        _keep_copy(store, kind, kept[kind])


def _copy_path(store, kind: str) -> Path:
    return Path(store.config.uri) / f"vsearch.{store.config.collection}.{kind}.sample.npz"


def _keep_copy(store, kind: str, entry: dict) -> None:
    """In a Milvus Lite folder, the sample's vectors beside the meta row's copy: Milvus Lite turns
    1,024 stored vectors into Python lists in about 200 ms, a file reads in a few. None where the
    folder cannot take it (read from the index instead)."""
    if not store.config.is_lite:
        return
    path = _copy_path(store, kind)
    part = path.with_name(f".{path.name}.{os.getpid()}.npz")
    try:
        vectors = _queried(store, kind, entry)
        with open(part, "wb") as fh:
            np.savez(fh, keys=np.asarray(_unpacked(entry["keys"]), "<i8"),
                     vectors=vectors if vectors is not None else np.zeros((0, 0), np.float32))
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)


def _copied(store, kind: str, entry: dict) -> np.ndarray | None:
    """The vectors of a Lite folder's copy, if it holds the entry's keys."""
    if not store.config.is_lite:
        return None
    try:
        with np.load(_copy_path(store, kind)) as kept:
            if kept["keys"].tolist() == _unpacked(entry["keys"]) and len(kept["vectors"]) >= MIN_ROWS:
                return kept["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        pass  # none, damaged or another's: read from the index
    return None


def _queried(store, kind: str, entry: dict) -> np.ndarray | None:
    """The entry's vectors read from the index by key; None for fewer than MIN_ROWS."""
    found = store.query(store.names[kind], "", ["vec"], ids=_unpacked(entry["keys"])) if entry["keys"] else []
    return np.asarray([r["vec"] for r in found], np.float32) if len(found) >= MIN_ROWS else None


def sample(store, kind: str, meta: dict | None) -> Sample:
    """The sample of collection `kind` (frames, cues, sounds), its vectors as stored."""
    kept = (meta or {}).get("background")
    entry = kept.get(kind) if isinstance(kept, dict) else None
    if _stale(entry, entry.get("rows", -1) if isinstance(entry, dict) else -1):  # none kept: choose here
        entry = _choose(store, kind, store.count(store.names[kind]))
    vectors = _read(store, kind, entry)
    if vectors is None and entry["rows"] >= MIN_ROWS:  # rows removed since the keys were kept
        entry = _choose(store, kind, store.count(store.names[kind]))
        vectors = _read(store, kind, entry)
    return Sample(vectors, entry["rows"])


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
