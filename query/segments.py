"""Merge scored seconds into segments (pure functions)."""

from collections.abc import Mapping, Sequence

from vsearch.configs import default


def merge_slots(
    scores: Mapping[int, float], rel_threshold: float = default("find.rel_threshold"),
    max_gap: int = default("find.max_gap"), max_len: float = default("find.max_len"),
) -> list[tuple[int, int, int]]:
    """(first, last, seed) slot runs, best seed first.

    Each segment grows from its best unclaimed second through seconds scoring at least
    `rel_threshold` times the seed. A scored second below that ends the segment, so one weak
    second never chains two events; up to `max_gap` unscored seconds may be bridged.
    """
    taken: set[int] = set()
    found = []
    for seed in sorted(scores, key=lambda s: (-scores[s], s)):
        if seed in taken:
            continue
        floor = rel_threshold * scores[seed]

        def extend(edge: int, step: int, room: int) -> int:
            probe, missing = edge + step, 0
            while abs(probe - seed) < room and probe not in taken:
                if probe in scores:
                    if scores[probe] < floor:
                        break
                    edge, missing = probe, 0
                else:
                    missing += 1
                    if missing > max_gap:
                        break
                probe += step
            return edge

        last = extend(seed, 1, max_len)
        first = extend(seed, -1, max_len - (last - seed))
        taken.update(range(first, last + 1))
        found.append((first, last, seed))
    return found


def pad_span(start: float, end: float, pad: float, duration: float) -> tuple[float, float]:
    """Widen a span by `pad` on each side, kept inside the video."""
    hi = duration if duration > 0 else end + pad
    return max(0.0, start - pad), min(hi, end + pad)


def snap_to(t: float, cuts: Sequence[float], snap: float, allowed=lambda c: True) -> float:
    """The cut nearest `t` within `snap` seconds (of those `allowed`), else `t`."""
    near = [c for c in cuts if abs(c - t) <= snap and allowed(c)]
    return min(near, key=lambda c: (abs(c - t), c)) if near else t


def snap_span(start: float, end: float, seek: float, cuts: Sequence[float], snap: float) -> tuple[float, float]:
    """Move each edge of a span to the nearest cut within `snap` seconds of it, keeping
    start <= seek < end: a start snaps only to a cut at or before the seek, an end only to one after it."""
    return snap_to(start, cuts, snap, lambda c: c <= seek), snap_to(end, cuts, snap, lambda c: c > seek)


def shot_of(start: float, end: float, cuts: Sequence[float], duration: float) -> tuple[float, float]:
    """(where the shot holding `start` begins, where the shot holding the span's last moment ends)."""
    first = max((c for c in cuts if c <= start), default=0.0)
    last = min((c for c in cuts if c >= end), default=duration if duration > 0 else end)
    return first, last
