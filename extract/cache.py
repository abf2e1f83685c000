"""Cues computed from a video's content (a transcript, screen text), kept by content and reader.

Re-indexing with another image model, or because a subtitle file changed, reuses them instead
of transcribing or reading the screen again. Keys are the video's sampled content hash plus
what read it, so a renamed or touched file hits and an edited one misses.
"""

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from .fingerprint import content_hash
from .types import Cue

_VERSION = 1


class CueCache:
    """A folder of JSON files, one per (video content, reader); None as folder keeps nothing."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def key(self, video: Path, kind: str, *reader: str) -> str:
        """Name of the entry for `video` as read by `kind` with `reader`'s settings."""
        how = hashlib.sha256("\0".join((str(_VERSION), *reader)).encode("utf-8", "surrogateescape"))
        return f"{kind}-{content_hash(video)}-{how.hexdigest()[:16]}"

    def get(self, key: str) -> tuple[list[Cue], dict] | None:
        """The cues and notes stored under `key`, or None."""
        if self.folder is None:
            return None
        try:
            data = json.loads((self.folder / f"{key}.json").read_text("utf-8"))
            cues = [Cue(**{**c, "words": tuple(tuple(w) for w in c["words"])}) for c in data["cues"]]
            return cues, data["notes"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: computed again

    def put(self, key: str, cues: list[Cue], notes: dict) -> None:
        """Store cues; a folder that cannot be written only costs the next run the work again."""
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"cues": [asdict(c) for c in cues], "notes": notes}, fh, ensure_ascii=False)
            os.replace(tmp, self.folder / f"{key}.json")
        except OSError:
            pass
