"""Fuse frame, cue-vector, BM25, sound and picture hits into per-second scores (pure functions)."""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

from vsearch.configs import default
from vsearch.index import Hit

from .types import SlotScore

# "picture": frames like a picture given with a text query (`find "a red car" --image car.png`).
SIGNALS = ("frames", "cues", "bm25", "audio", "picture")


def hit_slots(hit: Hit, fps: float) -> range:
    """Sampled seconds a hit covers: its own slot for a frame, every overlapped slot for a cue or a hop of sound."""
    if hit.slot is not None:
        return range(hit.slot, hit.slot + 1)
    first = math.floor(hit.start * fps + 1e-9)
    last = max(first, math.ceil(hit.end * fps - 1e-9) - 1)
    return range(first, last + 1)


def contributions(hits: list[Hit], method: str, rrf_k: float, min_spread: float = default("find.min_spread")
                  ) -> list[float]:
    """Each hit's share in [0, 1] within its signal.

    `rrf`: reciprocal rank, equal scores sharing the better rank. `score`: a BM25 hit's coverage
    of the query (the IDF of the query words it holds over the IDF of all of them: what the best
    attainable match would score), so a cue sharing only "a" or "的" adds nothing however it ranks;
    vector scores min-max scaled over a range of at least `min_spread`, so a signal whose hits
    barely differ (it found nothing that stands out) contributes next to nothing instead of a
    full 0-1 spread. Hits that carry a calibrated `share` (cue vectors of a text model whose
    match and unrelated levels were measured) contribute that.
    """
    scores = [h.score for h in hits]
    if method == "rrf":
        ordered = sorted(scores, reverse=True)
        ranks = [ordered.index(s) for s in scores]
        return [(rrf_k + 1) / (rrf_k + r + 1) for r in ranks]
    if method != "score":
        raise ValueError(f"unknown fusion method {method!r}: use rrf or score")
    if hits and all(h.share is not None for h in hits):
        return [h.share for h in hits]  # calibrated against the model's own levels
    if hits and hits[0].signal == "bm25":
        # Not scaled to the best cue found: a cue holding a third of the query is a third of a
        # match even when no cue holds more (the best of poor matches is still a poor match).
        return [h.coverage for h in hits]
    lo, hi = min(scores, default=0.0), max(scores, default=0.0)
    spread = max(hi - lo, min_spread, 1e-12)
    return [(s - lo) / spread for s in scores]


def fuse(
    hits: Iterable[Hit], weights: Mapping[str, float], fps: Mapping[int, float],
    method: str = default("find.fusion"), rrf_k: float = default("find.rrf_k"),
    min_spread: float = default("find.min_spread"),
) -> dict[int, dict[int, SlotScore]]:
    """Per video, per slot: the weighted sum over signals of each signal's best hit there."""
    by_signal: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        if weights.get(hit.signal, 0) > 0 and hit.video_id in fps:
            by_signal[hit.signal].append(hit)
    best: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    for signal, group in by_signal.items():
        for hit, share in zip(group, contributions(group, method, rrf_k, min_spread)):
            value = weights[signal] * share
            if value <= 0:
                continue
            for slot in hit_slots(hit, fps[hit.video_id]):
                parts = best[(hit.video_id, slot)]
                parts[signal] = max(parts.get(signal, 0.0), value)
    fused: dict[int, dict[int, SlotScore]] = defaultdict(dict)
    for (vid, slot), parts in best.items():
        fused[vid][slot] = SlotScore(sum(parts.values()), parts)
    return dict(fused)
