"""Stage 3: fuse signals, merge seconds into segments, rank them."""

from .search import FindOptions, find, rank_segments
from .types import Segment

__all__ = ["FindOptions", "Segment", "find", "rank_segments"]
