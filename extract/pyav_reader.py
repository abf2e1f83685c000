"""Frames through PyAV for video streams decord's own FFmpeg cannot decode (AV1 above all).

decord's wheels bundle an FFmpeg without an AV1 decoder; PyAV's bundles dav1d. `PyAVReader`
answers the calls `FrameStream` makes of a decord reader, with the same presentation timestamps
(the packets' own, in display order) and the same chunked, seek-then-decode access, so frames,
slots and chunking do not depend on which decoder read a file.
"""

from pathlib import Path

import numpy as np

from .shots import signature


def rgb(frame, size: tuple[int, int] | None = None) -> np.ndarray:
    """A PyAV frame as RGB pixels, scaled by swscale to `size` (width, height) unless it is that size."""
    if size is None or size == (frame.width, frame.height):
        return frame.to_ndarray(format="rgb24")
    return frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()


class _Batch:
    """decord's NDArray, as far as FrameStream uses it."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels

    def asnumpy(self) -> np.ndarray:
        return self.pixels


class PyAVReader:
    """The part of decord's VideoReader FrameStream uses: length, frame times, batches. Frames
    come at the stream's `width` x `height` unless `size` (width, height) asks for another."""

    pyav = True

    def __init__(self, path: Path, threads: int = 0):
        import av

        self._file = open(path, "rb")  # a file object: PyAV takes names as UTF-8 only
        try:
            self._container = av.open(self._file)
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
            self._stream.codec_context.thread_count = threads
            stamps = sorted(p.pts for p in self._container.demux(self._stream) if p.pts is not None and p.size)
        except BaseException:
            self.close()
            raise
        self._pts = np.array(stamps, dtype=np.int64)
        self._base = float(self._stream.time_base)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self._fps = float(rate) if rate else 0.0
        self.width, self.height = self._stream.codec_context.width, self._stream.codec_context.height
        self.size: tuple[int, int] | None = None
        # A ShotLog (extract/shots.py) that notes every frame a batch decodes, when set.
        self.shot_log = None

    def close(self) -> None:
        if getattr(self, "_container", None) is not None:
            self._container.close()
        if getattr(self, "_file", None) is not None:  # None of it when the file could not be opened
            self._file.close()

    def __del__(self):
        self.close()

    def __len__(self) -> int:
        return len(self._pts)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.get_batch([index]).asnumpy()[0]

    def get_avg_fps(self) -> float:
        return self._fps

    def get_frame_timestamp(self, indices) -> np.ndarray:
        """(start, end) seconds of each frame, as decord gives them."""
        idx = np.asarray(list(indices), dtype=np.int64)
        starts = self._pts * self._base
        step = 1.0 / self._fps if self._fps > 0 else 0.04
        ends = np.append(starts[1:], starts[-1] + step) if len(starts) else starts
        return np.stack([starts[idx], ends[idx]], axis=1)

    def seek(self, index: int) -> None:
        """Nothing to park: each batch seeks for itself."""

    def get_batch(self, indices: list[int]) -> _Batch:
        """The frames at `indices` (display order): one seek to the keyframe before the first,
        then decoding forward; a wanted time no frame came out at takes the frame shown then."""
        order = sorted(set(indices))
        wanted = self._pts[order]
        self._container.seek(int(wanted[0]), stream=self._stream, backward=True, any_frame=False)
        got: dict[int, np.ndarray] = {}
        shown = None
        j = 0
        times, signatures = [], []
        for frame in self._container.decode(self._stream):
            if frame.pts is None:
                continue
            if self.shot_log is not None:
                times.append(frame.pts * self._base)
                signatures.append(signature(frame))
            while j < len(wanted) and wanted[j] < frame.pts:
                got[order[j]] = self._pixels(shown if shown is not None else frame)
                j += 1
            if j < len(wanted) and wanted[j] == frame.pts:
                got[order[j]] = self._pixels(frame)
                j += 1
            if j == len(wanted):
                break
            shown = frame
        if j < len(wanted):
            if shown is None:
                raise ValueError(f"no frame decoded at or after {wanted[j] * self._base:.2f}s")
            for k in order[j:]:
                got[k] = self._pixels(shown)
        if signatures:
            self.shot_log.add_run(np.asarray(times), np.stack(signatures))
        return _Batch(np.stack([got[i] for i in indices]))

    def _pixels(self, frame) -> np.ndarray:
        return rgb(frame, self.size)
