"""Values that cross module borders: what was decoded or parsed from a video."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled frame: its sampling slot, presentation time and RGB pixels."""

    slot: int
    t: float
    pixels: np.ndarray


@dataclass(frozen=True)
class Cue:
    """One subtitle cue, markup stripped, lines joined."""

    start: float
    end: float
    text: str
    lang: str = ""
    speaker: str = ""
    source: str = ""
