"""What vsearch knows of a Milvus Lite folder on disk: its lock, a readable snapshot of a
read-only one, and what a killed run can leave half made."""

import os
import shutil
import tempfile
from pathlib import Path


def writable(folder: Path) -> OSError | None:
    """None when a file can be created in `folder`, else why not (read-only mount, permissions)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as exc:
        return exc


def snapshot(index: Path, into: Path) -> Path:
    """A private copy of a Milvus Lite folder that cannot be written, for reading it.

    Milvus Lite opens its folder for writing (a lock file, a log). Data and index files are never
    changed once written, so they are linked, not copied; the small files beside them are copied.
    """
    copy = into / "index.db"
    for folder, dirs, files in os.walk(index):
        here = copy / Path(folder).relative_to(index)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name == "LOCK":
                continue
            source = Path(folder, name)
            if name.endswith((".parquet", ".idx")):
                (here / name).symlink_to(source)
            else:
                shutil.copy2(source, here / name)
    return copy


def drop_half_created(index: Path, name: str) -> None:
    """Remove what a run killed inside Milvus Lite's create_collection left: the collection's
    folder without its schema.json, which Milvus Lite counts as no collection yet refuses to
    create again ("File exists"), on every later run."""
    folder = index / "collections" / name
    if folder.is_dir() and not (folder / "schema.json").exists():
        shutil.rmtree(folder)


def lock_held(path: Path) -> bool:
    """True when another process holds Milvus Lite's lock on `path`."""
    import fcntl

    lock = path / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
