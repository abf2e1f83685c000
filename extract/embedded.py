"""Subtitle streams inside a container (mov_text, subrip, ass, webvtt): listed with PyAV,
converted to WebVTT by ffmpeg."""

from dataclasses import dataclass
from pathlib import Path

from vsearch.extract.errors import SubtitleError

from .ffmpeg import last_line, run_ffmpeg
from .subtitles import parse_subtitles
from .types import Cue

TEXT_CODECS = {"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"}


@dataclass(frozen=True)
class SubtitleStream:
    """One subtitle stream of a container: its absolute index, codec and language."""

    index: int
    codec: str
    lang: str


def subtitle_streams(path: Path) -> list[SubtitleStream]:
    """The subtitle streams of a video ("und", undetermined, is no language); none for a file
    PyAV cannot open, whose frames' decoder then says why."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh) as container:
            found = []
            for stream in container.streams.subtitles:
                lang = (stream.metadata.get("language") or "").lower()
                found.append(SubtitleStream(stream.index, stream.codec_context.codec.canonical_name,
                                            "" if lang == "und" else lang))
            return found
    except (OSError, av.FFmpegError, ValueError):
        return []


def read_embedded(path: Path) -> tuple[list[Cue], list[str]]:
    """Cues of every text subtitle stream, and a warning for each stream skipped."""
    cues: list[Cue] = []
    warnings: list[str] = []
    for stream in subtitle_streams(path):
        source = f"{path}#s{stream.index}"
        if stream.codec not in TEXT_CODECS:
            warnings.append(f"{source}: {stream.codec} subtitles are images; skipped")
            continue
        done = run_ffmpeg(["-i", str(path), "-map", f"0:{stream.index}", "-f", "webvtt", "pipe:1"], 600)
        if done is None or done.returncode != 0:
            warnings.append(f"{source}: cannot extract subtitles ({last_line(done)})")
            continue
        try:
            cues.extend(parse_subtitles(done.stdout.decode("utf-8", "replace"), "vtt", stream.lang, source))
        except SubtitleError as exc:
            warnings.append(str(exc))
    return cues, warnings
