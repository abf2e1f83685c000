"""`vsearch ingest DIR`: an incremental, crash-safe, one-at-a-time job for cron."""

import fcntl
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from vsearch.configs import default
from vsearch.extract.errors import FileChanged, VsearchError
from vsearch.extract.fingerprint import same_content
from vsearch.extract.identity import identity
from vsearch.extract.paths import display
from vsearch.extract.scratch import sweep_scratch

from .session import store_opener
from .indexing import Indexing, backoff, video_suffixes
from .settings import Settings

__all__ = ["AlreadyRunning", "Outcome", "Summary", "backoff", "decide", "freshness", "ingest", "run_lock"]


@dataclass(frozen=True)
class Outcome:
    """What one run did with one video: indexed, skipped, failed, waiting, backoff or pruned."""

    path: str
    action: str
    seconds: float = 0.0
    frames: int = 0
    cues: int = 0
    error: str = ""
    warnings: tuple[str, ...] = ()
    encoded: int = 0


@dataclass
class Summary:
    """Totals of a run, the per-item problems found while walking, and the seconds until each
    video left to settle (modified within `settle` seconds) is old enough to be taken."""

    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    settle: int = 0
    settling: list[float] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(o.action for o in self.outcomes))

    @property
    def failed(self) -> int:
        return self.counts().get("failed", 0)

    def waiting_note(self) -> str:
        """For a person at a terminal: when the videos left to settle are taken and how to take
        them now ("" when none are). `cp *.mp4 lib/; vsearch ingest lib` otherwise indexes nothing
        without saying what to do."""
        if not self.settling:
            return ""
        they = "it is" if len(self.settling) == 1 else "they are"
        return (f"{len(self.settling)} waiting: modified in the last {self.settle} s (still being copied?); "
                f"{they} taken once unchanged for {self.settle} s (ingest.settle_seconds): run again in "
                f"{math.ceil(max(self.settling))} s, or now with --settle 0")


class AlreadyRunning(VsearchError):
    """Another ingest holds the lock; not an error for cron."""

    exit_code = 0


@contextmanager
def run_lock(home: Path) -> Iterator[None]:
    """One ingest at a time per index home. The kernel drops the lock when a run dies."""
    path = home / "ingest.lock"
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        where = "is a file, not a folder" if home.exists() and not home.is_dir() else f"cannot be written ({exc.strerror})"
        raise VsearchError(f"index folder {home} {where}: ingest needs a folder it can write "
                           "(--home or VSEARCH_HOME); searching works read-only") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(f"another ingest is running (pid {holder}); this run exits") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


ATTEMPT_NOTE = "ingest.attempt"


def died_on(home: Path) -> str:
    """The video the last run was indexing when it died (killed, out of memory, a decoder crash), or "".

    The note is consumed: indexing that video again writes a new one.
    """
    note = home / ATTEMPT_NOTE
    try:
        path = os.fsdecode(note.read_bytes())  # bytes: file names need not be UTF-8
    except OSError:
        return ""
    note.unlink(missing_ok=True)
    return path


@contextmanager
def attempting(home: Path, path: str) -> Iterator[None]:
    """Name the video being indexed in a note that only a run that dies leaves behind."""
    note = home / ATTEMPT_NOTE
    note.write_bytes(os.fsencode(path))
    try:
        yield
    finally:
        note.unlink(missing_ok=True)


def walk_videos(root: Path, extensions: list[str], problems: list[str], follow_links: bool = False) -> list[Path]:
    """Video files under `root`, following links once, out of it only with `follow_links`; what is skipped is noted."""
    wanted = video_suffixes(extensions)
    home = root.resolve()
    seen: set[tuple[int, int]] = set()
    found = []

    def unreadable(exc: OSError) -> None:
        problems.append(f"cannot read folder {exc.filename}: {exc.strerror}")

    def leaves(path: Path) -> bool:
        """Whether `path` is a link out of `root` not to follow; it is noted."""
        # A link out (`lib/all -> /`) would walk the whole machine, or index a file nobody put here.
        if follow_links or not path.is_symlink() or (target := path.resolve()).is_relative_to(home):
            return False
        problems.append(f"{display(str(path))}: a symlink to {display(str(target))}, outside {display(str(home))}; "
                        "skipped (ingest.follow_links = true follows it)")
        return True

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            problems.append(f"symlink loop at {folder}: skipped")
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not leaves(Path(folder, d)))
        for name in sorted(files):
            # Dot-files are partial downloads and rsync temporaries.
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in wanted:
                link = Path(folder, name)
                if not link.exists():  # os.walk lists a dangling symlink among the files
                    problems.append(f"{display(str(link))}: dangling symlink (to {display(os.readlink(link))}); skipped")
                    continue
                if not leaves(link):
                    found.append(link.resolve())
    return sorted(set(found))


def shard_of(path: str, shards: int) -> int:
    """Which of `shards` machines owns a video: stable, by its id."""
    from vsearch.index import video_id

    return video_id(path) % shards


def decide(record, quick: str, now: float) -> str:
    """"skip" an unchanged indexed video, "backoff" a failing one not yet due, else "index"."""
    if record is None:
        return "index"
    if record.state == "done" and not record.error and record.fingerprint.startswith(quick):
        return "skip"
    if record.error and (record.info or {}).get("failed") == quick and now < record.retry_at:
        return "backoff"
    return "index"


def completing(record, options, now: float, retry: tuple[int, int]) -> dict[str, str]:
    """The senses an unchanged video lacks and is due to be given (index/senses.py): at once when
    their settings changed since the last try (another speech model named, a sense turned on),
    else after the failure backoff (`retry`: ingest.retry_base, ingest.retry_max)."""
    from vsearch.index.senses import attempt_key, lacking

    info = record.info or {}
    missing = lacking(info, options)
    if not missing or info.get("attempt") != attempt_key(options):
        return missing
    tries = info.get("completions", 0) + 1
    return missing if now >= record.indexed_at + backoff(tries, *retry) else {}


_RETRY = (default("ingest.retry_base"), default("ingest.retry_max"))


def freshness(record, files, now: float, options=None, retry: tuple[int, int] = _RETRY) -> tuple[str, str]:
    """The one judgement of whether a video needs indexing: (action, quick fingerprint).

    Actions are those of `decide`, plus "touched": unchanged content under new modification
    times, skipped once the record remembers the new times; and, given the index options,
    "complete": unchanged, but a sense to add (`completing`) without encoding frames again.
    """
    quick = files.quick()
    action = decide(record, quick, now)
    if (action == "index" and record is not None and record.state == "done" and not record.error
            and same_content(record.fingerprint, files.video, files.subtitles)):
        return "touched", quick
    if action == "skip" and options is not None and completing(record, options, now, retry):
        return "complete", quick
    return action, quick


def ingest(
    settings: Settings, root: Path, prune: bool = False, shard: tuple[int, int] = (0, 1),
    report: Callable[[Outcome], None] | None = None, progress_for: Callable | None = None,
) -> Summary:
    """Bring the index in line with the videos under `root`; a video modified within
    ingest.settle_seconds may still be being copied, and is left for a later run."""
    from vsearch.index import ModelError, StoreError, VideoRecord, kept_subs, video_id

    began = time.monotonic()
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise VsearchError(f"{root}: not a folder; give the folder of videos to ingest")
    summary = Summary(settle=settings["ingest.settle_seconds"])
    open_store = store_opener(settings)
    with run_lock(settings.home):
        sweep_scratch()
        videos = [v for v in walk_videos(root, settings["ingest.extensions"], summary.problems,
                                         settings["ingest.follow_links"])
                  if shard_of(str(v), shard[1]) == shard[0]]
        crashed = died_on(settings.home)
        if crashed in map(str, videos):
            # Tried last, so a video that kills the process (a decoder crash, memory) cannot starve the rest.
            videos.sort(key=lambda v: str(v) == crashed)
            summary.problems.append(f"the last run died while indexing {crashed}; it is tried last")
        with open_store() as store:
            meta = store.check()
            known = {r.path: r for r in store.videos()}
        run = Indexing(settings, meta)
        options = run.options

        def note(outcome: Outcome) -> None:
            summary.outcomes.append(outcome)
            if report:
                report(outcome)

        now = time.time()
        for video in videos:
            path = str(video)
            record = known.get(path)
            files = run.prepare(video, kept_subs(record))
            try:
                age = now - max(os.stat(p).st_mtime for p in [video, *files.subtitles])
                if age < summary.settle:
                    summary.settling.append(summary.settle - age)
                    note(Outcome(path, "waiting", error=(
                        f"modified {max(0, age):.0f} s ago; indexed once it is {summary.settle} s old, by a later run "
                        "(ingest.settle_seconds)")))
                    continue
                action, quick = freshness(record, files, now, options,
                                          (settings["ingest.retry_base"], settings["ingest.retry_max"]))
                if action == "skip" and (record.info or {}).get("file") not in (None, identity(video)):
                    action = "touched"  # the same bytes moved into place (mv, cp -p): served once noted
            except OSError as exc:
                note(Outcome(path, "waiting", error=f"vanished or unreadable ({exc.strerror})"))
                continue
            if action == "backoff":
                note(Outcome(path, "backoff", error=record.error))
                continue
            if action in ("skip", "touched"):
                if action == "touched":  # same content: remember the new times and inode only
                    with open_store() as store:
                        store.put_video(replace(record, fingerprint=quick + record.fingerprint.partition("#")[2],
                                                info={**(record.info or {}), "file": identity(video)}))
                note(Outcome(path, "skipped", frames=record.frames, cues=record.cues))
                continue
            try:
                run.models()  # loaded before the attempt note: a model that cannot load is no video's crash
                with attempting(settings.home, path):
                    result = run.index(files, progress_for(path) if progress_for else None,
                                       reuse_frames=action == "complete")
                note(Outcome(path, "completed" if action == "complete" else "indexed", result.seconds,
                             result.record.frames, result.record.cues, warnings=tuple(result.warnings),
                             encoded=result.encoded))
            except FileChanged as exc:
                note(Outcome(path, "waiting", error=str(exc)))
            except VsearchError as exc:
                if isinstance(exc, (StoreError, ModelError)):
                    raise  # the index or the model is unusable: every other video would fail too
                run.failed(record or VideoRecord(video_id(path), path), quick, str(exc))
                note(Outcome(path, "failed", error=str(exc)))
        gone = [r for p, r in known.items() if p.startswith(str(root) + os.sep)
                and not os.path.exists(p) and shard_of(p, shard[1]) == shard[0]]
        for rec in gone:
            if prune:
                with open_store() as store:
                    store.remove(rec.id)
            note(Outcome(rec.path, "pruned" if prune else "gone"))
    summary.seconds = time.monotonic() - began
    return summary
