"""Temp folders named after the process that made them, so one a killed run left can be swept.

A run stopped by SIGKILL or the out-of-memory killer cannot delete its temp folders, and for an
AVI one holds a copy of the whole video. The folder's name carries the host and process id, and a
later run deletes the folders of this host's processes that no longer exist.
"""

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

_PREFIX = "vsearch-"


def _host() -> str:
    # Hosts that share a temp folder (containers) may reuse each other's process ids.
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A new temp folder, deleted with the object, named `vsearch-PID@HOST-random`."""
    return tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}@{_host()}-")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    return True


def sweep_scratch() -> list[Path]:
    """Delete the temp folders of this host's vsearch processes that have died; returns them."""
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return []
    swept = []
    # tempfile ends the name with 8 of [a-z0-9_]
    ours = re.compile(rf"{_PREFIX}(\d+)@{re.escape(_host())}-[a-z0-9_]+")
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        found = ours.fullmatch(folder.name)
        if found and folder.is_dir() and not _running(int(found[1])):
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(folder)
    return swept
