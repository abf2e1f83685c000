"""One shape of an answer on every road: `find --json`, /api/find and what `find` reads back from a server.

A segment is written by `segment_json` and read back by `segment_of`, the same code at both
ends, so a field added to query/types.py Segment travels or fails a test (tests/test_one_find.py).
"""

from dataclasses import dataclass, field, fields

from vsearch.extract.paths import file_url


@dataclass(frozen=True)
class Answer:
    """What a find gives back: ranked segments, why signals were left out (signal -> why), the
    paths of indexed videos whose files are gone, and when nothing passed the bar, the closest
    moment under it (a request with `all` shows it and those like it)."""

    segments: list
    notes: dict[str, str] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    closest: object = None


def fragment_url(path: str, start: float, end: float) -> str:
    """A media-fragment URL that browsers and players open at the segment."""
    return f"{file_url(path)}#t={start:g},{end:g}"


def segment_json(seg) -> dict:
    """A segment as JSON: every field of Segment (the video id as a string: a browser's JSON
    number loses a 63-bit id's last digits) and the URL that opens it."""
    shape = {f.name: getattr(seg, f.name) for f in fields(seg)}
    if not shape["notes"]:
        del shape["notes"]
    return {**shape, "video_id": str(seg.video_id), "url": fragment_url(seg.video, seg.start, seg.end)}


def segment_of(value: dict):
    """The Segment that `segment_json` wrote (fields it does not know, such as the page's, ignored)."""
    from vsearch.query.types import Segment

    known = {f.name for f in fields(Segment)}
    return Segment(**{k: int(v) if k == "video_id" else v for k, v in value.items() if k in known})


def cue_json(cue, words: bool = True) -> dict:
    """A stored cue as JSON (`transcript --json`, the MCP tool get_transcript): its times, text,
    language, and with `words` when each word began."""
    shape = {"start": cue.start, "end": cue.end, "text": cue.text, "lang": cue.lang, "lang_prob": cue.lang_prob}
    return {**shape, "words": [t for _, t in cue.words]} if words else shape


def answer_json(answer: Answer, k: int, extra=lambda seg: {}) -> dict:
    """The JSON body of an answer; `extra(seg)` adds fields to each segment (the page's routes)."""
    closest = {**segment_json(answer.closest), **extra(answer.closest)} if answer.closest is not None else None
    return {"results": [{**segment_json(s), **extra(s)} for s in answer.segments], "notes": answer.notes,
            "gone": answer.gone, "k": k, "closest": closest}


def answer_of(body: dict) -> Answer:
    """The Answer a server sent as `answer_json`."""
    closest = body.get("closest")
    return Answer([segment_of(r) for r in body.get("results", [])], body.get("notes") or {}, body.get("gone") or [],
                  segment_of(closest) if isinstance(closest, dict) else None)
