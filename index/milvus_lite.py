"""The one adapter around Milvus Lite and the Milvus client: connecting (with retries while
another process holds a Milvus Lite folder), reading a read-only folder through a snapshot,
freeing the folder on close, and the numpy search path of index/lite/.

A Milvus server or cluster (`uri` with a scheme) is the same client without the folder work.
"""

import logging
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from vsearch.configs import default
from vsearch.extract.errors import VsearchError
from vsearch.extract.scratch import scratch_dir

from . import jieba_dict, server

log = logging.getLogger("vsearch")
_warned = []


@dataclass(frozen=True)
class StoreConfig:
    """Where the index lives: a Milvus Lite path or a server URI, and a collection prefix."""

    uri: str
    token: str = ""
    collection: str = default("collection")
    busy_timeout: float = default("busy_timeout")
    fast_lite: bool = default("fast_lite")

    @property
    def is_lite(self) -> bool:
        return "://" not in self.uri

    @property
    def where(self) -> str:
        """The index as messages name it: a Milvus Lite folder, or a server and its collection prefix."""
        return self.uri if self.is_lite else f"{self.uri} ({self.collection})"


class StoreError(VsearchError):
    """The index cannot be opened, read or written."""


class IndexBusy(StoreError):
    """Another process holds the Milvus Lite file."""

    exit_code = 75  # EX_TEMPFAIL: cron wrappers may retry


class NoIndex(StoreError):
    """A command that only reads found no index where it was told to look."""


class Connection:
    """A MilvusClient on `config.uri`; `opened` is the Milvus Lite folder actually open (a
    snapshot's, for a read-only index). Close it to let other processes open the folder."""

    def __init__(self, config, write: bool):
        self.config = config
        self.write = write
        self.opened = config.uri
        self.version = ""  # a server's, as it says it
        self._scratch = None
        _quiet()
        if config.is_lite:
            _fast_path(config.fast_lite)
        if not write:  # a writer cuts whole cues, for which jieba's own dictionary in memory pays
            jieba_dict.install()
        self.client = self._connect()

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.config.is_lite:
                from milvus_lite.server_manager import server_manager_instance

                # Closing the client leaves Milvus Lite's in-process server holding the folder.
                server_manager_instance.release_server(self.opened)
            if self._scratch is not None:
                self._scratch.cleanup()

    def _connect(self):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        if not self.config.is_lite:
            return self._server()
        path = self._lite_path(Path(self.config.uri))
        deadline = time.monotonic() + self.config.busy_timeout
        while True:
            try:
                return MilvusClient(str(path))
            except MilvusException:
                try:
                    busy = lock_held(path)
                except OSError as exc:
                    raise StoreError(f"cannot open index {path} ({exc.strerror})") from None
                if not busy:
                    raise StoreError(
                        f"cannot open index {path}; check free disk space and permissions"
                    ) from None
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"index {path} is busy: another vsearch process has it open (Milvus Lite "
                        "allows one); retry later, or move it to a Milvus server (`vsearch copy`, docs/scale.md) "
                        "and use --uri"
                    ) from None
                time.sleep(0.2 + random.random() * 0.3)

    def _server(self):
        """A client of the server at `config.uri`, once it answered which version it is and that
        vsearch can use it (index/server.py)."""
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        uri = self.config.uri
        try:
            client = MilvusClient(uri=uri, token=self.config.token, timeout=10)
            version = client.get_server_version()
        except MilvusException:
            if server.listening(uri):
                raise StoreError(f"Milvus at {uri} did not let vsearch in: check --token (VSEARCH_TOKEN, "
                                 "user:password or an API key) and that the URI is a Milvus server's") from None
            raise StoreError(f"cannot reach Milvus at {uri}; start the server or fix --uri") from None
        problem = server.refusal(version, uri)
        if problem:
            client.close()
            raise StoreError(problem)
        self.version = version
        return client

    def _lite_path(self, path: Path) -> Path:
        """The Milvus Lite folder to open: the index itself, or a snapshot of a read-only one."""
        if path.parent.exists() and not path.parent.is_dir():
            raise StoreError(f"{path.parent} is a file, not a folder: point --home (VSEARCH_HOME) at a folder")
        if path.exists() and not path.is_dir():
            raise StoreError(f"cannot open index {path}: it is a file, not a Milvus Lite folder; "
                             "point --uri at a folder ending in .db")
        if not self.write:
            if not path.exists():
                raise NoIndex(f"no index at {path}: nothing is indexed there yet "
                              "(run `vsearch index VIDEO`, or check --home and --uri)")
            if writable(path) is None:
                return path
            self._scratch = scratch_dir()
            try:
                path = snapshot(path, Path(self._scratch.name))
            except OSError as exc:
                self._scratch.cleanup()
                raise StoreError(f"cannot read index {path} ({exc.strerror})") from None
            self.opened = str(path)
            return path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the home: its owner's alone
        except OSError as exc:
            raise StoreError(f"cannot create index folder {path.parent} ({exc.strerror})") from None
        problem = writable(path if path.exists() else path.parent)
        if problem is not None:
            raise StoreError(f"index {path} cannot be written ({problem.strerror}): indexing needs "
                             "write access there; searching and listing work without it")
        return path


def _quiet() -> None:
    """These libraries log tracebacks and banners on stderr; our errors say it in one line."""
    import pymilvus  # noqa: F401  (its import sets its loggers' levels: quiet them after it)

    for noisy in ("milvus_lite", "pymilvus", "grpc"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def _fast_path(on: bool) -> None:
    """Install index/lite/'s searches when `on` (saying once where they cannot be), else Milvus Lite's own."""
    import jieba  # Milvus Lite tokenises with it; it sets its own logger to DEBUG on import

    from . import lite

    jieba.setLogLevel(logging.WARNING)
    if not on:
        lite.uninstall()
        return
    if not lite.install() and not _warned:
        import milvus_lite

        _warned.append(True)
        log.warning(f"vsearch: warning: Milvus Lite {milvus_lite.__version__} is not a version vsearch's fast "
                    f"search mirrors ({', '.join(lite.MIRRORED)}): searches run at Milvus Lite's own speed, "
                    f"about 5x slower at 100k stored seconds; install milvus-lite=={lite.MIRRORED[-1]}, "
                    "or set fast_lite = false to silence this")


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
    for folder, _, files in os.walk(index):
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
