"""A video and the subtitle files that belong to it, looked up once per run, and the cues they hold."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vsearch.extract.errors import SubtitleError
from vsearch.extract import Cue
from vsearch.extract.embedded import read_embedded
from vsearch.extract.fingerprint import quick_fingerprint
from vsearch.extract.subtitles import find_sidecars, read_subtitles

from .records import VideoRecord


@dataclass(frozen=True)
class VideoFiles:
    """A video (absolute, resolved), the subtitle files `--subs` gave it (`extra`) and those found
    beside it (`sidecars`, each with the language its name carries)."""

    video: Path
    extra: tuple[Path, ...] = ()
    sidecars: tuple[tuple[Path, str], ...] = ()

    @property
    def subtitles(self) -> list[Path]:
        """The subtitle files whose changes mean the video must be indexed again."""
        return [*self.extra, *(p for p, _ in self.sidecars)]

    def quick(self) -> str:
        """The video's and its subtitle files' stat-only fingerprint (extract/fingerprint.py)."""
        return quick_fingerprint(self.video, self.subtitles)


def video_files(video: Path, extra: Iterable[Path] = (), sidecar_subs: bool = True) -> VideoFiles:
    """Look up a video's subtitle files once: `extra` ones, and sidecars unless `sidecar_subs` is off."""
    video = video.resolve()
    return VideoFiles(video, tuple(Path(s).resolve() for s in extra),
                      tuple(find_sidecars(video)) if sidecar_subs else ())


def kept_subs(record: VideoRecord | None) -> list[Path]:
    """The subtitle files `--subs` gave a video before that still exist: part of its record."""
    named = ((record.info or {}).get("extra_subs", []) if record else [])
    return [Path(p) for p in named if Path(p).is_file()]


def collect_cues(files: VideoFiles, encoding: str, embedded: bool) -> tuple[list[Cue], list[Path], list[str]]:
    """(cues, the subtitle files read, warnings) from `--subs` files, sidecars and, with
    `embedded`, the container's text streams."""
    cues: list[Cue] = []
    read: list[Path] = []
    warnings: list[str] = []
    named = [(p, "") for p in files.extra]
    for sub, lang in named + [s for s in files.sidecars if s[0] not in set(files.extra)]:
        try:
            found, notes = read_subtitles(sub, lang, encoding)
            cues.extend(found)
            warnings.extend(notes)
            read.append(sub)
        except SubtitleError as exc:
            warnings.append(f"{exc}; video indexed without it")
    if embedded:
        found, problems = read_embedded(files.video)
        cues.extend(found)
        warnings.extend(problems)
    return cues, read, warnings
