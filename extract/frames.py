"""Sample frames at a fixed rate with decord, timed by presentation timestamps."""

import contextlib
import ctypes
import ctypes.util
import functools
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MediaError
from .types import Frame

# Timestamps beyond this are containers' "no value" markers, not times (seen in AVI).
_MAX_SANE_SECONDS = 1e7


@dataclass(frozen=True)
class FrameSpec:
    """Pixel size a model wants: `cover` keeps aspect and centre-crops, `stretch` squashes."""

    width: int
    height: int
    resize: str = "cover"


def _malloc_trim() -> None:
    """Hand freed heap memory back to the OS (glibc only; elsewhere nothing to do).

    FFmpeg's decoder threads free multi-megabyte 1080p frames into glibc's per-thread arenas,
    which keep them: a 1080p decode sat at 1.1-1.4 GB RSS between chunks, and under 120 MB with a
    trim per chunk.
    """
    trim = _libc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _libc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def _captured_stderr():
    """Collect what native decoders print on fd 2, so errors stay one line."""
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        lines: list[str] = []
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def _reason(exc: Exception, native: list[str]) -> str:
    """The most telling line among decord's exception and ffmpeg's log."""
    for line in native:
        if "@ 0x" in line and "]" in line:
            return line.split("]", 1)[1].strip()
    text = str(exc).strip().splitlines()
    last = text[-1] if text else type(exc).__name__
    if last.startswith("Error reading"):  # decord's catch-all when ffmpeg finds no stream it knows
        return "unknown format or damaged file"
    return last.split("Error:", 1)[-1].strip() or "unreadable"


def check_file(path: Path) -> None:
    """Fail with a one-line MediaError unless `path` is a non-empty file."""
    if not path.exists():
        raise MediaError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise MediaError(f"{path}: is a folder; use `vsearch ingest` for folders")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file (0 bytes); re-copy or re-encode it")


def _open(path: Path, spec: FrameSpec | None, threads: int):
    import decord

    decord.logging.set_level(decord.logging.QUIET)
    probe = decord.VideoReader(str(path), num_threads=1)
    if spec is None or len(probe) == 0:
        return probe
    height, width = probe[0].shape[:2]
    del probe
    w, h = decode_size(width, height, spec)
    return decord.VideoReader(str(path), width=w, height=h, num_threads=threads)


def _remux(path: Path, folder: str) -> Path:
    """Copy the video stream into a fresh MP4, which gives decord the frame index it needs."""
    import subprocess

    from .ffmpeg import ffmpeg_exe

    out = Path(folder) / "remux.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(path),
         "-map", "0:v:0", "-c", "copy", str(out)],
        check=True, capture_output=True, timeout=3600,
    )
    return out


def open_reader(path: Path, spec: FrameSpec | None = None, threads: int = 0):
    """Open a decord reader at the size `spec` asks for; returns (reader, temp folder or None).

    Containers without a frame count (VFR Matroska, some streams) are remuxed once to MP4.
    """
    import subprocess

    check_file(path)
    tmp = None
    with _captured_stderr() as native:
        try:
            reader = _open(path, spec, threads)
        except Exception as exc:  # decord raises RuntimeError or its own DECORDError
            first = exc
            tmp = tempfile.TemporaryDirectory(prefix="vsearch-")
            try:
                reader = _open(_remux(path, tmp.name), spec, threads)
            except (Exception, subprocess.SubprocessError):
                tmp.cleanup()
                raise MediaError(
                    f"{path}: not a readable video ({_reason(first, native)}); "
                    "if it is truncated or corrupt, re-download or re-encode it"
                ) from None
    if len(reader) == 0:
        raise MediaError(f"{path}: no decodable video frames (audio-only or empty stream)")
    return reader, tmp


def decode_size(width: int, height: int, spec: FrameSpec) -> tuple[int, int]:
    """Size to ask the decoder for, so only a centre crop remains to do."""
    if spec.resize == "stretch" or width <= 0 or height <= 0:
        return spec.width, spec.height
    scale = max(spec.width / width, spec.height / height)
    return max(spec.width, round(width * scale)), max(spec.height, round(height * scale))


def center_crop(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Crop the middle `width`x`height` of an (..., H, W, C) array."""
    h, w = pixels.shape[-3], pixels.shape[-2]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    return pixels[..., top : top + height, left : left + width, :]


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
    """(slot, frame index) pairs: slot k shows the frame on screen at (k + 0.5) / fps."""
    if len(starts) == 0 or end <= 0:
        return []
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]
    slots = int(math.ceil(end * fps - 1e-9))
    times = (np.arange(slots) + 0.5) / fps
    times = times[times < end]
    pos = np.searchsorted(sorted_starts, times, side="right") - 1
    pos = np.clip(pos, 0, len(order) - 1)
    return [(int(k), int(order[p])) for k, p in enumerate(pos)]


class FrameStream:
    """The sampled frames of one video, decoded lazily in chunks so memory stays bounded."""

    def __init__(self, path: Path, fps: float, spec: FrameSpec | None = None, chunk: int = 32, threads: int = 0):
        self.path = path
        self.spec = spec
        self.chunk = chunk
        self._reader, self._tmp = open_reader(path, spec, threads)
        self._starts, self.duration = _times(self._reader)
        self.plan = plan_samples(self._starts, self.duration, fps)

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self) -> Iterator[list[Frame]]:
        for lo in range(0, len(self.plan), self.chunk):
            part = self.plan[lo : lo + self.chunk]
            wanted = sorted({index for _, index in part})
            with _captured_stderr() as native:
                try:
                    batch = self._reader.get_batch(wanted).asnumpy()
                except Exception as exc:
                    raise MediaError(
                        f"{self.path}: decoding failed near {self._starts[wanted[0]]:.1f}s "
                        f"({_reason(exc, native)}); the file is probably truncated or corrupt: re-encode it"
                    ) from None
            if lo + self.chunk < len(self.plan):
                # After get_batch decord's decoder thread spins on a core until the next seek,
                # starving the encoder. seek(0) parks it; seeking to the next frame instead would
                # misplace VFR video, since decord seeks there by index / average fps.
                self._reader.seek(0)
            _malloc_trim()
            if self.spec is not None:
                batch = center_crop(batch, self.spec.width, self.spec.height)
            row = {index: i for i, index in enumerate(wanted)}
            yield [Frame(slot, float(self._starts[index]), batch[row[index]]) for slot, index in part]


def _times(reader) -> tuple[np.ndarray, float]:
    """Clean start times of every frame and the time the last one leaves the screen."""
    stamps = reader.get_frame_timestamp(range(len(reader)))
    avg_fps = reader.get_avg_fps()
    starts = clean_timestamps(stamps[:, 0], avg_fps)
    tail = float(stamps[-1, 1] - stamps[-1, 0])
    if not 0 < tail < 10:
        tail = 1.0 / avg_fps if avg_fps > 0 else 0.04
    return starts, float(starts.max()) + tail
