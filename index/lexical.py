"""The lexical signal on every backend: cues holding a query's words, found by their integer word
ids (index/tokens.py) and scored by BM25 here, not by Milvus (whose BM25 needs Milvus 2.5).

A query's candidates are every cue holding one of its words, so each word's document frequency is
counted exactly among them. Where they are more than one query window holds, the words are
counted one by one and the rarest read whole while they fit; the commonest word's cues beyond the
window are not candidates (their weight is the least of the query's anyway). Ties go to the
earlier video id and time, the same order on every backend.
"""

import math
from collections.abc import Sequence

import numpy as np

# BM25's term-frequency saturation and length normalisation, Lucene's and Milvus's defaults.
K1, B = 1.2, 0.75
# Rows one query returns at most (Milvus's offset + limit window is 16384).
WINDOW = 16384
# Words of one query looked up at most: a query is at most 1000 characters (pipeline/request.py),
# so only a caller past that limit is cut, at its first words.
MAX_QUERY_WORDS = 1000


def bm25(words: np.ndarray, lengths: np.ndarray, query: Sequence[int], total: int,
         frequencies: dict[int, int] | None = None) -> np.ndarray:
    """BM25 of each doc for the query's word ids; the docs' word ids (repeats counted) end to end
    in `words`, each doc's count of them in `lengths`.

    A word's document frequency is `frequencies[word]` where given, else counted among the docs;
    `total` is the number of docs in the collection; the average length is the candidates'.
    """
    scores = np.zeros(len(lengths), dtype=np.float64)
    if not len(lengths):
        return scores
    n = max(total, len(lengths), 1)
    norm = K1 * (1.0 - B + B * lengths / max(float(lengths.mean()), 1.0))
    owner = np.repeat(np.arange(len(lengths)), lengths)
    for word in dict.fromkeys(query):
        tf = np.bincount(owner[words == word], minlength=len(lengths)).astype(np.float64)
        df = frequencies[word] if frequencies and word in frequencies else int((tf > 0).sum())
        if df == 0:
            continue
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        scores += idf * tf * (K1 + 1.0) / (tf + norm)
    return scores


def flat(docs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Docs' word ids end to end, and each doc's count of them: what `bm25` takes."""
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    return np.fromiter((w for d in docs for w in d), dtype=np.int64, count=int(lengths.sum())), lengths


def ranked(scores: np.ndarray, video_ids, starts, ends, limit: int) -> np.ndarray:
    """Indexes of the `limit` best scores, ties to the earlier video id, start and end (the same
    order on every backend); none for a score of 0."""
    order = np.lexsort((np.asarray(ends), np.asarray(starts), np.asarray(video_ids), -scores))
    return order[scores[order] > 0][:limit]


def candidates(store, name: str, words: list[int], where: str,
               window: int = WINDOW) -> tuple[list[dict], dict[int, int] | None]:
    """The cue rows of collection `name` holding any of `words` (id, video_id, start, end, terms),
    within the filter `where` ("" for all), at most `window` a query, and each word's document
    frequency where not all could be read (None: counted among the rows)."""
    fields = ["video_id", "start", "end", "terms"]
    scope = f" and {where}" if where else ""
    rows = store.query(name, f"array_contains_any(terms, {words}){scope}", fields, window)
    if len(rows) < window:
        return rows, None
    counts = {w: store.count(name, f"array_contains_any(terms, [{w}]){scope}") for w in words}
    rare, room = [], window
    for word in sorted(words, key=lambda w: counts[w]):
        if counts[word] > room:
            break
        rare.append(word)
        room -= counts[word]
    if rare:
        seen = {r["id"] for r in rows}
        more = store.query(name, f"array_contains_any(terms, {rare}){scope}", fields, window)
        rows += [r for r in more if r["id"] not in seen]
    return rows, counts
