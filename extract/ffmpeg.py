"""Locate the ffmpeg binary: the one on PATH, else the one imageio-ffmpeg ships."""

import functools
import shutil
import subprocess
from collections.abc import Iterator

from .errors import ToolMissing


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


@functools.lru_cache(maxsize=1)
def clip_ffmpeg() -> str | None:
    """An ffmpeg that can cut exact clips, whose `noise` filter takes expressions (FFmpeg 5.0 and
    later): the usual one, else imageio-ffmpeg's (Ubuntu 22.04 ships 4.4); None if neither can."""
    for exe in _found():
        try:
            shown = subprocess.run([exe, "-hide_banner", "-h", "bsf=noise"], capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if b"-drop " in shown.stdout:
            return exe
    return None
