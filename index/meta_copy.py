"""A copy of a Milvus Lite index's meta row in its folder, read without opening the index.

A command must know an index's models before it loads them, and Milvus Lite lets one process
hold its folder at a time: reading the row means opening the index once to choose the models and
again to search, while loading models inside one open would hold the folder (an ONNX export on
first use takes minutes) and so block an ingest. The copy lets a query open the index once. Every
write of the row writes the copy after it; a reader that opens the index still compares the two
(pipeline/session.py), so a copy left behind by a writer that died in between costs one reload, never a wrong
answer. Deleting or copying the folder takes the copy with it.
"""

import json
import os
from pathlib import Path


def _path(config) -> Path:
    return Path(config.uri) / f"vsearch.{config.collection}.meta.json"


def keep(config, info: dict) -> None:
    """Write the copy after the row was written: atomically, and none at all where it cannot be
    written, since an old one would mislead."""
    if not config.is_lite:
        return
    path = _path(config)
    part = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        part.write_text(json.dumps(info), "utf-8")
        os.replace(part, path)
    except (OSError, TypeError, ValueError):
        for stale in (part, path):
            try:
                stale.unlink(missing_ok=True)
            except OSError:
                pass


def read(config) -> dict | None:
    """The copy of the meta row, or None where there is none (a remote server, an index made
    before copies were kept, one whose folder could not take it)."""
    if not config.is_lite:
        return None
    try:
        info = json.loads(_path(config).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None
