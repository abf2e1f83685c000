"""Values the index hands to the query stage."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """One search result of one signal: a frame (`frames`) or a cue (`cues`, `bm25`)."""

    signal: str
    video_id: int
    rank: int
    score: float
    start: float
    end: float
    slot: int | None = None
    text: str | None = None
    lang: str = ""
    speaker: str = ""
