"""The page's thumbnails: one per sampled second of an indexed video, in a cache of bounded size.

A thumbnail is asked for by video id and time; the time is taken to the slot the index sampled
it in (extract/timing.py), so a video has at most as many thumbnails as it has sampled seconds,
and the files together stay under `serve.thumb_cache_mb`, the least recently used going first.
"""

import hashlib
import math
import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path


def slot_of(t: float, fps: float, duration: float) -> int:
    """The sampled slot showing second `t` (0 <= t <= duration) of a video sampled at `fps`:
    slot k is the picture at (k + 0.5) / fps, for those before the end."""
    slots = max(1, math.ceil(duration * fps - 0.5 - 1e-9))
    return min(max(0, int(t * fps)), slots - 1)


def slot_time(slot: int, fps: float, duration: float) -> float:
    """When a slot's picture is shown; a video shorter than half a slot has its middle one."""
    t = (slot + 0.5) / fps
    return t if t < duration else duration / 2


class ThumbCache:
    """JPEG thumbnails on disk under `folder`, at most `limit` bytes together."""

    def __init__(self, folder: Path, limit: int):
        self.folder, self.limit = folder, limit
        self._lock = threading.Lock()
        self._sizes: OrderedDict[Path, int] = OrderedDict()
        # Oldest first, so what an earlier server made is the first to go.
        found = sorted(folder.glob("*/*.jpg"), key=lambda p: _mtime(p)) if folder.is_dir() else []
        for path in found:
            self._sizes[path] = _size(path)
        self._evict()

    def get(self, video_id: int, version: str, slot: int, make) -> bytes | None:
        """The thumbnail of a slot of a video as indexed (`version`: its fingerprint): cached, else
        `make()` (JPEG bytes, or None: no frame), kept."""
        mark = hashlib.sha256(version.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        # Digits and hex only; a video indexed again gets new names, its old ones age out.
        path = self.folder / str(video_id) / f"{slot}.{mark}.jpg"
        with self._lock:
            if path in self._sizes:
                self._sizes.move_to_end(path)
                try:
                    return path.read_bytes()
                except OSError:
                    self._sizes.pop(path, None)
        data = make()
        if data is None or len(data) > self.limit:
            return data
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f".{secrets.token_hex(6)}.part")
            part.write_bytes(data)
            part.replace(path)
        except OSError:  # a full or read-only disk: served all the same, kept nowhere
            return data
        with self._lock:
            self._sizes[path] = len(data)
            self._sizes.move_to_end(path)
            self._evict()
        return data

    def _evict(self) -> None:
        total = sum(self._sizes.values())
        while total > self.limit and self._sizes:
            path, size = self._sizes.popitem(last=False)
            total -= size
            try:
                path.unlink()
            except OSError:
                pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
