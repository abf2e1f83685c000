"""Cheap change detection for files: size and mtime, then a sampled content hash."""

import hashlib
import os
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


def fingerprint(video: Path, subtitles: list[Path]) -> str:
    """Identity of a video and its subtitle files as they are now."""
    parts = [f"{quick_stat(video)}:{content_hash(video)}"]
    parts += [f"{os.path.basename(s)}={quick_stat(s)}" for s in sorted(subtitles)]
    return "|".join(parts)
