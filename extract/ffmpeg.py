"""Locate the ffmpeg binary: the one on PATH, else the one imageio-ffmpeg ships."""

import functools
import shutil
import subprocess

from .errors import ToolMissing


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of an ffmpeg binary, so `pip install` alone is enough."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    return _bundled() or _missing()


def _bundled() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def _missing() -> str:
    raise ToolMissing("ffmpeg not found: install it (apt install ffmpeg) or `pip install imageio-ffmpeg`")


@functools.lru_cache(maxsize=1)
def clip_ffmpeg() -> str | None:
    """An ffmpeg that can cut exact clips, whose `noise` filter takes expressions (FFmpeg 5.0 and
    later): the usual one, else imageio-ffmpeg's (Ubuntu 22.04 ships 4.4); None if neither can."""
    candidates = [shutil.which("ffmpeg"), _bundled()]
    for exe in dict.fromkeys(c for c in candidates if c):
        try:
            shown = subprocess.run([exe, "-hide_banner", "-h", "bsf=noise"], capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if b"-drop " in shown.stdout:
            return exe
    return None
