"""A supercut: moments of one or more videos joined into one MP4, each cut to the frame.

Every moment is an input of one ffmpeg run with its own accurate seek (`-ss` before `-i`, then
re-encoded), so each starts on the frame shown at its start, as `vsearch clip` does. Moments of
other sizes, frame rates or without sound are made like the first one's video (letterboxed, its
frame rate, silence where there is no audio) before the concat filter joins them.
"""

from collections.abc import Sequence
from pathlib import Path

from vsearch.extract.errors import MediaError

from .audio import has_audio
from .ffmpeg import last_line, run_ffmpeg
from .paths import display
from .probe import frame_rate, picture_size

# Where a video states no frame rate or size, the supercut's frames are made at these.
FALLBACK_RATE = 25.0
FALLBACK_SIZE = (1280, 720)


def join_moments(moments: Sequence[tuple[Path, float, float]], out: Path, name: str = "") -> Path:
    """Write (video, start, end) moments, in order, to the MP4 `out` (called `name` in messages); a
    one-line MediaError when ffmpeg cannot, `out` left as it is for its maker to remove."""
    if not moments:
        raise MediaError("no moments to join")
    first = moments[0][0]
    size = picture_size(first)
    width, height = [n // 2 * 2 for n in (size if all(size) else FALLBACK_SIZE)]
    rate = frame_rate(first) or FALLBACK_RATE
    inputs: list[str] = []
    graph: list[str] = []
    count = 0
    for i, (video, start, end) in enumerate(moments):
        seconds = f"{end - start:.3f}"
        inputs += ["-ss", f"{start:.3f}", "-t", seconds, "-i", str(video)]
        picture = count
        count += 1
        if has_audio(video):
            sound = f"{picture}:a:0"
        else:
            inputs += ["-f", "lavfi", "-t", seconds, "-i", "anullsrc=r=48000:cl=stereo"]
            sound = f"{count}:a:0"
            count += 1
        graph.append(f"[{picture}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
                     f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={rate:.6f},format=yuv420p,"
                     f"setpts=PTS-STARTPTS[v{i}]")
        graph.append(f"[{sound}]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
                     f"asetpts=PTS-STARTPTS[a{i}]")
    pairs = "".join(f"[v{i}][a{i}]" for i in range(len(moments)))
    graph.append(f"{pairs}concat=n={len(moments)}:v=1:a=1[v][a]")
    done = run_ffmpeg(["-y", *inputs, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]",
                       "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", "-b:a", "128k",
                       "-movflags", "+faststart", "-f", "mp4", str(out)], timeout=3600)
    if done is None or done.returncode != 0:
        raise MediaError(f"{display(name or str(out))}: cannot join the moments ({last_line(done)})")
    return out
