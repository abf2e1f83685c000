"""The files moments become: a clip, a supercut, a clip per result, an edit list.

Each is refused when it would replace one of its inputs or any indexed video, and written
through a temporary file renamed into place (extract/outputs.py); the videos read are the
files indexed, opened once and checked (extract/identity.py), never what a path names now.
"""

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.outputs import OutputIsInput, refuse_inputs, written
from vsearch.extract.paths import absolute, display

from .session import store_opener
from .settings import Settings


def guard(settings: Settings, out: Path, inputs: Iterable = ()) -> None:
    """An error (exit 2) when `out` is one of `inputs` or an indexed video, through any link;
    the index is read only when `out` already exists."""
    from vsearch.index import NoIndex, video_id

    refuse_inputs(out, inputs)
    mine = absolute(out)
    if any(mine == place or place in mine.parents for place in _own_places(settings)):
        raise OutputIsInput(f"{display(str(out))}: that is one of vsearch's own files (the index, its cache); "
                            "write to another file (-o)")
    try:
        st = os.stat(out)
    except OSError:
        return
    try:
        with store_opener(settings, write=False)() as store:
            if store.get_video(video_id(str(mine))) is not None:
                raise OutputIsInput(f"{display(str(out))}: that is an indexed video; write to another file (-o)")
            if st.st_nlink > 1:  # another name of an indexed video's file
                refuse_inputs(out, [r.path for r in store.videos()], "an indexed video")
    except NoIndex:
        return


def records_of(settings: Settings, segments) -> dict:
    """{video id: its record} for the segments' videos, as the index holds them now."""
    with store_opener(settings, write=False)() as store:
        return store.get_videos({s.video_id for s in segments})


def _own_places(settings: Settings) -> list[Path]:
    """The index folder (a local one), the cache and the runtime files vsearch keeps in its home."""
    from .background import LOG
    from .ingest import ATTEMPT_NOTE
    from .remote import NAME

    home = absolute(settings.home)
    uri = settings.store_config().uri
    index = [absolute(uri)] if "://" not in uri else []
    return index + [home / name for name in ("cache", NAME, LOG, ATTEMPT_NOTE, "serve.lock", "ingest.lock")]


@contextlib.contextmanager
def opened(records: dict, segments) -> Iterator[dict[str, str]]:
    """{indexed path: a path of the file indexed there, held open} for the segments' videos; an
    error naming one no longer indexed, gone, or replaced since it was indexed."""
    from vsearch.extract.identity import pinned

    with contextlib.ExitStack() as stack:
        held = {}
        for seg in segments:
            record = records.get(seg.video_id)
            if record is None:
                raise VsearchError(f"{display(seg.video)}: no longer indexed; run the find again")
            if seg.video not in held:
                held[seg.video] = stack.enter_context(pinned(record.path, record.fingerprint, record.file)).path
        yield held


def export(settings: Settings, video: str | Path, start: float, end: float, out: Path, pad: float = 0.0,
           source: str | None = None, inputs: Iterable = ()) -> tuple[Path, float, float]:
    """Cut seconds `start`-`end` of a video (indexed or not), padded by `pad`, into the MP4 `out`:
    (out, the seconds cut, kept inside the video). `source` is a path of the same file held open,
    where the caller checked it; `out` is none of `inputs` (the query's files)."""
    from vsearch.extract.export import clip_bounds, export_clip
    from vsearch.extract.opening import check_file
    from vsearch.extract.probe import declared_duration


    path = absolute(video)
    check_file(path)
    guard(settings, out, [path, *inputs])
    start, end = clip_bounds(start, end, declared_duration(Path(source or path)), settings["serve.max_clip"], pad)
    with written(out) as part:
        export_clip(Path(source or path), start, end, part, name=str(path))
    return out, start, end


def edit_list_text(records: dict, segments, suffix: str, name: str) -> str:
    """Segments as the text of an edit list (pipeline/timeline.py), each cut on its video's frames
    and with its sound where it has any, read from the files indexed (`records`: id -> record)."""
    from vsearch.extract.probe import declared_duration, frame_rate, soundtrack

    from .timeline import Sound, render

    with opened(records, segments) as held:
        videos = {v: (frame_rate(Path(p)), declared_duration(Path(p))) for v, p in held.items()}
        # The index keeps no audio facts (info["audio"] says only why sounds were not embedded), so
        # the file held open is asked.
        sounds = {v: Sound(*sound) for v, p in held.items() if (sound := soundtrack(Path(p))) is not None}
    return render(segments, suffix, name, videos, sounds)


def export_edit_list(settings: Settings, segments, out: Path, name: str, inputs: Iterable = ()) -> Path:
    """Write segments as an edit list in the format `out`'s suffix names."""
    guard(settings, out, inputs)
    text = edit_list_text(records_of(settings, segments), segments, out.suffix.lower(), name)
    with written(out) as part:
        part.write_text(text, "utf-8")
    return out


def supercut(settings: Settings, segments, out: Path) -> Path:
    """Join segments, in the order given, into the one MP4 `out`, each cut to the frame (extract/supercut.py)."""
    from vsearch.extract.supercut import join_moments

    guard(settings, out, [s.video for s in segments])
    with opened(records_of(settings, segments), segments) as held, written(out) as part:
        join_moments([(Path(held[s.video]), s.start, s.end) for s in segments], part, name=str(out))
    return out


def export_clips(settings: Settings, segments, folder: Path, inputs: Iterable = ()):
    """An MP4 per segment in `folder`: yields (file, None) for each written, (None, why) for each not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VsearchError(f"{display(str(folder))}: cannot create the clip folder ({exc.strerror})") from None
    inputs, records = list(inputs), records_of(settings, segments)
    for n, seg in enumerate(segments, 1):
        try:
            with opened(records, [seg]) as held:
                yield export(settings, seg.video, seg.start, seg.end, folder / clip_name(seg, n),
                             source=held[seg.video], inputs=inputs)[0], None
        except VsearchError as exc:
            yield None, str(exc)


def clip_name(seg, n: int) -> str:
    """A file name for a segment's clip made only of safe characters: `03-talk-723-761.mp4`."""
    return f"{n:02d}-{safe_stem(seg.video)}-{seg.start:g}-{seg.end:g}.mp4"


def safe_stem(path: str) -> str:
    """A file's stem in letters, digits, - and _ only (no dots: never hidden, never `..`), at most 60."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(path).stem)[:60].strip("_") or "clip"


def clip_into(folder: Path, record, start: float, end: float, longest: float) -> tuple[Path, float, float]:
    """Cut seconds `start`-`end` of an indexed video (the file indexed, held open) into a new MP4
    in `folder` named after it: (the file, the seconds cut). No file already there is replaced."""
    from vsearch.extract.export import clip_bounds, export_clip
    from vsearch.extract.identity import pinned

    start, end = clip_bounds(start, end, record.duration, longest)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VsearchError(f"{display(str(folder))}: cannot create the clip folder ({exc.strerror})") from None
    out = _claimed(folder, f"{safe_stem(record.path)}-{start:g}-{end:g}")
    try:
        with pinned(record.path, record.fingerprint, record.file) as held, written(out) as part:
            export_clip(Path(held.path), start, end, part, name=record.path)
    except BaseException:
        out.unlink(missing_ok=True)  # the empty file claimed above, nobody else's
        raise
    return out, start, end


def _claimed(folder: Path, stem: str) -> Path:
    """A new empty file `stem.mp4` made in `folder` (`stem-2.mp4` and on where the name is taken):
    O_EXCL, so an existing file or link there is never the one written."""
    for n in range(1, 1000):
        out = folder / (f"{stem}.mp4" if n == 1 else f"{stem}-{n}.mp4")
        try:
            os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return out
        except FileExistsError:
            continue
        except OSError as exc:
            raise VsearchError(f"{display(str(out))}: cannot write there ({exc.strerror})") from None
    raise VsearchError(f"{display(str(folder))}: 999 clips named {stem} already; remove some")
