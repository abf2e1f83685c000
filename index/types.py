"""Values the index hands to the query stage."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """One search result of one signal: a frame (`frames`) or a cue (`cues`, `bm25`).

    A cue's `source` is subtitle, asr or ocr; `words` are its (character offset, start time)
    pairs where speech recognition timed its words; `seek` and `coverage`, set by the query
    stage, are when the words that matched the query begin and how much of the query it holds;
    `share`, when set, is a calibrated contribution in [0, 1] that fusion uses as it is.
    """

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
    source: str = ""
    words: tuple[tuple[int, float], ...] = ()
    seek: float | None = None
    coverage: float = 1.0
    share: float | None = None
