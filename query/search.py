"""Stage 3: answer a query with ranked segments."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from vsearch.index import Encoder, Hit, Store, VideoRecord

from .fusion import SIGNALS, fuse
from .segments import merge_slots, pad_span
from .types import Segment, SlotScore


@dataclass(frozen=True)
class FindOptions:
    """Ranking knobs; configs/default.toml documents each."""

    top_k: int = 5
    candidates: int = 500
    weights: Mapping[str, float] | None = None
    fusion: str = "score"
    rrf_k: float = 60.0
    min_spread: float = 0.05
    rel_threshold: float = 0.5
    max_gap: int = 2
    max_len: float = 60.0
    pad: float = 1.0

    def signal_weights(self) -> dict[str, float]:
        return dict(self.weights) if self.weights is not None else dict.fromkeys(SIGNALS, 1.0)


def _evidence(
    hits: list[Hit], vid: int, first_t: float, last_t: float
) -> tuple[Hit | None, Hit | None]:
    """The best frame and best cue of a video inside [first_t, last_t]."""
    frame = cue = None
    for hit in hits:
        if hit.video_id != vid or hit.end < first_t or hit.start > last_t:
            continue
        if hit.slot is not None:
            frame = frame if frame is not None and frame.score >= hit.score else hit
        elif cue is None or (hit.signal, hit.rank) < (cue.signal, cue.rank):
            cue = hit  # a cue-vector match beats BM25 at equal rank: it read the meaning
    return frame, cue


def rank_segments(
    hits: list[Hit], videos: Mapping[int, VideoRecord], options: FindOptions
) -> list[Segment]:
    """Fuse hits, merge seconds into segments, pad them and rank the best `top_k`."""
    fps = {vid: rec.fps for vid, rec in videos.items()}
    fused = fuse(hits, options.signal_weights(), fps, options.fusion, options.rrf_k, options.min_spread)
    segments = []
    for vid, slots in fused.items():
        record, step = videos[vid], 1.0 / fps[vid]
        totals = {slot: s.total for slot, s in slots.items()}
        for first, last, seed in merge_slots(
            totals, options.rel_threshold, options.max_gap, max(1, round(options.max_len * fps[vid]))
        ):
            content_start, content_end = first * step, min((last + 1) * step, record.duration or 1e18)
            start, end = pad_span(content_start, content_end, options.pad, record.duration)
            frame, cue = _evidence(hits, vid, content_start, content_end)
            seek = max(start, min(content_start, cue.start if cue else content_start))
            best: SlotScore = slots[seed]
            segments.append(Segment(
                video=record.path, video_id=vid, start=round(start, 3), end=round(end, 3),
                seek=round(seek, 3), score=round(best.total, 6),
                best_frame=frame.start if frame else None,
                cue=cue.text if cue else None, cue_start=cue.start if cue else None,
                cue_end=cue.end if cue else None,
                signals={k: round(v, 6) for k, v in best.parts.items()},
            ))
    segments.sort(key=lambda s: (-s.score, s.video, s.start))
    return segments[: options.top_k]


def gather_hits(
    store: Store, query: str, vector, options: FindOptions, video_ids: Iterable[int] | None = None
) -> list[Hit]:
    """Run each signal with a positive weight against the index."""
    weights = options.signal_weights()
    ids = list(video_ids) if video_ids is not None else None
    hits: list[Hit] = []
    if weights.get("frames", 0) > 0:
        hits += store.search_frames(vector, options.candidates, ids)
    if weights.get("cues", 0) > 0:
        hits += store.search_cues(vector, options.candidates, ids)
    if weights.get("bm25", 0) > 0 and query.strip():
        hits += store.search_cues(query, options.candidates, ids)
    return hits


def find(
    open_store: Callable[[], Store], encoder: Encoder, query: str, options: FindOptions,
    video_ids: Iterable[int] | None = None,
) -> list[Segment]:
    """Encode the query once, search every signal, and return ranked segments."""
    vector = encoder.encode_texts([query])[0]
    with open_store() as store:
        if store.check(encoder.model_id, encoder.dim) is None:
            return []
        hits = gather_hits(store, query, vector, options, video_ids)
        found = store.get_videos({h.video_id for h in hits})
    videos = {vid: rec for vid, rec in found.items() if rec.state == "done"}
    return rank_segments([h for h in hits if h.video_id in videos], videos, options)
