"""jieba's dictionary as an SQLite file that opens at once, for the processes that query the index.

vsearch cuts every query's Chinese and Japanese words with jieba (index/tokens.py), and jieba loads
its whole prefix dictionary (349k words and all their prefixes) before cutting a first sentence:
0.8 s of each cold `vsearch find`. Cutting a query looks up only fragments of the query itself, so a
querying process looks them up in a copy of that dictionary kept in an SQLite table instead. The
copy is made once per jieba version from jieba's own `gen_pfdict`, so every count and prefix, and
with them every cut, is the one jieba's own dictionary gives (tests/test_jieba_dict.py).
"""

import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

log = logging.getLogger("vsearch")
# Fragments looked up are remembered, up to this many: a server's queries repeat them.
_REMEMBERED = 200_000


class Frequencies(Mapping):
    """jieba's FREQ (word or prefix -> count, 0 for a prefix only), read from the SQLite copy."""

    def __init__(self, path: Path):
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()  # `vsearch serve` cuts queries on its threads
        self._seen: dict[str, int | None] = {}
        self.total = int(self._one("SELECT n FROM total"))
        self._size = int(self._one("SELECT count(*) FROM freq"))

    def _one(self, sql: str, *args):
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return row[0] if row else None

    def _count(self, word: str) -> int | None:
        if word in self._seen:
            return self._seen[word]
        if len(self._seen) >= _REMEMBERED:
            self._seen.clear()
        count = self._seen[word] = self._one("SELECT n FROM freq WHERE word = ?", word)
        return count

    def __getitem__(self, word: str) -> int:
        count = self._count(word)
        if count is None:
            raise KeyError(word)
        return count

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._count(word) is not None

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            words = [w for (w,) in self._db.execute("SELECT word FROM freq")]
        return iter(words)

    def __len__(self) -> int:
        return self._size


def _folder() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vsearch"))


def _build(path: Path, tokenizer) -> None:
    """Write jieba's prefix dictionary to `path`, atomically: a reader never sees half of it."""
    freq, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    os.close(fd)
    try:
        with sqlite3.connect(part) as db:
            db.execute("CREATE TABLE freq (word TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
            db.execute("CREATE TABLE total (n INTEGER NOT NULL)")
            db.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
            db.execute("INSERT INTO total VALUES (?)", (total,))
        db.close()
        os.replace(part, path)
    finally:
        Path(part).unlink(missing_ok=True)


def _opened(path: Path, tokenizer) -> Frequencies:
    """The copy at `path`, made (again, if it is damaged) from `tokenizer`'s dictionary."""
    if path.exists():
        try:
            return Frequencies(path)
        except sqlite3.DatabaseError:
            pass
    _build(path, tokenizer)
    return Frequencies(path)


def install(folder: Path | None = None, tokenizer=None) -> bool:
    """Give jieba's default tokenizer (or `tokenizer`) the SQLite dictionary, made first if
    missing; False, and jieba left to load its own as usual, where it already did, uses another
    dictionary, or the copy cannot be made or read."""
    import jieba

    dt = tokenizer or jieba.dt
    if dt.initialized or dt.dictionary != jieba.DEFAULT_DICT:
        return False
    path = (folder or _folder()) / f"jieba-{jieba.__version__}.sqlite"
    try:
        freq = _opened(path, dt)
    except (OSError, sqlite3.Error) as exc:
        log.debug(f"jieba's dictionary stays in memory: {exc}")
        return False
    with dt.lock:
        if dt.initialized:
            return False
        dt.FREQ, dt.total, dt.initialized = freq, freq.total, True
    return True
