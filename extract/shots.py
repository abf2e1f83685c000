"""Hard cuts between shots, found from a small luma signature of every frame the decoder produced.

Clips hold every reference frame of their stretch (extract/clips.py), so with x264's defaults at
most one frame goes unseen between two looked-at frames and a cut is placed to within a frame.
A cut is a jump in the picture that stands out against the frames around it: fast motion moves
many neighbouring frames alike, a cut moves one pair. Fades and dissolves are not cuts.
"""

from dataclasses import dataclass

import numpy as np

# Rows and columns of the blocks whose mean luma a frame is reduced to, whatever its size: block
# means, unlike single pixels, barely move when the picture moves a little.
GRID = (18, 32)
# A cut moves the mean block (0-255) by at least this much ...
MIN_JUMP = 12.0
# ... and at least this many times the typical change around it, or by SURE whatever the frames
# around it do: in a fast action scene every frame moves a lot (docs/decoding.md).
RATIO = 2.0
SURE = 40.0
# Frames on each side that set the typical change.
WINDOW = 6
# Shots shorter than this are flashes (an explosion, a camera flash), not shots.
MIN_SHOT = 0.5
# Frames further apart than this are not compared: a stretch not looked at frame by frame (a
# chunk decoded from the whole file) has no cuts found in it.
MAX_STEP = 0.25

_PLANAR_8BIT = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p",
                "yuv411p", "yuv410p", "nv12", "nv21", "gray"}


def signature(frame) -> np.ndarray:
    """A PyAV video frame reduced to GRID block means of its luma (uint8)."""
    rows, cols = GRID
    if frame.format.name not in _PLANAR_8BIT or frame.height < rows or frame.width < cols:
        # high bit depth, packed RGB, palettes, tiny pictures: swscale makes the small grey picture
        return frame.reformat(width=cols, height=rows, format="gray", interpolation="AREA").to_ndarray()
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
    # Every pixel of a 1080p frame is more than a block mean needs: every step-th of them, with
    # at least 4x4 of them per block, is as good and a fraction of the work.
    step = max(1, min(luma.shape[0] // (rows * 4), luma.shape[1] // (cols * 4)))
    luma = luma[::step, ::step]
    high, wide = luma.shape[0] // rows, luma.shape[1] // cols
    blocks = luma[: high * rows, : wide * cols].reshape(rows, high, cols, wide)
    return blocks.mean(axis=(1, 3), dtype=np.float32).astype(np.uint8)


@dataclass(frozen=True)
class Shots:
    """Where a video's shots begin, found from `looked` of its frames."""

    cuts: tuple[float, ...]
    looked: int


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference (0-255) of signatures, pairwise along the first axis."""
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).reshape(len(a), -1).mean(axis=1)


def pair_changes(times: np.ndarray, signatures: np.ndarray) -> np.ndarray:
    """Rows (before, after, jump, lasting) for each pair of consecutive frames of one decoded run:
    their times, how far the picture jumps between them, and how far the picture MIN_SHOT before
    the pair is from the one MIN_SHOT after it (NaN where the run ends first): a flash jumps and
    comes back, a cut stays."""
    if len(times) < 2:
        return np.zeros((0, 4))
    jump = _distance(signatures[:-1], signatures[1:])
    earlier = np.maximum(np.searchsorted(times, times[:-1] - MIN_SHOT, side="right") - 1, 0)
    later = np.searchsorted(times, times[1:] + MIN_SHOT)
    lasting = np.full(len(jump), np.nan)
    ok = later < len(times)
    lasting[ok] = _distance(signatures[earlier[ok]], signatures[later[ok]])
    return np.column_stack([times[:-1], times[1:], jump, lasting])


def find_cuts(pairs: np.ndarray) -> list[float]:
    """Times of the first frame of each new shot, from `pair_changes` rows in time order."""
    before, after, jump, lasting = pairs.T if len(pairs) else (np.zeros(0),) * 4
    jump = np.where(after - before > MAX_STEP, 0.0, jump)
    cuts: list[float] = []
    for i in np.flatnonzero(jump >= MIN_JUMP):
        around = np.concatenate([jump[max(0, i - WINDOW) : i], jump[i + 1 : i + 1 + WINDOW]])
        # The second-largest neighbour, not the largest: two cuts a frame apart still both stand out.
        typical = np.sort(around)[-2] if len(around) >= 2 else 0.0
        if (jump[i] < RATIO * typical and jump[i] < SURE) or lasting[i] < MIN_JUMP:
            continue
        t = float(after[i])
        if t - (cuts[-1] if cuts else float(before[0])) >= MIN_SHOT:
            cuts.append(t)
    return cuts


class ShotLog:
    """Frame-to-frame changes of the runs of frames a stream decoded, gathered from any decoding
    thread. Runs overlap (a clip starts before its chunk); a pair seen twice is kept once, with
    its `lasting` where one of the runs reached that far."""

    def __init__(self):
        self._pairs: dict[float, np.ndarray] = {}

    def add_run(self, times: np.ndarray, signatures: np.ndarray) -> None:
        """Note consecutive decoded frames: their times (seconds, rising) and `signature`s."""
        for row in pair_changes(times, signatures):
            key = round(float(row[1]), 6)
            held = self._pairs.get(key)
            if held is None or (np.isnan(held[3]) and not np.isnan(row[3])):
                self._pairs[key] = row

    def shots(self) -> Shots:
        """The cuts among all pairs noted so far."""
        keys = sorted(self._pairs)
        pairs = np.stack([self._pairs[k] for k in keys]) if keys else np.zeros((0, 4))
        looked = len(np.union1d(pairs[:, 0], pairs[:, 1]))  # runs apart share no frame
        return Shots(tuple(round(c, 3) for c in find_cuts(pairs)), looked)
