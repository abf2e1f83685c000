"""Change detection: size and mtime first (no reading), then a sampled content hash."""

import hashlib
from pathlib import Path

_SAMPLE = 64 * 1024


def quick_stat(path: Path) -> str:
    """Size and modification time: equal means unchanged without reading the file."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


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


def fingerprint(video: Path, subtitles: list[Path]) -> str:
    """Identity of a video and its subtitle files as they are now."""
    return quick_fingerprint(video, subtitles) + content_hash(video)


def same_content(old: str, video: Path, subtitles: list[Path]) -> bool:
    """True when only the video's mtime moved (touched, copied): same bytes, same subtitles."""
    quick, _, digest = old.partition("#")
    subs_now = quick_fingerprint(video, subtitles).rstrip("#").split("|")[1:]
    return subs_now == quick.split("|")[1:] and digest == content_hash(video)
