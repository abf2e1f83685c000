"""Milvus storage: one collection each for index metadata, videos, frame vectors, cues, sounds and pictures.

Filters only ever contain integers we compute (video ids, word ids), never user strings. The
searches are index/reads.py's.
"""

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace

import numpy as np

from vsearch.extract import Cue
from vsearch.extract.paths import display
from vsearch.extract.textfold import fold

from . import background, lexical, meta_copy, tokens
from .milvus_lite import Connection, StoreConfig, StoreError
from .models_check import IndexMismatch, matched
from .reads import Reads
from .records import PATH_BYTES, TEXT_BYTES, VideoRecord, clip, cue_extra, pack
from .schema import CUES, SCHEMA_VERSION, create_collection, drop_old_cues, exact_search, migrate, read_old

_INSERT_BATCH = 512
# The collections made once a model of their own writes, and the meta entry naming it.
_MODEL_OF = {"sounds": "audio_model", "pictures": "picture_model"}


# When this process last deleted from a server's collection, (uri, name) -> monotonic seconds, and
# how long after it reads stay Strong: past the server's time tick (0.2 s by default) with room.
_DELETED: dict[tuple[str, str], float] = {}
_DELETE_SETTLES = 2.0


class Store(Reads):
    """An open connection to the index; use as a context manager and keep it short.

    `write=False` (searching, listing) never creates an index, and reads one on a read-only
    mount through a private snapshot. `names` maps each kind (meta, videos, frames, cues, sounds, pictures) to its
    collection, `opened` is the Milvus Lite folder open, `legacy` the version of an older index
    being read as it is (index/schema.py), and `exact` says the engine is Milvus Lite's (in
    process or behind `milvus-lite server`: searched exactly, flushed).
    """

    def __init__(self, config: StoreConfig, write: bool = True):
        self.config = config
        self.write = write
        self.names = {k: f"{config.collection}_{k}" for k in ("meta", "videos", "frames")}
        # This version's cues (index/schema.py); an older index's may stand beside them until migrated.
        self.names["cues"] = f"{config.collection}_{CUES[SCHEMA_VERSION]}"
        self.names["sounds"] = f"{config.collection}_sounds"
        self.names["pictures"] = f"{config.collection}_pictures"
        self.legacy = 0  # the schema version of an older index read as it is (read-only), else 0
        self._connection = Connection(config, write)
        self.client = self._connection.client
        self.exact = config.is_lite or self._connection.version.startswith("milvus_lite")

        self.opened = self._connection.opened
        self.dim = 0
        self._cue_total = None  # reads.py cue_count's, for a connection that only reads
        self.audio = ""  # the sound model of the index's sounds collection, once checked
        self.picture = ""  # the picture model of its pictures collection, likewise

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and, for Milvus Lite, free the folder for other processes."""
        self._connection.close()

    def call(self, what: str, fn, *args, **kwargs):
        """Run a pymilvus call, turning its errors into one-line StoreErrors."""
        from pymilvus.exceptions import MilvusException

        try:
            return fn(*args, **kwargs)
        except MilvusException as exc:
            raise StoreError(f"index {what} failed: {exc.message}") from None

    def level(self, name: str) -> dict:
        """The consistency a read of collection `name` asks a server for, so it sees this
        process's own writes: a server answers at Bounded consistency unless told, and a query
        right after a write missed it. Session reads wait for this process's inserts and upserts
        (a time tick, up to 0.2 s, after one); Milvus 2.3 gives a delete no time to wait for, so
        for a while after one the read is Strong (the newest time)."""
        if self.config.is_lite:
            return {}
        recent = time.monotonic() - _DELETED.get((self.config.uri, name), -1e9) < _DELETE_SETTLES
        return {"consistency_level": "Strong" if recent else "Session"}

    def delete(self, name: str, **which) -> None:
        """Delete rows of collection `name` by `filter` or `ids`, remembered for `level`."""
        self.call("write", self.client.delete, name, **which)
        _DELETED[(self.config.uri, name)] = time.monotonic()

    def query(self, name: str, where: str, fields: list[str], limit: int | None = None, ids=None) -> list[dict]:
        """Rows of collection `name` matching the filter `where` (or with primary keys `ids`), at
        most `limit` (one query window at most): this process's own writes included."""
        # a plain list: pymilvus's own result type loses rows added to it
        return list(self.call("read", self.client.query, name, filter=where, ids=ids, output_fields=fields,
                              limit=limit, **self.level(name)))

    def count(self, name: str, where: str = "") -> int:
        """How many rows of collection `name` match the filter `where`."""
        rows = self.query(name, where, ["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def rows(self, name: str, where: str, fields: list[str]):
        """Every row of collection `name` matching `where`, a window at a time in primary-key order:
        past the 16384 rows one query may return."""
        if not self.config.is_lite:  # an iterator reads at the server's time, without waiting for our writes
            self.query(name, "", ["id"], 1)
        it = self.call("read", self.client.query_iterator, name, batch_size=lexical.WINDOW, filter=where,
                       output_fields=fields)
        try:
            while batch := self.call("read", it.next):
                yield from batch
        finally:
            it.close()

    def settle(self, *kinds: str) -> None:
        """Make rows written so far durable before a record says they are there: Milvus Lite flushes
        its memory table to files; a server's write-ahead log already holds them (docs/scale.md)."""
        if self.exact:
            for kind in kinds:
                self.call("write", self.client.flush, self.names[kind])

    # --- metadata -------------------------------------------------------------------------

    def peek(self) -> dict | None:
        """The meta row as stored (schema version, models), loading no other collection: what a
        command needs to know before it loads models. None if nothing is indexed."""
        name = self.names["meta"]
        if not self.call("open", self.client.has_collection, name):
            return None
        self.call("open", self.client.load_collection, name)
        rows = self.query(name, "", ["info"], ids=[0])
        return rows[0]["info"] if rows else None

    def meta(self) -> dict | None:
        """The meta row, with every collection loaded for searching; None if empty."""
        info = self.peek()
        if info is None:
            return None
        # Milvus Lite reopens collections released; searching needs them loaded. An older index
        # has no cues collection of this version yet (check() migrates it or reads the old one),
        # and an index no sound (picture) model wrote has no sounds (pictures) collection.
        for kind, collection in self.names.items():
            optional = kind == "cues" or (kind in _MODEL_OF and not info.get(_MODEL_OF[kind]))
            if kind != "meta" and (not optional or self.call("open", self.client.has_collection, collection)):
                self.call("open", self.client.load_collection, collection)
        return info

    def check(self, model: str | None = None, dim: int | None = None, text_model: str | None = None,
              text_dim: int | None = None, audio: tuple[str, int] | None = None,
              picture: tuple[str, int] | None = None) -> dict | None:
        """The meta row; IndexMismatch for an index of another schema version, or written by
        other models than those named (index/models_check.py)."""
        meta = self.meta()
        if meta is None:
            return None
        where = self.config.where
        first = not self.dim  # the first check of this connection
        if int(meta.get("schema") or 1) < SCHEMA_VERSION:
            meta = migrate(self, meta) if self.write else read_old(self, meta)
        elif first and self.write and meta.get("schema") == SCHEMA_VERSION:
            drop_old_cues(self)  # left by a migration killed after its commit
        if first and self.write and self.exact:
            exact_search(self)
        if meta.get("schema") != SCHEMA_VERSION:
            raise IndexMismatch(
                f"index {where} has schema version {meta.get('schema')}, this vsearch reads "
                f"{SCHEMA_VERSION}: re-index into a new --home (or --collection)"
            )
        meta = matched(meta, where, model, dim, text_model, text_dim, audio, picture)
        self.dim, self.audio = int(meta["dim"]), meta.get("audio_model") or ""
        self.picture = meta.get("picture_model") or ""
        return meta

    def add_audio(self, model: str, dim: int) -> None:
        """Make the sounds collection for `model` unless the index has one; refuse another model's."""
        self._add_collection("sounds", model, dim, audio=(model, dim))
        self.audio = model

    def add_pictures(self, model: str, dim: int) -> None:
        """Make the pictures collection for the picture model `model` unless the index has one; refuse another's."""
        self._add_collection("pictures", model, dim, picture=(model, dim))
        self.picture = model

    def _add_collection(self, kind: str, model: str, dim: int, **checked) -> None:
        meta = self.check(**checked)
        key = _MODEL_OF[kind]
        if meta is None or meta.get(key):
            return
        self._drop_leftover(kind)  # a run killed between these two steps
        create_collection(self, kind, dim)
        self.put_meta({**meta, key: model, key.replace("_model", "_dim"): dim})

    def create(self, model: str, dim: int, text_model: str = "image", text_dim: int | None = None,
               levels: dict | None = None) -> None:
        """Create the collections for `model` and `text_model` unless they exist; then check they match.

        `levels`, the models' measured levels as meta entries (index/calibration.py), are kept in
        the meta row, so later processes need not measure them again.
        """
        text_dim = dim if text_dim is None else text_dim
        levels = levels or {}
        meta = self.check(model, dim, text_model, text_dim)
        if meta is not None:
            kept = {k: v for k, v in meta.items() if k != "moved_from"}
            kept.update({k: v for k, v in levels.items() if k not in kept})
            if kept != meta:
                self.put_meta(kept)
            return
        # Meta goes last: its presence means the others exist, complete. A run killed before it
        # leaves some of them behind, perhaps without their index; they hold no rows yet (videos
        # are written after meta), so the next run makes them again.
        for kind in _MODEL_OF:  # made later, by add_audio and add_pictures
            self._drop_leftover(kind)
        made = []
        try:
            for kind in ("frames", "cues", "videos", "meta"):
                self._drop_leftover(kind)
                create_collection(self, kind, text_dim if kind == "cues" else dim)
                made.append(kind)
        except StoreError:
            for kind in made:  # a server that refuses one leaves none behind
                self._drop_leftover(kind)
            raise
        self.put_meta({"schema": SCHEMA_VERSION, "model": model, "dim": dim, "text_model": text_model,
                       "text_dim": text_dim, "created": int(time.time()), **levels})
        self.dim = dim

    def _drop_leftover(self, kind: str) -> None:
        """Drop a collection of `kind` that a killed run made before the meta row named it."""
        if self.call("open", self.client.has_collection, self.names[kind]):
            self.call("write", self.client.drop_collection, self.names[kind])

    def put_meta(self, info: dict) -> None:
        """Write the index's one meta row (schema version, models, dimensions), and its copy (index/meta_copy.py)."""
        self.call("write", self.client.upsert, self.names["meta"], [{"id": 0, "info": info, "pad": [1.0, 0.0]}])
        meta_copy.keep(self.config, info)

    def insert_cues(self, vid: int, cues: Sequence[Cue], vecs) -> None:
        """Write cue rows (text folded for matching, the original kept in `extra`; the words of
        the text as stored, so a cue is found only by words it shows)."""
        rows = [
            {"video_id": vid, "start": c.start, "end": c.end, "lang": clip(c.lang, 60),
             "speaker": clip(c.speaker, 500), "source": c.source[:16], "text": stored,
             "extra": cue_extra(c, folded), "terms": tokens.ids(stored), "vec": [float(x) for x in v]}
            for c, v in zip(cues, vecs)
            for folded in [fold(c.text)]
            for stored in [clip(folded, TEXT_BYTES)]
        ]
        self._insert("cues", rows)

    # --- videos ---------------------------------------------------------------------------

    def _ready(self) -> bool:
        return self.dim > 0 or self.check() is not None

    def put_video(self, record: VideoRecord) -> None:
        """Insert or replace a video's record."""
        fields = pack(asdict(replace(record, error=clip(record.error, 2000))))
        row = {"id": record.id, "path": clip(display(record.path), PATH_BYTES), "record": fields,
               "pad": [1.0, 0.0]}
        self.call("write", self.client.upsert, self.names["videos"], [row])

    def get_videos(self, ids: Iterable[int]) -> dict[int, VideoRecord]:
        """Records of the given video ids that exist."""
        ids = [int(i) for i in ids]
        if not ids or not self._ready():
            return {}
        rows = self.query(self.names["videos"], "", ["record"], ids=ids)
        return {int(r["id"]): VideoRecord.from_dict(r["record"]) for r in rows}

    def get_video(self, vid: int) -> VideoRecord | None:
        """The record of one video id, or None."""
        return self.get_videos([vid]).get(vid)

    def videos(self) -> list[VideoRecord]:
        """Every video record, in path order."""
        if not self._ready():
            return []
        found = [VideoRecord.from_dict(row["record"]) for row in self.rows(self.names["videos"], "", ["record"])]
        return sorted(found, key=lambda r: r.path)

    def replace_rows(
        self, record: VideoRecord, slots: Sequence[int], times: Sequence[float],
        frame_vecs: np.ndarray, cues: Sequence[Cue], cue_vecs: np.ndarray, sounds=None, pictures=None,
    ) -> VideoRecord:
        """Swap a video's rows for new ones; marked done only once all are written.

        `sounds` (index/sounds.py) go in the sounds collection, which `add_audio` made, and
        `pictures` (the picture model's vector of each second) in the one `add_pictures` made.
        """
        vid = record.id
        # Rows are written only once the record says "indexing", so a video without a record has
        # none; not deleting them spares Milvus Lite a scan of every stored row (0.3 s at 100k).
        had_record = self.get_video(vid) is not None
        self.put_video(replace(record, state="indexing"))
        if had_record:
            self.delete_rows(vid)
        frame_rows = [
            {"video_id": vid, "slot": int(s), "t": float(t), "vec": v.tolist()}
            for s, t, v in zip(slots, times, frame_vecs)
        ]
        self._insert("frames", frame_rows)
        self.insert_cues(vid, cues, cue_vecs)
        sound_rows = [{"video_id": vid, "start": float(t), "end": float(t) + sounds.hop, "vec": v.tolist()}
                      for t, v in zip(sounds.starts, sounds.vecs)] if sounds is not None and self.audio else []
        self._insert("sounds", sound_rows)
        if pictures is not None and self.picture:
            self._insert("pictures", [{**row, "vec": v.tolist()} for row, v in zip(frame_rows, pictures)])
        # Persist the rows before the record says "done": a kill in between must leave the
        # video "indexing" (redone by the next run), never "done" with rows missing.
        self.settle(*self.row_kinds())
        done = replace(record, state="done", frames=len(frame_rows), cues=len(cues), sounds=len(sound_rows),
                       error="", attempts=0, retry_at=0, indexed_at=int(time.time()))
        self.put_video(done)
        background.refresh(self, replaced=had_record)
        return done

    def _insert(self, kind: str, rows: list[dict]) -> None:
        for lo in range(0, len(rows), _INSERT_BATCH):
            self.call("write", self.client.insert, self.names[kind], rows[lo : lo + _INSERT_BATCH])

    def row_kinds(self) -> tuple[str, ...]:
        """The collections of vector rows this index holds (sounds and pictures once a model of theirs wrote)."""
        return ("frames", "cues") + (("sounds",) if self.audio else ()) + (("pictures",) if self.picture else ())

    def delete_rows(self, vid: int) -> None:
        """Delete a video's vector rows (frames, cues, sounds, pictures), keeping its record."""
        self._ready()
        for kind in self.row_kinds():
            self.delete(self.names[kind], filter=f"video_id == {int(vid)}")

    def remove(self, vid: int) -> None:
        """Forget a video entirely."""
        self.delete_rows(vid)
        self.delete(self.names["videos"], ids=[int(vid)])
        background.refresh(self, replaced=True)
