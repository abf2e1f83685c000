"""Files vsearch writes: never one of their own inputs, and there whole or not at all.

A clip written over its source video (`clip a.mp4 0 1 -o a.mp4`), or a failed supercut that
removed its output when that output was one of the videos it read, lost a user's file. Every
output is refused when it is an input (by device and inode, so symlinks and hard links count),
written to a new temporary file beside it, and renamed into place only once complete: a failure
removes that temporary file and nothing else.
"""

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from vsearch.extract.errors import VsearchError

from .paths import display


class OutputIsInput(VsearchError):
    """An output file named one of the command's inputs."""

    exit_code = 2


def _inode(path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def refuse_inputs(out: Path, inputs: Iterable, what: str = "an input of this command") -> None:
    """An OutputIsInput when `out` is, through any link, one of `inputs` (paths)."""
    mine = _inode(out)
    if mine is None:
        return
    for path in inputs:
        if _inode(path) == mine:
            raise OutputIsInput(f"{display(str(out))}: that is {display(str(path))}, {what}; "
                                "write to another file (-o)")


@contextlib.contextmanager
def written(out: Path) -> Iterator[Path]:
    """A new, empty temporary file beside `out` to write; renamed to `out` when the block ends
    cleanly, removed when it raises. Writing through it never truncates `out` or a link's target."""
    if not out.name or out.name in (".", ".."):
        raise VsearchError(f"{display(str(out))}: give a file name to write (-o)")
    part = out.with_name(f".{secrets.token_hex(6)}.vsearch-part{out.suffix}")
    try:
        os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # EXCL: never someone's file
    except OSError as exc:
        raise VsearchError(f"{display(str(out))}: cannot write there ({exc.strerror})") from None
    try:
        yield part
        os.replace(part, out)  # a symlink at `out` is replaced, never written through
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise VsearchError(f"{display(str(out))}: cannot write it ({exc.strerror})") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
