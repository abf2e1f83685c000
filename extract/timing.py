"""Frame times: cleaning what containers report, and which frame each sampled second shows."""

import math

import numpy as np

# Timestamps beyond this are containers' "no value" markers, not times (seen in AVI).
_MAX_SANE_SECONDS = 1e7


def clean_timestamps(starts: np.ndarray, avg_fps: float) -> np.ndarray:
    """Replace missing or absurd frame times with times implied by their neighbours."""
    t = np.asarray(starts, dtype=np.float64).copy()
    step = 1.0 / avg_fps if avg_fps and avg_fps > 0 else 0.04
    bad = ~np.isfinite(t) | (np.abs(t) > _MAX_SANE_SECONDS)
    good = np.flatnonzero(~bad)
    if good.size < 0.9 * len(t):
        # A container this short of timestamps (AVI) has no timing to trust but its frame rate.
        return np.arange(len(t)) * step
    idx = np.arange(len(t))
    filled = np.interp(idx, good, t[good])
    before, after = idx < good[0], idx > good[-1]
    filled[before] = t[good[0]] - (good[0] - idx[before]) * step
    filled[after] = t[good[-1]] + (idx[after] - good[-1]) * step
    # Filling in before the first real time can go below zero; nothing plays before 0.
    return filled - filled.min() if filled.min() < 0 else filled


def plan_samples(starts: np.ndarray, end: float, fps: float) -> list[tuple[int, int]]:
    """(slot, frame index) pairs: slot k shows the frame on screen at (k + 0.5) / fps, and a video
    shorter than half a slot its middle frame."""
    if len(starts) == 0 or end <= 0:
        return []
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]
    slots = int(math.ceil(end * fps - 1e-9))
    times = (np.arange(slots) + 0.5) / fps
    times = times[times < end]
    if not times.size:  # a clip this short still has a picture to find
        times = np.array([end / 2])
    pos = np.searchsorted(sorted_starts, times, side="right") - 1
    pos = np.clip(pos, 0, len(order) - 1)
    return [(int(k), int(order[p])) for k, p in enumerate(pos)]


def frame_times(reader) -> tuple[np.ndarray, float]:
    """Clean start times of every frame and the time the last one leaves the screen."""
    stamps = reader.get_frame_timestamp(range(len(reader)))
    avg_fps = reader.get_avg_fps()
    starts = clean_timestamps(stamps[:, 0], avg_fps)
    tail = float(stamps[-1, 1] - stamps[-1, 0])
    if not 0 < tail < 10:
        tail = 1.0 / avg_fps if avg_fps > 0 else 0.04
    return starts, float(starts.max()) + tail
