"""Copy an index between two Milvus backends (a Milvus Lite folder, a server) without decoding
or encoding anything: every video's record and its frame, cue and sound rows, and the meta row.

A video is copied the way indexing writes one (Store.replace_rows: "indexing", its rows, then
its record), so a copy killed at any point leaves the target's videos either whole or marked for
the next copy; a video whose record the target already holds, equal, is not copied again.
Videos the target holds and the source does not are left as they are.
"""

from collections.abc import Callable
from dataclasses import dataclass

from vsearch.extract.types import Source

from .milvus_lite import NoIndex, StoreError
from .records import VideoRecord

# What the meta row holds besides the models' measured levels (index/calibration.py).
_MODELS = ("schema", "model", "dim", "text_model", "text_dim", "created", "audio_model", "audio_dim", "picture_model",
           "picture_dim", "moved_from")


@dataclass(frozen=True)
class Copied:
    """What a copy did: videos copied now, videos the target already held, rows written."""

    copied: int = 0
    kept: int = 0
    rows: int = 0


def copy_index(source, target, on_video: Callable[[VideoRecord, bool], None] | None = None) -> Copied:
    """Copy every video of the open `source` Store into the open `target` Store (opened for
    writing); `on_video(record, copied)` after each. IndexMismatch where the target holds another
    model's index."""
    meta = source.check()
    if meta is None:
        raise NoIndex(f"nothing is indexed at {source.config.where}: there is nothing to copy")
    if source.legacy:
        raise StoreError(f"the index at {source.config.where} is of an older vsearch (schema {source.legacy}): "
                         "bring it up to date first with `vsearch ingest` or `vsearch index` on it")
    levels = {k: v for k, v in meta.items() if k not in _MODELS}
    target.create(meta["model"], int(meta["dim"]), meta.get("text_model", "image"), meta.get("text_dim"), levels)
    if meta.get("audio_model"):
        target.add_audio(meta["audio_model"], int(meta["audio_dim"]))
    if meta.get("picture_model"):
        target.add_pictures(meta["picture_model"], int(meta["picture_dim"]))
    copied = kept = rows = 0
    for record in source.videos():
        held = target.get_video(record.id)
        if held == record:
            kept += 1
        else:
            rows += _copy_video(source, target, record, held is not None)
            copied += 1
        if on_video:
            on_video(record, held != record)
    return Copied(copied, kept, rows)


def _copy_video(source, target, record: VideoRecord, held: bool) -> int:
    """Write one video's record and rows into `target` as the source holds them; the rows written."""
    if record.state != "done":  # failed or unfinished: its record alone, as the source has no rows for it
        if held:
            target.delete_rows(record.id)
        target.put_video(record)
        return 0
    slots, times, frames = source.frames_of(record.id)
    said = [pair for kind in Source for pair in source.cue_vectors_of(record.id, kind)]
    sounds, pictures = source.sounds_of(record.id), source.pictures_of(record.id)
    cues, vecs = [c for c, _ in said], [v for _, v in said]
    target.replace_rows(record, slots, times, frames, cues, vecs, sounds, pictures)
    target.put_video(record)  # the source's record as it is (its time indexed, not the copy's)
    return (len(slots) + len(cues) + (len(sounds.starts) if sounds is not None else 0)
            + (len(pictures) if pictures is not None else 0))
