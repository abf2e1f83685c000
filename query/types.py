"""Values `find` returns."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SlotScore:
    """Fused score of one sampled second and what each signal contributed."""

    total: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """A ranked moment: where to cut, where to seek, and the evidence behind it.

    `source` says what matched: "subtitle", "asr" or "ocr" for text, "frames" for the picture,
    "audio" for the sound. `notes` say why a signal was left out of this query ({"audio": why}).
    """

    video: str
    video_id: int
    start: float
    end: float
    seek: float
    score: float
    best_frame: float | None = None
    cue: str | None = None
    source: str | None = None
    cue_start: float | None = None
    cue_end: float | None = None
    signals: dict[str, float] = field(default_factory=dict)
    # The matched cue's language and speaker (`<v Name>`), for filtering; None without a cue.
    lang: str | None = None
    speaker: str | None = None
    # The second of the segment that sounds most like the query; None without a sound hit.
    best_sound: float | None = None
    notes: dict[str, str] = field(default_factory=dict)
    # The shot the segment starts in begins at shot_start, the one it ends in ends at shot_end;
    # None where the video's shots are unknown (indexed with extract.shots off, or before it).
    shot_start: float | None = None
    shot_end: float | None = None
