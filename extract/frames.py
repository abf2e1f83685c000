"""Sample frames at a fixed rate with decord, timed by presentation timestamps."""

import contextlib
import ctypes
import ctypes.util
import functools
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clips import cut, locate, packet_times, skippable
from .errors import MediaError
from .paths import is_clean
from .prefetch import Prefetch
from .scratch import scratch_dir
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


_capture_lock = threading.Lock()
_capture: dict = {"users": 0}


@contextlib.contextmanager
def _captured_stderr():
    """Collect what native decoders print on fd 2, so errors stay one line.

    Parallel decoders share one redirection: the first to enter points fd 2 at a file, the
    last to leave restores it, and each sees what was written while it was inside. The readers
    all decode the same video, so a neighbour's line is as telling as one's own.
    """
    with _capture_lock:
        if _capture["users"] == 0:
            _capture["saved"] = os.dup(2)
            _capture["sink"] = tempfile.TemporaryFile(mode="w+b")
            os.dup2(_capture["sink"].fileno(), 2)
        _capture["users"] += 1
        sink = _capture["sink"]
        start = os.fstat(sink.fileno()).st_size
    lines: list[str] = []
    try:
        yield lines
    finally:
        with _capture_lock:
            size = os.fstat(sink.fileno()).st_size
            # pread leaves the offset alone: fd 2 shares it and is still being written to.
            lines.extend(os.pread(sink.fileno(), size - start, start).decode("utf-8", "replace").splitlines())
            _capture["users"] -= 1
            if _capture["users"] == 0:
                os.dup2(_capture["saved"], 2)
                os.close(_capture["saved"])
                sink.close()


def _reason(exc: Exception, native: list[str]) -> str:
    """The most telling line among decord's exception and ffmpeg's log."""
    for line in native:
        if "@ 0x" in line and "]" in line:
            return line.split("]", 1)[1].strip()
    text = str(exc).strip().splitlines()
    last = text[-1] if text else type(exc).__name__
    if last.startswith("Error reading"):  # decord's catch-all when ffmpeg finds no stream it knows
        return "unknown format or damaged file"
    if "cannot find video stream" in last:
        return "no video stream; audio only?"
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


def _copy_video(path: Path, out: Path, before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> Path:
    """Stream-copy the first video stream of `path` into `out`, with extra input and output options."""
    import subprocess

    from .ffmpeg import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *before, "-i", str(path),
         "-map", "0:v:0", "-c", "copy", *after, str(out)],
        check=True, capture_output=True, timeout=3600,
    )
    return out


def is_avi(path: Path) -> bool:
    """Whether `path` is an AVI file (RIFF of form "AVI "), whatever its name says."""
    with path.open("rb") as f:
        head = f.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"AVI "


def _from_avi(path: Path, folder: str) -> Path:
    """The video of an AVI as Matroska with presentation times, which decord seeks in correctly.

    AVI stores frames in decoding order without presentation times, and DivX/Xvid pack each
    B-frame with the frame after it: decord's seeks there land seconds off (Megamind.avi's frame
    107 came back as frame 9). In Matroska, with times made from the frame rate, they land right
    and the file can be clipped. H.264 in AVI stays wrong: times made in decoding order are not
    the display order.
    """
    return _copy_video(path, Path(folder) / "remux.mkv", ("-fflags", "+genpts"))


def open_reader(path: Path, spec: FrameSpec | None = None, threads: int = 0):
    """Open a decord reader at the size `spec` asks for; returns (reader, file opened, temp folder or None).

    AVI is remuxed once to Matroska (`_from_avi`), and containers without a frame count (VFR
    Matroska, some streams) to MP4.
    """
    import subprocess

    check_file(path)
    # Absolute, so that FFmpeg never reads "name:" at the start of a relative path as a protocol.
    original = path.absolute()
    source, tmp = original, scratch_dir()
    try:
        if not is_clean(str(original)):  # decord takes only UTF-8 names: give it a link with one
            source = original = Path(tmp.name) / "video"
            original.symlink_to(path.absolute())
        if is_avi(original):
            try:
                source = _from_avi(original, tmp.name)
            except (OSError, subprocess.SubprocessError):  # no video stream, a full disk: decord reads the AVI
                source = original
        with _captured_stderr() as native:
            try:
                reader = _open(source, spec, threads)
            except Exception as exc:  # decord raises RuntimeError or its own DECORDError
                try:  # an MP4 copy gives decord the frame count some containers lack (VFR Matroska)
                    source = _copy_video(original, Path(tmp.name) / "remux.mp4")
                    reader = _open(source, spec, threads)
                except (Exception, subprocess.SubprocessError):
                    raise MediaError(
                        f"{path}: not a readable video ({_reason(exc, native)}); "
                        "if it is truncated or corrupt, re-download or re-encode it"
                    ) from None
        if len(reader) == 0:
            raise MediaError(f"{path}: no decodable video frames (audio-only or empty stream)")
    except BaseException:
        tmp.cleanup()
        raise
    if source == path.absolute():
        tmp.cleanup()
        tmp = None
    return reader, source, tmp


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


def cpu_count() -> int:
    """CPUs this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def memory_bytes() -> int:
    """Physical memory of this machine (0 where the OS won't say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def auto_readers(cores: int, file_bytes: int = 0, memory: int = 0) -> int:
    """Parallel decoders worth running on `cores` CPUs, each holding up to `file_bytes` of video.

    On an H100 machine's 16 cores one reader decoded a 720p film at 52-70 frames/s and eight
    at 116-145; on 2 cores a second reader only takes CPU from the encoder. While decoding, a
    decord reader reads the rest of its file into memory (it queues packets faster than it
    decodes them): a clip's worth, or the whole video where chunks cannot be clipped, so
    readers are also capped at a quarter of `memory` per `file_bytes`.
    """
    wanted = 1 if cores < 4 else min(8, cores // 2)
    if file_bytes > 0 and memory > 0:
        wanted = min(wanted, max(1, memory // 4 // file_bytes))
    return wanted


class FrameStream:
    """The sampled frames of one video, decoded lazily in chunks so decoded frames stay bounded.

    Each chunk is decoded from a stream-copied clip of its stretch of the video (`clips`), so a
    reader holds one chunk's packets rather than the rest of the file; a chunk that cannot be
    clipped exactly is decoded from the whole file. With `readers` > 1, that many decoders work
    on alternate chunks in threads (decord releases the GIL), each a chunk ahead, and chunks are
    still yielded in order; 0 picks the number for this machine (`auto_readers`). `clips=False`
    decodes every chunk from the whole file.
    """

    def __init__(self, path: Path, fps: float, spec: FrameSpec | None = None, chunk: int = 32,
                 threads: int = 0, readers: int = 1, clips: bool = True):
        self.path = path
        self.spec = spec
        self.chunk = chunk
        self.threads = threads
        self._reader, self._source, self._tmp = open_reader(path, spec, threads)
        self._starts, self.duration = _times(self._reader)
        self.plan = plan_samples(self._starts, self.duration, fps)
        self._size = self._reader[0].shape[:2] if len(self.plan) else (0, 0)
        self._reader.seek(0)
        self._listing = packet_times(self._source, len(self._reader)) if clips else None
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
            _malloc_trim()
            if self.spec is not None:
                batch = center_crop(batch, self.spec.width, self.spec.height)
            row = {index: i for i, index in enumerate(wanted)}
            yield [Frame(slot, float(self._starts[index]), batch[row[index]]) for slot, index in part]

    def _from_clip(self, wanted: list[int], name: str) -> np.ndarray | None:
        """The wanted frames decoded from a clip of their stretch; None where no exact clip was made."""
        import decord

        clip = Path(self._clips.name) / name
        try:
            keep = self._listing.pts[wanted]
            clip_pts = cut(self._source, float(self._starts[wanted[0]]), float(self._starts[wanted[-1]]), clip,
                           skippable(self._listing, wanted[0], wanted[-1], keep))
            at = None if clip_pts is None else locate(keep, clip_pts)
            if at is None:
                return None
            height, width = self._size
            with _captured_stderr():
                try:
                    reader = decord.VideoReader(str(clip), width=width, height=height, num_threads=self.threads)
                    if len(reader) != len(clip_pts):
                        return None
                    if self._listing.seekable:
                        return reader.get_batch(at.tolist()).asnumpy()
                    # Read the clip straight through instead: a clip is short, and no seek, no miss.
                    keep, frames = set(at.tolist()), []
                    for i in range(int(at[-1]) + 1):
                        frame = reader.next()
                        if i in keep:
                            frames.append(frame.asnumpy())
                    return np.stack(frames)
                except Exception:  # the whole file gets its turn, and its error is the one reported
                    return None
        finally:
            clip.unlink(missing_ok=True)

    def _open_whole(self):
        with _captured_stderr() as native:
            try:
                return _open(self._source, self.spec, self.threads)
            except Exception as exc:
                raise MediaError(f"{self.path}: cannot open another decoder ({_reason(exc, native)}); "
                                 "set extract.decode_readers = 1") from None

    def _decode(self, reader, wanted: list[int]) -> np.ndarray:
        with _captured_stderr() as native:
            try:
                return reader.get_batch(wanted).asnumpy()
            except Exception as exc:
                raise MediaError(
                    f"{self.path}: decoding failed near {self._starts[wanted[0]]:.1f}s "
                    f"({_reason(exc, native)}); the file is probably truncated or corrupt: re-encode it"
                ) from None


def _times(reader) -> tuple[np.ndarray, float]:
    """Clean start times of every frame and the time the last one leaves the screen."""
    stamps = reader.get_frame_timestamp(range(len(reader)))
    avg_fps = reader.get_avg_fps()
    starts = clean_timestamps(stamps[:, 0], avg_fps)
    tail = float(stamps[-1, 1] - stamps[-1, 0])
    if not 0 < tail < 10:
        tail = 1.0 / avg_fps if avg_fps > 0 else 0.04
    return starts, float(starts.max()) + tail
