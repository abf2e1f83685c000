"""The one runner of the ffmpeg command line, and which ffmpeg binary it runs: the one on PATH,
else the one imageio-ffmpeg ships.

Streams, durations and codecs are read with PyAV (extract/probe.py, pyav_reader.py); the command
line remains for what only it does: stream-copy remuxes and clips with their packet listings
(clips.py), and subtitle streams converted to WebVTT (embedded.py).
"""

import functools
import shutil
import subprocess
from collections.abc import Iterator

from vsearch.extract.errors import ToolMissing


def _found() -> Iterator[str]:
    """ffmpeg binaries in order of preference, imageio-ffmpeg's looked up only when asked for."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        yield on_path
    try:
        import imageio_ffmpeg

        bundled = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return
    if bundled != on_path:
        yield bundled


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of an ffmpeg binary, so `pip install` alone is enough."""
    exe = next(_found(), None)
    if exe is None:
        raise ToolMissing("ffmpeg not found: install it (apt install ffmpeg) or `pip install imageio-ffmpeg`")
    return exe


def run_ffmpeg(args: list[str], timeout: float, exe: str | None = None) -> subprocess.CompletedProcess | None:
    """Run ffmpeg quietly (errors only, no stdin) with `args`; its output as bytes, or None when it
    could not be run at all or ran past `timeout` seconds."""
    try:
        return subprocess.run([exe or ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                              capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None


def last_line(done: subprocess.CompletedProcess | None) -> str:
    """What a failed run said last, for a one-line message."""
    if done is None:
        return "ffmpeg could not run"
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"ffmpeg exited with {done.returncode}"


@functools.lru_cache(maxsize=1)
def clip_ffmpeg() -> str | None:
    """An ffmpeg that can cut exact clips, whose `noise` filter takes expressions (FFmpeg 5.0 and
    later; Ubuntu 22.04 ships 4.4), preferring one whose `filter_units` can also list the pictures
    nothing depends on, to leave them out (FFmpeg 6.0 and later; Debian 12 ships 5.1): the usual
    one, else imageio-ffmpeg's; None if neither can cut."""
    fallback = None
    for exe in _found():
        if _option(exe, "noise", b"-drop "):
            if _option(exe, "filter_units", b"-discard "):
                return exe
            fallback = fallback or exe
    return fallback


def _option(exe: str, bsf: str, option: bytes) -> bool:
    shown = run_ffmpeg(["-h", f"bsf={bsf}"], 30, exe)
    return shown is not None and option in shown.stdout
