"""Which file an indexed path names: the one indexed, or something put in its place since.

The index stores a video's resolved path, so a symlink found there later was not there at
indexing; and a file moved aside and replaced (by a link to /etc/passwd, by another user's
video) keeps the path but not the device and inode. What is served or cut from an indexed
path is opened once, without following a final symlink, checked against what was recorded,
and then read through that open descriptor, so the path cannot be swapped in between.
"""

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vsearch.extract.errors import MediaError

from .fingerprint import stat_mark, video_mark


class FileGone(MediaError):
    """An indexed video's file is no longer there."""


class NotIndexedFile(MediaError):
    """The file at an indexed path is not the one that was indexed."""

    exit_code = 3


CHANGED = "changed since it was indexed; run vsearch ingest"


def identity(path: Path) -> dict[str, int]:
    """The device and inode of a file, as a record keeps them."""
    st = os.stat(path)
    return {"dev": st.st_dev, "ino": st.st_ino}


@dataclass(frozen=True)
class Pinned:
    """An indexed file held open as `fd`; `path` opens that same file, here and in the ffmpeg this
    process runs, whatever the indexed path names meanwhile."""

    fd: int
    path: str


def _held_path(fd: int, path: str) -> str:
    # /proc/PID/fd/N opens the file N has open (the same user's processes may); without /proc
    # (macOS) the path itself, checked just now.
    held = f"/proc/{os.getpid()}/fd/{fd}"
    return held if os.path.exists(held) else path


def open_checked(path: str, fingerprint: str, known: dict | None = None) -> Pinned:
    """The file at `path`, opened without following a final symlink and checked to be the regular
    file indexed (size and mtime from its fingerprint, device and inode where recorded); the
    caller closes `fd`. FileGone or NotIndexedFile otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO put in its place must not hang the open
    except FileNotFoundError:
        raise FileGone(f"{path}: no longer there; run vsearch ingest --prune") from None
    except OSError:  # ELOOP: a symlink now; EACCES, ENXIO (a socket): not what was indexed
        raise NotIndexedFile(f"{path}: {CHANGED}") from None
    try:
        st = os.fstat(fd)
        same = (stat.S_ISREG(st.st_mode) and stat_mark(st) == video_mark(fingerprint)
                and (not known or (st.st_dev, st.st_ino) == (known.get("dev"), known.get("ino"))))
        if not same:
            raise NotIndexedFile(f"{path}: {CHANGED}")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return Pinned(fd, _held_path(fd, path))


@contextlib.contextmanager
def pinned(path: str, fingerprint: str, known: dict | None = None) -> Iterator[Pinned]:
    """`open_checked` for the length of a block."""
    held = open_checked(path, fingerprint, known)
    try:
        yield held
    finally:
        os.close(held.fd)
