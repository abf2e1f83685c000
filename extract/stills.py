"""Whole frames at given times, at a size text stays legible (frame encoders get centre crops)."""

from pathlib import Path

import numpy as np

# A wanted time this far past the last decoded frame is reached by seeking, not by decoding on.
_SEEK_AHEAD = 4.0


class Stills:
    """Frames of one video at increasing times, from one open PyAV container; a context manager."""

    def __init__(self, path: Path, max_side: int):
        import av

        self._fh = open(path, "rb")  # a file object: PyAV takes names as UTF-8, some are not
        try:
            self._container = av.open(self._fh)
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, IndexError, ValueError):
            self.close()
            raise
        self._stream.thread_type = "AUTO"
        self._max_side = max_side
        self._frames = None
        self._last = None  # (time, frame) most recently decoded

    def __enter__(self) -> "Stills":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
        self._fh.close()

    def _seek(self, t: float) -> None:
        base = self._stream.time_base
        self._container.seek(int(max(0.0, t - 1.0) / base), stream=self._stream, backward=True)
        self._frames = self._container.decode(self._stream)
        self._last = None

    def at(self, t: float) -> np.ndarray | None:
        """RGB pixels of the frame shown at `t` seconds (longest side at most max_side), or None."""
        import av

        if self._frames is None or self._last is None or t < self._last[0] or t > self._last[0] + _SEEK_AHEAD:
            self._seek(t)
        chosen = self._last[1] if self._last and self._last[0] <= t else None
        try:
            for frame in self._frames:
                if frame.time is None:
                    continue
                if frame.time > t + 1e-3 and chosen is not None:
                    self._last = (frame.time, frame)
                    break
                chosen = frame
                self._last = (frame.time, frame)
        except av.FFmpegError:
            pass
        if chosen is None:
            return None
        scale = min(1.0, self._max_side / max(chosen.width, chosen.height))
        width, height = max(2, round(chosen.width * scale) // 2 * 2), max(2, round(chosen.height * scale) // 2 * 2)
        return chosen.to_ndarray(format="rgb24", width=width, height=height)
