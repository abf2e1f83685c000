"""Stage 3: answer a query with ranked segments."""

import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from vsearch.configs import default
from vsearch.index import AudioEncoder, Encoder, Hit, Store, VideoRecord
from vsearch.index.calibration import share as calibrated

from .fusion import SIGNALS, fuse
from .levels import Bar, bars, read_levels
from .segments import merge_slots, pad_span, shot_of, snap_span
from .types import Segment, SlotScore
from .words import coverages, matched_at, query_terms, script_of

SEEN = ("frames", "picture", "pictures")  # the signals whose hits are frames ("pictures": the picture model's)

# "More like this" leaves out the seconds this close to the one it starts from.
_NEAR_SECONDS = 5.0


def _default_weights() -> dict[str, float]:
    return {name: default(f"find.weight_{name}") for name in SIGNALS}


@dataclass(frozen=True)
class FindOptions:
    """Ranking knobs; configs/default.toml documents each."""

    top_k: int = default("find.top_k")
    candidates: int = default("find.candidates")
    weights: Mapping[str, float] = field(default_factory=_default_weights)
    fusion: str = default("find.fusion")
    rrf_k: float = default("find.rrf_k")
    min_spread: float = default("find.min_spread")
    rel_threshold: float = default("find.rel_threshold")
    max_gap: int = default("find.max_gap")
    max_len: float = default("find.max_len")
    pad: float = default("find.pad")
    snap: float = default("find.snap")
    # Cue sources searched (extract.types.Source); empty searches them all.
    sources: tuple[str, ...] = ()
    min_score: float = default("find.min_score")
    background: float = default("find.background")
    min_coverage: float = default("find.min_coverage")

    def bare(self) -> "FindOptions":
        """These options without a bar: every moment found, the background and lexical rule left out."""
        return replace(self, min_score=0.0, background=0.0, min_coverage=0.0)


def _evidence(hits: list[Hit], first_t: float, last_t: float,
              seed: tuple[float, float]) -> tuple[Hit | None, Hit | None, Hit | None]:
    """The best frame, best cue and best hop of sound among one video's hits inside [first_t, last_t].

    The cue said during the segment's best second (`seed`, its span) comes first (that second is why it ranks), then
    the one holding most of the query's words, then rank.
    """
    frame = cue = sound = None

    def key(h: Hit):
        said_then = h.start < seed[1] and h.end > seed[0]
        return (not said_then, -(h.coverage if h.signal == "bm25" else 0.0), h.signal, h.rank)

    for hit in hits:
        if hit.end < first_t or hit.start > last_t:
            continue
        if hit.signal in SEEN:
            frame = _better(frame, hit)
        elif hit.signal == "audio":
            sound = _better(sound, hit)
        elif cue is None or key(hit) < key(cue):
            cue = hit
    return frame, cue, sound


def _better(best: Hit | None, hit: Hit) -> Hit:
    """The higher scoring of two hits; of equal ones the earlier, whichever order a backend
    returned them in (identical frames of a still tie exactly)."""
    if best is None or (hit.score, -hit.start) > (best.score, -best.start):
        return hit
    return best


def rank_segments(
    hits: list[Hit], videos: Mapping[int, VideoRecord], options: FindOptions
) -> list[Segment]:
    """Fuse hits, merge seconds into segments, pad them and rank the best `top_k`."""
    weights = dict(options.weights)
    # a signal weighted 0 neither scores nor shows up as a segment's evidence
    hits = [h for h in hits if weights.get(h.signal, 0) > 0
            and (not options.sources or h.slot is not None or h.source in options.sources)]
    fps = {vid: rec.fps for vid, rec in videos.items()}
    fused = fuse(hits, weights, fps, options.fusion, options.rrf_k, options.min_spread)
    spans = []
    for vid, slots in fused.items():
        # Seconds past the end (cues of an index written before cues were cut to the video) are
        # no moment to seek to.
        duration = videos[vid].duration
        last_slot = max(1, math.ceil(duration * fps[vid] - 1e-9)) if duration > 0 else math.inf
        totals = {slot: s.total for slot, s in slots.items() if slot < last_slot and s.total >= options.min_score}
        if not totals:
            continue
        max_len = max(1, round(options.max_len * fps[vid]))
        for first, last, seed in merge_slots(totals, options.rel_threshold, options.max_gap, max_len):
            spans.append((slots[seed], vid, first, last, seed))
    spans.sort(key=lambda s: (-s[0].total, videos[s[1]].path, s[2]))
    by_video: dict[int, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_video[hit.video_id].append(hit)
    # evidence and padding only for the segments returned: a query can yield thousands of spans
    return [_segment(videos[vid], by_video[vid], first, last, seed, best, options.pad, options.snap)
            for best, vid, first, last, seed in spans[: options.top_k]]


def _segment(record: VideoRecord, hits: list[Hit], first: int, last: int, seed: int, best: SlotScore,
             pad: float, snap: float) -> Segment:
    """A slot run as a padded segment, its edges snapped to nearby cuts, with its seek offset,
    evidence and shot."""
    step = 1.0 / record.fps
    content_start, content_end = first * step, min((last + 1) * step, record.duration or 1e18)
    start, end = pad_span(content_start, content_end, pad, record.duration)
    frame, cue, sound = _evidence(hits, content_start, content_end, (seed * step, (seed + 1) * step))
    if cue is not None and cue.seek is not None:  # the words that matched, inside the segment
        seek = min(max(content_start, cue.seek), content_end - 1e-3)
    else:
        seek = max(start, min(content_start, cue.start if cue else content_start))
    # 0 <= start <= seek < end <= duration: seek lies in [start, content_end), and content_end
    # <= end because only seconds inside the video are ranked; snapping keeps seek inside.
    shot = None
    if record.cuts is not None:
        start, end = snap_span(start, end, seek, record.cuts, snap)
        shot = shot_of(start, end, record.cuts, record.duration)
    return Segment(
        video=record.path, video_id=record.id, start=round(start, 3), end=round(end, 3),
        seek=round(seek, 3), score=round(best.total, 6),
        best_frame=round(frame.start, 3) if frame else None,
        cue=cue.text if cue else None,
        source=cue.source if cue else _unspoken(frame, sound, best.parts),
        cue_start=round(cue.start, 3) if cue else None,
        cue_end=round(min(cue.end, end), 3) if cue else None,
        signals={k: round(v, 6) for k, v in best.parts.items()},
        lang=cue.lang if cue else None, speaker=cue.speaker if cue else None,
        best_sound=round(max(sound.start, content_start), 3) if sound else None,
        shot_start=shot[0] if shot else None, shot_end=shot[1] if shot else None,
    )


def _unspoken(frame: Hit | None, sound: Hit | None, parts: Mapping[str, float]) -> str | None:
    """What matched a segment without a cue: the picture or the sound, whichever counted more."""
    if frame is not None and (sound is None or sum(parts.get(s, 0.0) for s in SEEN) >= parts.get("audio", 0.0)):
        return "frames"
    return "audio" if sound is not None else None


def gather_hits(
    store: Store, words: str, vector, options: FindOptions, video_ids: Iterable[int] | None = None,
    text_vector=None, sound_vector=None, picture_vector=None,
) -> list[Hit]:
    """Run each signal with a positive weight against the index: BM25 with `words` (the query as
    Store.folded gives it), cue vectors with the text model's query vector (`text_vector`, else
    the image model's `vector`), sounds with the sound model's (`sound_vector`; None leaves them
    out), and frames again with a picture's (`picture_vector`, the "picture" signal; None: none)."""
    weights = dict(options.weights)
    ids = list(video_ids) if video_ids is not None else None
    hits: list[Hit] = []
    if weights.get("frames", 0) > 0:
        hits += store.search_frames(vector, options.candidates, ids)
    if weights.get("cues", 0) > 0:
        hits += store.search_cues(vector if text_vector is None else text_vector, options.candidates, ids)
    if weights.get("bm25", 0) > 0:
        hits += store.search_words(words, options.candidates, ids)
    if weights.get("audio", 0) > 0 and sound_vector is not None:
        hits += store.search_sounds(sound_vector, options.candidates, ids)
    if weights.get("picture", 0) > 0 and picture_vector is not None:
        hits += [replace(h, signal="picture") for h in store.search_frames(picture_vector, options.candidates, ids)]
    return hits


def query_notes(store: Store, encoder: Encoder, query: str, options: FindOptions, text=None,
                audio: AudioEncoder | None = None) -> dict[str, str]:
    """Why signals were left out of this query (signal -> why), as `find` puts them on segments."""
    _, notes = _sound_query(audio if store.audio else None, query)
    audio = audio if store.audio and "audio" not in notes else None
    notes.update(read_levels(query, encoder, text, audio, options.weights)[1])
    notes.update(_old_index(store, options.weights))
    return notes


def _old_index(store: Store, weights: Mapping[str, float]) -> dict[str, str]:
    """The lexical signal's note where an older index is read as it is (index/schema.py)."""
    if not store.legacy or weights.get("bm25", 0) <= 0:
        return {}
    return {"bm25": f"left out: the index is of an older vsearch (schema {store.legacy}) and is read as it is; "
                    "`vsearch index` or `vsearch ingest` brings it up to date, once, without re-encoding"}


def _read(hit: Hit, terms: list[str], held: float, bar: Bar | None) -> Hit | None:
    """A hit as the query reads it: for a cue, where its matched words are said and, for BM25,
    how much of the query it holds (`held`); for a vector hit, its share between its signal's
    levels for this query (`bar`), or None where it has no levels and lies under the query's
    background (a hit that does not stand out is no hit)."""
    if bar is not None and bar.pair is None and bar.floor is not None and hit.score <= bar.floor:
        return None
    share = calibrated(hit.score, bar.pair) if bar is not None and bar.pair is not None else None
    if hit.signal not in ("cues", "bm25"):
        return hit if share is None else replace(hit, share=share)
    seek = matched_at(hit.text, hit.words, terms) if hit.words else None
    return replace(hit, seek=seek, coverage=held, share=share)


def find(
    store: Store, encoder: Encoder, query: str, options: FindOptions,
    video_ids: Iterable[int] | None = None, on_gone: Callable[[VideoRecord], None] | None = None,
    text=None, audio: AudioEncoder | None = None, picture=None,
) -> list[Segment]:
    """Encode the query once, search every signal, and return ranked segments."""
    return find_many(store, encoder, query, [options], video_ids, on_gone, text, audio, picture)[0]


def find_noted(
    store: Store, encoder: Encoder, query: str, options: FindOptions,
    video_ids: Iterable[int] | None = None, on_gone: Callable[[VideoRecord], None] | None = None,
    text=None, audio: AudioEncoder | None = None, picture=None,
) -> tuple[list[Segment], dict[str, str], list[Segment]]:
    """`find`, with why signals were left out of the query (signal -> why), also when nothing was
    found, and the same ranking with no bar (`options.bare()`), where the closest moment under it is."""
    found, under = find_many(store, encoder, query, [options, options.bare()], video_ids, on_gone, text, audio,
                             picture)
    named = found or under
    notes = named[0].notes if named else query_notes(store, encoder, query, options, text, audio)
    return found, notes, under


def _sound_query(audio: AudioEncoder | None, query: str) -> tuple[object, dict[str, str]]:
    """The sound model's vector of the query, or None with a note why the sound signal is left out."""
    if audio is None:
        return None, {}
    script = script_of(query)
    if script not in audio.scripts:
        return None, {"audio": f"left out: the sound model {audio.model_id} reads "
                               f"{', '.join(sorted(audio.scripts))} text, and this query is {script}"}
    return audio.encode_texts([query])[0], {}


def find_many(
    store: Store, encoder: Encoder, query: str, variants: Sequence[FindOptions],
    video_ids: Iterable[int] | None = None, on_gone: Callable[[VideoRecord], None] | None = None,
    text=None, audio: AudioEncoder | None = None, picture=None,
) -> list[list[Segment]]:
    """Rank one query under several option sets (weights, merging), searching the open index once.

    `text` is the index's text model (index/text_encoders.py); without one, cue vectors are
    searched with the image model's text tower. `audio` is the index's sound model; without
    one, or for a query in a script its text tower does not read, sounds are not searched.
    `picture`, the image model's vector of a picture given with the query, is the "picture" signal;
    of an image model that reads a picture and words together (`encode_query`), it is one vector
    of both, and frames are not searched with the words alone.

    Videos whose files are gone (a stat per video among the hits) are left out, each passed to
    `on_gone`.
    """
    weights = {name: max(v.weights.get(name, 0.0) for v in variants) for name in SIGNALS}
    if picture is not None and hasattr(encoder, "encode_query"):
        weights["frames"] = 0.0  # `picture` holds the query's words too: frames are searched once, with it
    widest = replace(variants[0], weights=weights, candidates=max(v.candidates for v in variants))
    vector = encoder.encode_texts([query])[0]
    own_tower = text is None or getattr(text, "tower_of", None) is encoder
    text_vector = None if own_tower else text.encode_queries([query])[0]
    checks = (text.model_id, text.dim) if text is not None else ("image", encoder.dim)
    sound = (audio.model_id, audio.dim) if audio is not None else None
    if store.check(encoder.model_id, encoder.dim, *checks, audio=sound) is None:
        return [[] for _ in variants]
    sound_vector, notes = _sound_query(audio if store.audio else None, query)
    words = store.folded(query)  # once, for BM25 and for how much of the query each cue holds
    hits = gather_hits(store, words, vector, widest, video_ids, text_vector, sound_vector, picture)
    found = store.get_videos({h.video_id for h in hits})
    cue_total = store.cue_count() if any(h.signal == "bm25" for h in hits) else 0
    videos = _playable(found, on_gone)
    terms = query_terms(words)
    lexical = [i for i, h in enumerate(hits) if h.signal == "bm25"]
    held = dict(zip(lexical, coverages([hits[i].text for i in lexical], terms, cue_total)))
    pairs, left_out = read_levels(query, encoder, text, audio if sound_vector is not None else None, weights)
    notes.update(left_out)
    notes.update(_old_index(store, weights))
    searched = {"frames": vector, "cues": vector if text_vector is None else text_vector, "audio": sound_vector,
                "picture": picture}
    searched = {signal: v for signal, v in searched.items() if v is not None and weights.get(signal, 0) > 0}
    read: dict[float, list[Hit]] = {}  # the hits as read against each background strength asked for
    for strength in dict.fromkeys(v.background for v in variants):
        levels, thin = bars(store, searched, pairs, strength)
        notes.update({signal: why for signal, why in thin.items() if signal not in notes})
        read[strength] = [r for i, h in enumerate(hits) if h.video_id in videos
                          and (r := _read(h, terms, held.get(i, h.coverage), levels.get(h.signal))) is not None]
    # Where a text model reads the query's script, meaning is the cue vectors' to judge: a cue
    # holding only a small part of the query's words (one common word of four) is no match by
    # itself. Where none reads it, words are all there is to go by.
    judged = weights.get("cues", 0) > 0 and pairs.get("cues") != (1.0, 1.0)
    ranked = [rank_segments([h for h in read[options.background] if h.rank < options.candidates
                             and not (judged and h.signal == "bm25" and h.coverage < options.min_coverage)],
                            videos, options)
              for options in variants]
    return [[replace(seg, notes=notes) for seg in segs] for segs in ranked] if notes else ranked


def _playable(found: Mapping[int, VideoRecord], on_gone: Callable[[VideoRecord], None] | None) -> dict[int, VideoRecord]:
    """The indexed videos among `found` whose files are still there; each gone one passed to `on_gone`."""
    videos = {}
    for vid, rec in found.items():
        if rec.state != "done":
            continue
        if not os.path.exists(rec.path):
            if on_gone:
                on_gone(rec)
            continue
        videos[vid] = rec
    return videos


def find_frames(
    store: Store, encoder: Encoder, vector, options: FindOptions, video_ids: Iterable[int] | None = None,
    on_gone: Callable[[VideoRecord], None] | None = None,
) -> list[Segment]:
    """Moments whose frames are nearest a query picture's image-model vector."""
    if store.check(encoder.model_id, encoder.dim) is None:
        return []
    return _nearest(store, "frames", vector, options, video_ids, on_gone)


def find_pictures(
    store: Store, picture: tuple[str, int], vector, options: FindOptions, video_ids: Iterable[int] | None = None,
    on_gone: Callable[[VideoRecord], None] | None = None,
) -> list[Segment]:
    """Moments whose frames the picture model (`picture`: its id and dimension, which the index
    must hold) finds nearest a query picture's vector."""
    if store.check(picture=picture) is None:
        return []
    return _nearest(store, "pictures", vector, options, video_ids, on_gone)


def more_like(store: Store, encoder: Encoder, vid: int, t: float, options: FindOptions) -> list[Segment]:
    """Moments that look like second `t` of video `vid`, itself left out: by the picture model's
    stored vectors where the index holds them for it, else the image model's."""
    kind = "pictures" if store.check(encoder.model_id, encoder.dim) is not None and store.picture else "frames"
    vector = store.frame_vector(vid, t, kind)
    if vector is None and kind == "pictures":  # indexed before the picture model was named; the next ingest adds it
        kind, vector = "frames", store.frame_vector(vid, t)
    if vector is None:
        return []
    return _nearest(store, kind, vector, options, None, None, (vid, t))


def find_sounds(
    store: Store, audio: AudioEncoder, vector, options: FindOptions, video_ids: Iterable[int] | None = None,
    on_gone: Callable[[VideoRecord], None] | None = None,
) -> list[Segment]:
    """Moments that sound most like a sound vector (a query clip's)."""
    if store.check(audio=(audio.model_id, audio.dim)) is None:
        return []
    return _nearest(store, "audio", vector, options, video_ids, on_gone)


def _nearest(store: Store, signal: str, vector, options: FindOptions, video_ids: Iterable[int] | None,
             on_gone: Callable[[VideoRecord], None] | None,
             leave_out: tuple[int, float] | None = None) -> list[Segment]:
    """Moments of one signal's rows nearest `vector`, scaled per query above its background;
    `leave_out` (video id, second) drops the moment a stored vector came from."""
    options = replace(options, weights={signal: 1.0})
    ids = list(video_ids) if video_ids is not None else None
    if signal == "audio":
        hits = store.search_sounds(vector, options.candidates, ids)
    else:
        hits = store.search_frames(vector, options.candidates, ids, kind=signal)
    if leave_out is not None:
        vid, t = leave_out
        hits = [h for h in hits if h.video_id != vid or abs(h.start - t) > _NEAR_SECONDS]
    bar = bars(store, {signal: vector}, {}, options.background)[0][signal]
    videos = _playable(store.get_videos({h.video_id for h in hits}), on_gone)
    return rank_segments([h for h in hits if h.video_id in videos and _read(h, [], 1.0, bar) is not None], videos,
                         options)
