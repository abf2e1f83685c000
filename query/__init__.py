"""Stage 3: fuse signals, merge seconds into segments, rank them, and measure the ranking."""

from .metrics import mean_scores, score_ranking
from .search import (
    FindOptions,
    find,
    find_frames,
    find_many,
    find_noted,
    find_pictures,
    find_sounds,
    more_like,
    query_notes,
    rank_segments,
)
from .types import Segment

__all__ = ["FindOptions", "Segment", "find", "find_frames", "find_many", "find_noted", "find_pictures", "find_sounds", "mean_scores", "more_like", "query_notes", "rank_segments", "score_ranking"]
