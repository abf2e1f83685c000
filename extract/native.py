"""What native decoders leave behind: lines on fd 2, and freed memory glibc keeps."""

import contextlib
import ctypes
import ctypes.util
import functools
import os
import tempfile
import threading


def malloc_trim() -> None:
    """Hand freed heap memory back to the OS (glibc only; elsewhere nothing to do).

    FFmpeg's decoder threads free multi-megabyte 1080p frames into glibc's per-thread arenas,
    which keep them: without a trim per chunk a 1080p decode holds a gigabyte it no longer uses
    (docs/decoding.md). Model loaders leave the like behind (ONNX Runtime, measuring a model's
    levels; CTranslate2, converting float16 weights to int8).
    """
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def few_arenas() -> None:
    """Let threads started from now on share two malloc arenas rather than take one each (glibc
    makes up to eight per core): an ingest's decoder, speech, screen-text and encoder threads each
    kept their own peak otherwise (docs/performance.md, "Memory of the default models together")."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, 2)


@contextlib.contextmanager
def trimming(every: float = 1.0):
    """Trim freed heap memory every `every` seconds while inside, from a thread of its own.

    An ingest's threads free memory all the time (a frame batch's activations, each step's
    growing speech-decoding state, decoded pictures) in holes glibc keeps; together they held
    several hundred MB above what was in use (docs/performance.md, "Memory of the default
    models together"). A trim costs milliseconds.
    """
    stop = threading.Event()

    def trim() -> None:
        while not stop.wait(every):
            malloc_trim()

    thread = threading.Thread(target=trim, name="vsearch-trim", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@functools.cache
def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_capture_lock = threading.Lock()
_capture: dict = {"users": 0}


@contextlib.contextmanager
def captured_stderr():
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


def reason(exc: Exception, native: list[str]) -> str:
    """The most telling line among decord's exception and ffmpeg's log."""
    for line in native:
        if "@ 0x" in line and "]" in line:
            return line.split("]", 1)[1].strip()
    if isinstance(getattr(exc, "strerror", None), str):  # PyAV's errors: "Invalid data found ..."
        return exc.strerror
    text = str(exc).strip().splitlines()
    last = text[-1] if text else type(exc).__name__
    if last.startswith("Error reading"):  # decord's catch-all when ffmpeg finds no stream it knows
        return "unknown format or damaged file"
    if "cannot find video stream" in last:
        return "no video stream; audio only?"
    return last.split("Error:", 1)[-1].strip() or "unreadable"
