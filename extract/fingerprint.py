"""Change detection: size and mtime first (no reading), then a sampled content hash."""

import hashlib
from pathlib import Path

_SAMPLE = 64 * 1024


def quick_stat(path: Path) -> str:
    """Size and modification time: equal means unchanged without reading the file."""
    return stat_mark(path.stat())


def stat_mark(st) -> str:
    """`quick_stat` of a stat result (an open file's fstat too)."""
    return f"{st.st_size}:{st.st_mtime_ns}"


def video_mark(fingerprint: str) -> str:
    """The video's own `quick_stat` a fingerprint starts with."""
    return fingerprint.split("|", 1)[0].split("#", 1)[0]


def content_hash(path: Path) -> str:
    """SHA-256 of the head, middle and tail of a file, plus its size."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
            fh.seek(offset)
            digest.update(fh.read(_SAMPLE))
    return digest.hexdigest()[:32]


def quick_fingerprint(video: Path, subtitles: list[Path]) -> str:
    """Stat-only identity of a video and its subtitle files; a prefix of `fingerprint`."""
    subs = "".join(f"|{s.name}={quick_stat(s)}" for s in sorted(subtitles))
    return f"{quick_stat(video)}{subs}#"


def _contents(video: Path, subtitles: list[Path]) -> str:
    # Subtitle files are small: hashed whole, so an edit anywhere in one is seen.
    subs = "".join(f"|{s.name}={hashlib.sha256(s.read_bytes()).hexdigest()[:16]}" for s in sorted(subtitles))
    return content_hash(video) + subs


def fingerprint(video: Path, subtitles: list[Path]) -> str:
    """Identity of a video and its subtitle files as they are now: stat, then content."""
    return quick_fingerprint(video, subtitles) + _contents(video, subtitles)


def same_content(old: str, video: Path, subtitles: list[Path]) -> bool:
    """True when only modification times moved (touched, copied): same bytes, same subtitle files."""
    return old.partition("#")[2] == _contents(video, subtitles)
