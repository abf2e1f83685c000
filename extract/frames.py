"""Sample frames at a fixed rate, decoded lazily in chunks, timed by presentation timestamps."""

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vsearch.configs import default
from vsearch.extract.errors import MediaError

from .clips import cut, locate, packet_times, skippable
from .machine import auto_readers, cpu_count, memory_bytes
from .native import captured_stderr, malloc_trim, reason
from .opening import FrameSpec, _open, decode_size, open_reader
from .prefetch import Prefetch
from .pyav_reader import rgb
from .scratch import scratch_dir
from .shots import ShotLog, signature
from .timing import frame_times, plan_samples
from .types import Frame

__all__ = ["FrameSpec", "FrameStream", "center_crop", "fit"]

# Frames are decoded with at least this many pixels on their short side, whatever size the image
# model takes: the change measure (extract/change.py) looks at the whole decoded frame, and slide
# text ~3% of the picture high stays a few pixels tall there. Every preset model takes 224 or more.
LOOK_SIDE = 224


def center_crop(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Crop the middle `width`x`height` of an (..., H, W, C) array."""
    h, w = pixels.shape[-3], pixels.shape[-2]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    return pixels[..., top : top + height, left : left + width, :]


def fit(pixels: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """A picture resized and centre-cropped (or stretched) as frames are for the model that wants `spec`."""
    height, width = pixels.shape[:2]
    w, h = decode_size(width, height, spec)
    if (w, h) != (width, height):
        from PIL import Image

        pixels = np.asarray(Image.fromarray(pixels).resize((w, h), Image.BILINEAR))
    return center_crop(pixels, spec.width, spec.height)


def looking(spec: FrameSpec | None) -> FrameSpec | None:
    """The size frames are decoded at for a model that wants `spec`: aspect kept, the short side
    at least LOOK_SIDE, so that only a centre crop (or, for small or stretched specs, a resize)
    remains to do for the model."""
    if spec is None:
        return None
    return FrameSpec(max(spec.width, LOOK_SIDE), max(spec.height, LOOK_SIDE), "cover")


class FrameStream:
    """The sampled frames of one video, decoded lazily in chunks so decoded frames stay bounded.

    Each chunk is decoded from a stream-copied clip of its stretch of the video (`clips`), so a
    reader holds one chunk's packets rather than the rest of the file; a chunk that cannot be
    clipped exactly is decoded from the whole file. With `readers` > 1, that many decoders work
    on alternate chunks in threads (decord releases the GIL), each a chunk ahead, and chunks are
    still yielded in order; 0 picks the number for this machine (`auto_readers`). `clips=False`
    decodes every chunk from the whole file. Chunks decoded from the whole file by decord (codecs
    not clipped) have no cuts found in them: decord hands over only the wanted frames.
    """

    def __init__(self, path: Path, fps: float, spec: FrameSpec | None = None, chunk: int = default("extract.chunk"),
                 threads: int = 0, readers: int = 1, clips: bool = True, shots: bool = False):
        self.path = path
        # With `shots`, the signature of every frame decoded frame by frame (clips, PyAV) is
        # noted, and `shot_log.shots()` finds the cuts once the stream is read.
        self.shot_log = ShotLog() if shots else None
        self.spec = spec
        self.chunk = chunk
        self.threads = threads
        self._decoded = looking(spec)
        self._reader, self._source, self._tmp = open_reader(path, self._decoded, threads)
        self._log_shots(self._reader)
        self._starts, self.duration = frame_times(self._reader)
        self.plan = plan_samples(self._starts, self.duration, fps)
        self._size = self._reader[0].shape[:2] if len(self.plan) else (0, 0)
        self._reader.seek(0)
        # Clips are cut for decord; a PyAV reader seeks in the file itself.
        self._pyav = getattr(self._reader, "pyav", False)
        self._listing = packet_times(self._source, len(self._reader)) if clips and not self._pyav else None
        self._clips = scratch_dir() if self._listing else None
        self._clipped: list[int] = []  # chunks decoded from a clip (list.append is thread-safe)
        parts = math.ceil(len(self.plan) / chunk)
        if readers <= 0:
            held = self._source.stat().st_size
            if self._listing:  # a clip spans a chunk plus the keyframe interval before it
                held = held * min(1.0, 2 / max(1, parts))
            readers = auto_readers(cpu_count(), int(held), memory_bytes())
        self.readers = max(1, min(readers, parts))

    def __len__(self) -> int:
        return len(self.plan)

    @property
    def clipped(self) -> int:
        """Chunks decoded so far from a clip rather than the whole file."""
        return len(self._clipped)

    def __iter__(self) -> Iterator[list[Frame]]:
        parts = [self.plan[lo : lo + self.chunk] for lo in range(0, len(self.plan), self.chunk)]
        if self.readers == 1:
            yield from self._lane(0, parts)
            return
        with contextlib.ExitStack() as lanes_open:
            # Every lane starts now: a reader waiting for its first turn would leave the others idle.
            lanes = [lanes_open.enter_context(Prefetch(self._lane(k, parts[k :: self.readers]), 1))
                     for k in range(self.readers)]
            for i in range(len(parts)):
                yield next(lanes[i % self.readers])

    def _lane(self, k: int, parts: list) -> Iterator[list[Frame]]:
        """One decoder's share of the chunks; lane 0 falls back on the reader already open."""
        whole = self._reader if k == 0 else None
        for n, part in enumerate(parts):
            wanted = sorted({index for _, index in part})
            batch = self._from_clip(wanted, f"{k}-{n}.mkv") if self._clips else None
            if batch is None:
                if whole is None:
                    whole = self._open_whole()
                batch = self._decode(whole, wanted)
                # After get_batch decord's decoder thread spins on a core until the next seek,
                # starving the encoder, and holds the packets it read ahead. seek(0) parks it and
                # drops them; seeking to the next frame instead would misplace VFR video, since
                # decord seeks there by index / average fps.
                whole.seek(0)
            else:
                self._clipped.append(n)
            malloc_trim()
            row = {index: i for i, index in enumerate(wanted)}
            yield [Frame(slot, float(self._starts[index]), self._fit(batch[row[index]]), batch[row[index]])
                   for slot, index in part]

    def _fit(self, pixels: np.ndarray) -> np.ndarray:
        if self.spec is None:
            return pixels
        if self._decoded == self.spec:
            return center_crop(pixels, self.spec.width, self.spec.height)
        return fit(pixels, self.spec)

    def _from_clip(self, wanted: list[int], name: str) -> np.ndarray | None:
        """The wanted frames decoded from a clip of their stretch; None where no exact clip was made.

        PyAV reads the clip straight through (a clip is short: no seek, no miss), so every frame
        decoded passes by once and the shot log sees them all."""
        import av

        clip = Path(self._clips.name) / name
        try:
            keep = self._listing.pts[wanted]
            clip_pts = cut(self._source, float(self._starts[wanted[0]]), float(self._starts[wanted[-1]]), clip,
                           skippable(self._listing, wanted[0], wanted[-1], keep))
            at = None if clip_pts is None else locate(keep, clip_pts)
            if at is None:
                return None
            rows = {int(p): i for i, p in enumerate(at)}
            pixels: list[np.ndarray | None] = [None] * len(at)
            signatures = []
            shown = 0
            with captured_stderr(), open(clip, "rb") as file:
                try:
                    with av.open(file) as container:
                        stream = container.streams.video[0]
                        stream.thread_type = "AUTO"
                        stream.codec_context.thread_count = self.threads
                        for frame in container.decode(stream):
                            if shown in rows:
                                pixels[rows[shown]] = rgb(frame, self._size[::-1])
                            if self.shot_log is not None:
                                signatures.append(signature(frame))
                            shown += 1
                except Exception:  # the whole file gets its turn, and its error is the one reported
                    return None
            if shown != len(clip_pts):
                return None
            if self.shot_log is not None:
                self.shot_log.add_run(self._starts[np.searchsorted(self._listing.pts, clip_pts)], np.stack(signatures))
            return np.stack(pixels)
        finally:
            clip.unlink(missing_ok=True)

    def _log_shots(self, reader) -> None:
        if getattr(reader, "pyav", False):
            reader.shot_log = self.shot_log

    def _open_whole(self):
        with captured_stderr() as native:
            try:
                reader = _open(self._source, self._decoded, self.threads, self._pyav)
                self._log_shots(reader)
                return reader
            except Exception as exc:
                raise MediaError(f"{self.path}: cannot open another decoder ({reason(exc, native)}); "
                                 "set extract.decode_readers = 1") from None

    def _decode(self, reader, wanted: list[int]) -> np.ndarray:
        with captured_stderr() as native:
            try:
                return reader.get_batch(wanted).asnumpy()
            except Exception as exc:
                raise MediaError(
                    f"{self.path}: decoding failed near {self._starts[wanted[0]]:.1f}s "
                    f"({reason(exc, native)}); the file is probably truncated or corrupt: re-encode it"
                ) from None
