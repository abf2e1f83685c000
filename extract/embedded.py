"""Subtitle streams inside a container (mov_text, subrip, ass, webvtt), read with ffmpeg."""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import SubtitleError
from .ffmpeg import ffmpeg_exe
from .subtitles import parse_subtitles
from .types import Cue

_STREAM = re.compile(r"Stream #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\(([A-Za-z-]+)\))?: Subtitle: (\w+)")
TEXT_CODECS = {"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"}


@dataclass(frozen=True)
class SubtitleStream:
    """One subtitle stream of a container: its absolute index, codec and language."""

    index: int
    codec: str
    lang: str


def parse_stream_list(ffmpeg_banner: str) -> list[SubtitleStream]:
    """Subtitle streams named in `ffmpeg -i` output; "und" means no language."""
    found = []
    for match in _STREAM.finditer(ffmpeg_banner):
        lang = (match.group(2) or "").lower()
        found.append(SubtitleStream(int(match.group(1)), match.group(3), "" if lang == "und" else lang))
    return found


def subtitle_streams(path: Path) -> list[SubtitleStream]:
    """List the subtitle streams of a video (ffprobe is not needed)."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, errors="replace", timeout=60,
    )
    return parse_stream_list(done.stderr)


def read_embedded(path: Path) -> tuple[list[Cue], list[str]]:
    """Cues of every text subtitle stream, and a warning for each stream skipped."""
    import ffmpeg

    cues: list[Cue] = []
    warnings: list[str] = []
    for stream in subtitle_streams(path):
        source = f"{path}#s{stream.index}"
        if stream.codec not in TEXT_CODECS:
            warnings.append(f"{source}: {stream.codec} subtitles are images; skipped")
            continue
        try:
            out, _ = (
                ffmpeg.input(str(path))
                .output("pipe:", map=f"0:{stream.index}", f="webvtt")
                .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True, quiet=True)
            )
            cues.extend(parse_subtitles(out.decode("utf-8", "replace"), "vtt", stream.lang, source))
        except ffmpeg.Error as exc:
            tail = exc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
            warnings.append(f"{source}: cannot extract subtitles ({tail[0]})")
        except SubtitleError as exc:
            warnings.append(str(exc))
    return cues, warnings
