"""The one measure of "the picture changed", which re-encoding frames and reading screen text both
go by.

Two things count. The picture as a whole shifting colour (a cut, a fade, a plain slide of another
colour): the mean difference of 16x16 colour thumbnails. And any part of it changing shape (a
line of text, a page number, an arrow drawn on an unchanged template): grey pixels of the whole
decoded frame that differ by more than `pixel_change` once the picture's overall brightening or
darkening is taken out, so auto-exposure drift is no change, and `changed_pixels` of them, so one
flipped pixel is none. Camera noise and compression flicker stay under `pixel_change`; parts that
keep moving (a speaker's video in a corner, a clock, a blinking caret) are left out while they move.
"""

from dataclasses import dataclass

import numpy as np

# A part of the picture "keeps moving" when it changed between at least _LIVE of the last _HISTORY
# pairs of frames: a speaker's corner does from its third second on. So does, for a few seconds, a
# slide that fades in over two sampled frames: ScreenPlan looks back for when it appeared.
_HISTORY, _LIVE = 4, 2
# Moving parts are left out only while they cover at most this share of the picture: a speaker's
# corner or a clock, not a film's moving shot or a scrolling page, which are the picture itself.
_INSET = 1 / 3
# Parts are judged in cells of this many decoded pixels a side, and a moving part takes in the cells
# this many around it: a speaker's hands and shoulders move now and then beside a face that moves
# all the time.
_CELL, _AROUND = 8, 3


def thumbnail(pixels: np.ndarray, side: int = 16) -> np.ndarray:
    """A tiny colour version of a frame, for telling its overall colour apart cheaply.

    Colour is kept: in grey, a red and a green slide of equal brightness look the same.
    """
    h, w, channels = pixels.shape
    bh, bw = max(1, h // side), max(1, w // side)
    # Two exact integer sums, each over one axis, run 9x faster than one float mean over two
    # strided axes.
    rows = pixels[: bh * side, : bw * side].reshape(side, bh, -1).sum(axis=1, dtype=np.uint32)
    cells = rows.reshape(side, side, bw, channels).sum(axis=2)
    return cells.astype(np.float32) / (bh * bw)


def grey(pixels: np.ndarray) -> np.ndarray:
    """Luma (0-255) of RGB pixels as int16, so differences need no float pass."""
    p = pixels.astype(np.uint16)
    return ((77 * p[..., 0] + 150 * p[..., 1] + 29 * p[..., 2]) >> 8).astype(np.int16)


@dataclass(frozen=True, eq=False)
class Look:
    """What the change measure keeps of one frame."""

    thumb: np.ndarray
    grey: np.ndarray


def look(pixels: np.ndarray) -> Look:
    """The change measure's view of a frame's pixels (the whole decoded picture, not a crop)."""
    return Look(thumbnail(pixels), grey(pixels))


def shift(a: Look, b: Look) -> float:
    """Mean absolute difference (0-255) of two frames' colour thumbnails."""
    return float(np.abs(a.thumb - b.thumb).mean())


def _cells(mask: np.ndarray) -> np.ndarray:
    """Which _CELL x _CELL cells of a pixel mask hold a set pixel."""
    h, w = mask.shape
    rows, cols = -(-h // _CELL), -(-w // _CELL)
    padded = np.zeros((rows * _CELL, cols * _CELL), bool)
    padded[:h, :w] = mask
    return padded.reshape(rows, _CELL, cols, _CELL).any(axis=(1, 3))


def _grown(cells: np.ndarray) -> np.ndarray:
    """`cells` with the _AROUND cells around each set one set too."""
    out = cells.copy()
    rows, cols = cells.shape
    for dy in range(-_AROUND, _AROUND + 1):
        for dx in range(-_AROUND, _AROUND + 1):
            out[max(0, dy):rows + min(0, dy), max(0, dx):cols + min(0, dx)] |= \
                cells[max(0, -dy):rows + min(0, -dy), max(0, -dx):cols + min(0, -dx)]
    return out


@dataclass(frozen=True)
class ChangeOptions:
    """How much of a frame must differ, and by how much, for its shape to have changed."""

    pixel_change: int
    changed_pixels: int


class Scene:
    """One video's frames in order: which parts keep moving, and whether a frame's shapes differ
    from another's outside them. `see` each frame before comparing it."""

    def __init__(self, options: ChangeOptions):
        self.options = options
        self.prev: Look | None = None
        self._history: list[np.ndarray] = []  # cells changed between each of the last pairs
        self._keep = None  # pixels outside the moving parts, None when all count
        self.moved = True  # whether the frame last seen changed shape from the one before (the first did)
        self.shifted = 255.0  # how far its colour moved from the one before (`shift`)

    def see(self, frame: Look) -> None:
        """Take the next frame: note what changed since the one before."""
        if self.prev is not None and self.prev.grey.shape == frame.grey.shape:
            changed = _changed(self.prev, frame, self.options.pixel_change)
            self._history = (self._history + [_cells(changed)])[-_HISTORY:]
            live = _grown(np.sum(self._history, axis=0) >= _LIVE)
            self._keep = None
            if 0 < live.mean() <= _INSET:
                h, w = changed.shape
                self._keep = np.repeat(np.repeat(~live, _CELL, axis=0), _CELL, axis=1)[:h, :w]
            self.moved = self._count(changed) >= self.options.changed_pixels
        else:
            self._history, self._keep, self.moved = [], None, True
        self.shifted = shift(self.prev, frame) if self.prev is not None else 255.0
        self.prev = frame

    def reshaped(self, a: Look, b: Look, everywhere: bool = False) -> bool:
        """Whether `b` shows shapes that `a` does not (text, lines), outside the parts that keep
        moving unless `everywhere`."""
        if a.grey.shape != b.grey.shape:
            return True
        changed = _changed(a, b, self.options.pixel_change)
        count = int(np.count_nonzero(changed)) if everywhere else self._count(changed)
        return count >= self.options.changed_pixels

    def differs(self, a: Look, b: Look, threshold: float) -> bool:
        """Whether `b` is a new picture after `a`: its colour shifted by more than `threshold` or it
        was reshaped; for re-encoding frames (threshold 0: every frame is new)."""
        return threshold <= 0 or shift(a, b) > threshold or self.reshaped(a, b)

    def _count(self, changed: np.ndarray) -> int:
        return int(np.count_nonzero(changed if self._keep is None else changed & self._keep))


def _changed(a: Look, b: Look, pixel_change: int) -> np.ndarray:
    """Pixels whose grey differs by more than `pixel_change`, beyond the picture's overall shift."""
    d = b.grey - a.grey
    # The overall brightening or darkening, estimated on a sparse grid of pixels.
    offset = int(np.median(d[::4, ::4]))
    return np.abs(d - offset) > pixel_change
