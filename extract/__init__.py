"""Stage 1: decode frames and read subtitles. Knows nothing of models or storage."""

from .frames import FrameSpec, FrameStream
from .types import Cue, Frame

__all__ = ["Cue", "Frame", "FrameSpec", "FrameStream"]
