"""Values that cross module borders: what was decoded or parsed from a video."""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Source(StrEnum):
    """Where a cue's text came from: subtitles, speech recognition (what is said) or the screen (shown)."""

    SUBTITLE = "subtitle"
    ASR = "asr"
    OCR = "ocr"


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled frame: its sampling slot, presentation time and RGB pixels at the image model's
    size; `whole` is the whole decoded picture (not cropped, 224 px or more on its short side),
    which the change measure looks at."""

    slot: int
    t: float
    pixels: np.ndarray
    whole: np.ndarray | None = None


@dataclass(frozen=True)
class Cue:
    """Timed text: a subtitle cue, a piece of transcript or text read off the screen.

    `source` is a Source ("subtitle", "asr" or "ocr"); `origin` names the file it was read from, for
    messages. `words` holds (character offset, start time) of
    each word where the reader timed words (speech); `lang_prob` is how sure speech recognition
    was of `lang`.
    """

    start: float
    end: float
    text: str
    lang: str = ""
    speaker: str = ""
    source: str = Source.SUBTITLE
    origin: str = ""
    words: tuple[tuple[int, float], ...] = ()
    lang_prob: float = 0.0
