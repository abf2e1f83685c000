"""Clips of a video as MP4 files a player or a browser opens, cut where asked to the frame.

A stream copy can only start on a keyframe, which shows as seconds of frozen picture before the
wanted start; the clip is re-encoded instead (H.264 and AAC), with ffmpeg's accurate seek on its
input, so its first frame is the one shown at `start`.
"""

from pathlib import Path

from vsearch.extract.errors import MediaError

from .ffmpeg import last_line, run_ffmpeg
from .paths import display


def clip_bounds(start: float, end: float, duration: float, longest: float, pad: float = 0.0) -> tuple[float, float]:
    """`start`-`end` padded by `pad` and kept inside the video; a one-line MediaError for bounds
    that are negative, reversed, past the end or longer than `longest` seconds."""
    if not (start >= 0 and end > start):
        raise MediaError(f"clip {start:g}-{end:g} s: start must be at least 0 and end after start")
    if duration > 0 and start >= duration:
        raise MediaError(f"clip {start:g}-{end:g} s: the video is only {duration:g} s long")
    if end - start + 2 * pad > longest:
        raise MediaError(f"clip {start:g}-{end:g} s is longer than {longest:g} s (serve.max_clip)")
    start, end = max(0.0, start - pad), end + pad
    return start, min(end, duration) if duration > 0 else end


def export_clip(video: Path, start: float, end: float, out: Path, name: str = "") -> Path:
    """Write seconds `start`-`end` of `video` (called `name` in messages) to `out` as an MP4 whose
    first frame is at `start`; on failure `out` is left as it is, for its maker to remove."""
    done = run_ffmpeg(["-y", "-ss", f"{start:.3f}", "-i", str(video), "-t", f"{end - start:.3f}",
                       "-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                       "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
                       "-f", "mp4", str(out)], timeout=3600)
    if done is None or done.returncode != 0:
        raise MediaError(f"{display(name or str(video))}: cannot cut a clip ({last_line(done)})")
    return out
