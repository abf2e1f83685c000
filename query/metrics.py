"""Retrieval quality of ranked segments against labelled windows (pure functions)."""

from collections.abc import Sequence

Window = tuple[float, float]
# QVHighlights' mAP averages over these IoU thresholds.
MAP_IOUS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
RECALL_IOUS = (0.3, 0.5, 0.7)
KS = (1, 5)


def iou(a: Window, b: Window) -> float:
    """Temporal intersection over union of two spans."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def seek_hits(seek: float, windows: Sequence[Window], tolerance: float = 1.0) -> bool:
    """A player jumping to `seek` lands in a relevant window, give or take `tolerance` seconds."""
    return any(lo - tolerance <= seek <= hi + tolerance for lo, hi in windows)


def average_precision(spans: Sequence[Window | None], windows: Sequence[Window], threshold: float) -> float:
    """AP of a ranking: each window is matched at most once, by the first span overlapping it enough."""
    matched: set[int] = set()
    found, total = 0, 0.0
    for rank, span in enumerate(spans, 1):
        if span is None:
            continue
        free = [(iou(span, w), i) for i, w in enumerate(windows) if i not in matched]
        best = max(free, default=(0.0, -1))
        if best[0] >= threshold:
            matched.add(best[1])
            found += 1
            total += found / rank
    return total / len(windows) if windows else 0.0


def score_ranking(
    ranked: Sequence[tuple[float, float, float] | None], windows: Sequence[Window], tolerance: float = 1.0,
) -> dict[str, float]:
    """Hit@k, R@k at IoU thresholds, mAP and MRR of one query.

    `ranked` holds (start, end, seek) per returned segment, best first, or None for a segment in
    another video than the labelled one.
    """
    spans = [(r[0], r[1]) if r else None for r in ranked]
    hits = [r is not None and seek_hits(r[2], windows, tolerance) for r in ranked]
    best_iou = [max((iou(s, w) for w in windows), default=0.0) if s else 0.0 for s in spans]
    out: dict[str, float] = {}
    for k in KS:
        out[f"hit@{k}"] = float(any(hits[:k]))
    for k in KS:
        for t in RECALL_IOUS:
            out[f"r@{k}@{t}"] = float(any(v >= t for v in best_iou[:k]))
    out["map"] = sum(average_precision(spans, windows, t) for t in MAP_IOUS) / len(MAP_IOUS)
    out["mrr"] = next((1.0 / n for n, h in enumerate(hits, 1) if h), 0.0)
    return out


def mean_scores(per_query: Sequence[dict[str, float]]) -> dict[str, float]:
    """Average each metric over queries."""
    if not per_query:
        return {}
    return {key: sum(q[key] for q in per_query) / len(per_query) for key in per_query[0]}
