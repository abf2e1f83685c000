"""Stage 1: decode frames and read subtitles. Knows nothing of models or storage."""

from .errors import FileChanged, MediaError, SubtitleError, ToolMissing, VsearchError
from .frames import FrameSpec, FrameStream
from .types import Cue, Frame

__all__ = [
    "Cue", "FileChanged", "Frame", "FrameSpec", "FrameStream", "MediaError", "SubtitleError", "ToolMissing",
    "VsearchError",
]
