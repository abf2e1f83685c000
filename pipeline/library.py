"""What the library holds: its videos, forgetting some, one video's chapters and transcript."""

from collections.abc import Iterable
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import absolute, display
from vsearch.extract.types import Source

from .session import store_opener
from .settings import Settings


def videos(settings: Settings) -> list:
    """Every video record, for `list` and `status`. Where there is no index yet, none; NoIndex
    when its place was named (--home, --uri): a mistyped place should not look empty."""
    from vsearch.index import NoIndex

    try:
        with store_opener(settings, write=False)() as store:
            return store.videos()
    except NoIndex:
        if {"home", "uri"} & settings.explicit:
            raise
        return []


def remove_paths(settings: Settings, paths: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Forget videos (their files are untouched); returns (removed, not indexed)."""
    from vsearch.index import video_id

    removed, missing = [], []
    with store_opener(settings)() as store:
        for path in paths:
            vid = video_id(str(absolute(path)))
            if store.get_video(vid) is None:
                missing.append(path)
                continue
            store.remove(vid)
            removed.append(absolute(path))
    return removed, missing


def chapters(settings: Settings, video: str | Path) -> list:
    """An indexed video's chapters (query/chapters.py)."""
    from vsearch.index import video_id

    path = absolute(video)
    with store_opener(settings, write=False)() as store:
        record = store.get_video(video_id(str(path)))
        if record is None or record.state != "done":
            raise VsearchError(f"not indexed: {display(str(video))} (see `vsearch list`)")
        return chapters_in(store, record, settings["chapters.min_length"])


def chapters_in(store, record, min_length: float) -> list:
    """The chapters of an indexed video from an open index: from its slides, what is said in it
    (speech, else the subtitle track with most cues) and its frames; `min_length` 0 is a fortieth
    of the video, at least 10 s."""
    import numpy as np

    from vsearch.query.chapters import chapters as find_chapters

    slides = [(c.start, c.text) for c in store.cues_of(record.id, Source.OCR)]
    said = store.cue_vectors_of(record.id, Source.ASR)
    if not said:
        subtitles = store.cue_vectors_of(record.id, Source.SUBTITLE)
        track = max(sorted({c.lang for c, _ in subtitles}), default="",
                    key=lambda lang: sum(c.lang == lang for c, _ in subtitles))
        said = [(c, v) for c, v in subtitles if c.lang == track]
    _, times, vecs = store.frames_of(record.id)
    return find_chapters(record.duration, slides, [(c.start, c.text, v) for c, v in said],
                         (np.asarray(times), vecs), min_length or max(10.0, record.duration / 40),
                         cuts=record.cuts or ())


def transcript(settings: Settings, video: str | Path, source: str | None = None) -> tuple[list, str]:
    """(the cues of one source stored for an indexed video in time order, that source): "asr",
    "ocr" or "subtitle"; with no source, what was said: speech, or the subtitles where no speech
    was transcribed. An error when there are none."""
    from vsearch.index import video_id

    path = absolute(video)
    with store_opener(settings, write=False)() as store:
        record = store.get_video(video_id(str(path)))
        if record is None:
            raise VsearchError(f"not indexed: {display(str(video))} (see `vsearch list`)")
        return transcript_in(store, record, source)


def transcript_in(store, record, source: str | None = None) -> tuple[list, str]:
    """`transcript` of an indexed video from an open index."""
    for kind in [source] if source else [Source.ASR, Source.SUBTITLE]:
        cues = store.cues_of(record.id, kind)
        if cues:
            return cues, kind
    raise VsearchError(f"no {source or 'asr or subtitle'} cues for {display(record.path)}: "
                       "see `vsearch status` for why")


def copy_to(settings: Settings, target: str, token: str, collection: str | None, on_video=None):
    """Copy this index (settings' --home or --uri) to `target`: a server URI, a Milvus Lite
    folder ending in .db, or a vsearch home (its index.db); index/copying.py. Returns its Copied."""
    from vsearch.index import Store, StoreConfig, StoreError
    from vsearch.index.copying import copy_index

    from .settings import check_value

    source = settings.store_config()
    if collection is not None:
        check_value("collection", collection, "--to-collection")
    if "://" in target:
        uri = target
    else:
        place = absolute(target)
        uri = str(place if place.suffix == ".db" else place / "index.db")
    to = StoreConfig(uri, token, collection or source.collection, source.busy_timeout, source.fast_lite)
    if to.is_lite and source.is_lite:
        here, there = absolute(source.uri), absolute(uri)
        if here == there and to.collection == source.collection:
            raise VsearchError(f"{display(uri)} is the index being copied: name another place, or another --to-collection")
        if here != there and (here in there.parents or there in here.parents):
            raise VsearchError(f"{display(uri)} and the index being copied, {display(str(here))}, hold one another: "
                               "copy to a folder beside it")
    elif uri == source.uri and to.collection == source.collection:
        raise VsearchError(f"{uri} is the index being copied: name another --to-collection")
    with Store(source, write=False) as frm:
        try:
            into = Store(to)
        except StoreError as exc:
            raise StoreError(f"the copy's target: {exc}") from None
        with into:
            return copy_index(frm, into, on_video)
