"""Milvus storage: one collection each for index metadata, videos, frame vectors and cues.

Filters only ever contain integers we compute (video ids), never user strings.
"""

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from vsearch.configs import default
from vsearch.extract import Cue
from vsearch.extract.paths import display
from vsearch.extract.textfold import fold
from vsearch.extract.types import Source

from . import meta_copy
from .milvus_lite import Connection, StoreError
from .models_check import IndexMismatch, matched
from .records import VideoRecord, clip, cue_extra, pack, written
from .schema import PATH_BYTES, SCHEMA_VERSION, TEXT_BYTES, create_collection, exact_search, migrate_v1, read_v1
from .types import Hit

_INSERT_BATCH = 512


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


def _ids(video_ids: Iterable[int] | None) -> str:
    if video_ids is None:
        return ""
    return f"video_id in [{', '.join(str(int(v)) for v in video_ids)}]"


class Store:
    """An open connection to the index; use as a context manager and keep it short.

    `write=False` (searching, listing) never creates an index, and reads one on a read-only
    mount through a private snapshot. `names` maps each kind (meta, videos, frames, cues, sounds) to its
    collection, `opened` is the Milvus Lite folder open, and `legacy` says a version 1 index is
    being read as it is (index/schema.py).
    """

    def __init__(self, config: StoreConfig, write: bool = True):
        self.config = config
        self.write = write
        self.names = {k: f"{config.collection}_{k}" for k in ("meta", "videos", "frames")}
        # Version 2's cues (index/schema.py); a version 1 index's "_cues" may stand beside it until migrated.
        self.names["cues"] = f"{config.collection}_cues2"
        self.names["sounds"] = f"{config.collection}_sounds"
        self.legacy = False  # reading a version 1 index that could not be migrated (read-only)
        self._connection = Connection(config, write)
        self.client = self._connection.client
        self.opened = self._connection.opened
        self.dim = 0
        self.audio = ""  # the sound model of the index's sounds collection, once checked

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

    # --- metadata -------------------------------------------------------------------------

    def peek(self) -> dict | None:
        """The meta row as stored (schema version, models), loading no other collection: what a
        command needs to know before it loads models. None if nothing is indexed."""
        name = self.names["meta"]
        if not self.call("open", self.client.has_collection, name):
            return None
        self.call("open", self.client.load_collection, name)
        rows = self.call("read", self.client.query, name, ids=[0], output_fields=["info"])
        return rows[0]["info"] if rows else None

    def meta(self) -> dict | None:
        """The meta row, with every collection loaded for searching; None if empty."""
        info = self.peek()
        if info is None:
            return None
        # Milvus Lite reopens collections released; searching needs them loaded. A version 1
        # index has no cues collection of version 2 yet (check() migrates it or reads the old one),
        # and an index no sound model wrote has no sounds collection.
        for kind, collection in self.names.items():
            optional = kind == "cues" or (kind == "sounds" and not info.get("audio_model"))
            if kind != "meta" and (not optional or self.call("open", self.client.has_collection, collection)):
                self.call("open", self.client.load_collection, collection)
        return info

    def check(self, model: str | None = None, dim: int | None = None, text_model: str | None = None,
              text_dim: int | None = None, audio: tuple[str, int] | None = None) -> dict | None:
        """The meta row; IndexMismatch for an index of another schema version, or written by
        other models than those named (index/models_check.py)."""
        meta = self.meta()
        if meta is None:
            return None
        where = self.config.uri if self.config.is_lite else f"{self.config.uri} ({self.config.collection})"
        first = not self.dim  # the first check of this connection
        if meta.get("schema") == 1:
            meta = migrate_v1(self, meta) if self.write else read_v1(self, meta)
        if first and self.write and self.config.is_lite:
            exact_search(self)
        if meta.get("schema") != SCHEMA_VERSION:
            raise IndexMismatch(
                f"index {where} has schema version {meta.get('schema')}, this vsearch reads "
                f"{SCHEMA_VERSION}: re-index into a new --home (or --collection)"
            )
        meta = matched(meta, where, model, dim, text_model, text_dim, audio)
        self.dim, self.audio = int(meta["dim"]), meta.get("audio_model") or ""
        return meta

    def add_audio(self, model: str, dim: int) -> None:
        """Make the sounds collection for `model` unless the index has one; refuse another model's."""
        meta = self.check(audio=(model, dim))
        if meta is None or meta.get("audio_model"):
            return
        self._drop_leftover("sounds")  # a run killed between these two steps
        create_collection(self, "sounds", dim)
        self.put_meta({**meta, "audio_model": model, "audio_dim": dim})
        self.audio = model

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
        self._drop_leftover("sounds")  # made later, by add_audio
        for kind in ("frames", "cues", "videos", "meta"):
            self._drop_leftover(kind)
            create_collection(self, kind, text_dim if kind == "cues" else dim)
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
        """Write cue rows (text folded for matching, the original kept in `extra`)."""
        rows = [
            {"video_id": vid, "start": c.start, "end": c.end, "lang": clip(c.lang, 60),
             "speaker": clip(c.speaker, 500), "source": c.source[:16], "text": clip(folded, TEXT_BYTES),
             "extra": cue_extra(c, folded), "vec": [float(x) for x in v]}
            for c, v in zip(cues, vecs)
            for folded in [fold(c.text)]
        ]
        for lo in range(0, len(rows), _INSERT_BATCH):
            self.call("write", self.client.insert, self.names["cues"], rows[lo : lo + _INSERT_BATCH])

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
        rows = self.call("read", self.client.query, self.names["videos"], ids=ids, output_fields=["record"])
        return {int(r["id"]): VideoRecord.from_dict(r["record"]) for r in rows}

    def get_video(self, vid: int) -> VideoRecord | None:
        """The record of one video id, or None."""
        return self.get_videos([vid]).get(vid)

    def videos(self) -> list[VideoRecord]:
        """Every video record, in path order."""
        if not self._ready():
            return []
        name, page = self.names["videos"], 16000  # Milvus caps one query's window at 16384
        rows = self.call("read", self.client.query, name, filter="", output_fields=["count(*)"])
        total = int(rows[0]["count(*)"]) if rows else 0
        # Ids are uniform 63-bit hashes, so equal id ranges hold about equal numbers of videos.
        buckets = max(1, -(-total * 2 // page))
        width = -(-(1 << 63) // buckets)
        found = []
        for b in range(buckets):
            where = f"id >= {b * width} and id < {(b + 1) * width}" if buckets > 1 else "id >= 0"
            batch = self.call("read", self.client.query, name, filter=where,
                               output_fields=["record"], limit=page)
            found.extend(VideoRecord.from_dict(row["record"]) for row in batch)
        return sorted(found, key=lambda r: r.path)

    def replace_rows(
        self, record: VideoRecord, slots: Sequence[int], times: Sequence[float],
        frame_vecs: np.ndarray, cues: Sequence[Cue], cue_vecs: np.ndarray, sounds=None,
    ) -> VideoRecord:
        """Swap a video's rows for new ones; marked done only once all are written.

        `sounds` (index/sounds.py) go in the sounds collection, which `add_audio` made.
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
        for lo in range(0, len(frame_rows), _INSERT_BATCH):
            self.call("write", self.client.insert, self.names["frames"], frame_rows[lo : lo + _INSERT_BATCH])
        self.insert_cues(vid, cues, cue_vecs)
        sound_rows = [{"video_id": vid, "start": float(t), "end": float(t) + sounds.hop, "vec": v.tolist()}
                      for t, v in zip(sounds.starts, sounds.vecs)] if sounds is not None and self.audio else []
        for lo in range(0, len(sound_rows), _INSERT_BATCH):
            self.call("write", self.client.insert, self.names["sounds"], sound_rows[lo : lo + _INSERT_BATCH])
        # Persist the rows before the record says "done": a kill in between must leave the
        # video "indexing" (redone by the next run), never "done" with rows missing.
        for kind in self._row_kinds():
            self.call("write", self.client.flush, self.names[kind])
        done = replace(record, state="done", frames=len(frame_rows), cues=len(cues), sounds=len(sound_rows),
                       error="", attempts=0, retry_at=0, indexed_at=int(time.time()))
        self.put_video(done)
        return done

    def _row_kinds(self) -> tuple[str, ...]:
        return ("frames", "cues", "sounds") if self.audio else ("frames", "cues")

    def delete_rows(self, vid: int) -> None:
        """Delete a video's frame, cue and sound rows, keeping its record."""
        self._ready()
        for kind in self._row_kinds():
            self.call("write", self.client.delete, self.names[kind], filter=f"video_id == {int(vid)}")

    def remove(self, vid: int) -> None:
        """Forget a video entirely."""
        self.delete_rows(vid)
        self.call("write", self.client.delete, self.names["videos"], ids=[int(vid)])

    def frames_of(self, vid: int) -> tuple[list[int], list[float], np.ndarray]:
        """A video's stored frames: slots, times and vectors in slot order, so a video whose
        speech or screen text is added later keeps them without being encoded again."""
        slots, times, vecs = [], [], []
        if self._ready():
            while True:  # Milvus returns at most 16384 rows a query: page by slot
                after = slots[-1] if slots else -1
                rows = self.call("read", self.client.query, self.names["frames"],
                                 filter=f"video_id == {int(vid)} and slot > {after}",
                                 output_fields=["slot", "t", "vec"], limit=16384)
                rows.sort(key=lambda r: r["slot"])
                slots += [int(r["slot"]) for r in rows]
                times += [float(r["t"]) for r in rows]
                vecs += [r["vec"] for r in rows]
                if len(rows) < 16384:
                    break
        return slots, times, np.asarray(vecs, dtype=np.float32).reshape(len(vecs), -1)

    # --- search ---------------------------------------------------------------------------

    def search_frames(self, vec: np.ndarray, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Frames nearest the query vector."""
        if not self._ready():
            return []
        res = self.call("search", self.client.search, self.names["frames"], data=[vec.tolist()],
                         anns_field="vec", limit=limit, filter=_ids(video_ids),
                         output_fields=["video_id", "slot", "t"], search_params={"metric_type": "IP"})
        return [
            Hit("frames", int(h["entity"]["video_id"]), rank, float(h["distance"]),
                float(h["entity"]["t"]), float(h["entity"]["t"]), slot=int(h["entity"]["slot"]))
            for rank, h in enumerate(res[0])
        ]

    def frame_vector(self, vid: int, t: float) -> np.ndarray | None:
        """The stored vector of a video's frame nearest second `t`, or None."""
        if not self._ready():
            return None
        rows = self.call("read", self.client.query, self.names["frames"],
                         filter=f"video_id == {int(vid)} and t >= {float(t) - 1.0:.3f} and t <= {float(t) + 1.0:.3f}",
                         output_fields=["t", "vec"], limit=64)
        if not rows:
            return None
        return np.asarray(min(rows, key=lambda r: abs(r["t"] - t))["vec"], dtype=np.float32)

    def search_sounds(self, vec: np.ndarray, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Hops of soundtrack whose sound vectors are nearest the query vector; none without a sound model."""
        if not self._ready() or not self.audio:
            return []
        res = self.call("search", self.client.search, self.names["sounds"], data=[vec.tolist()],
                         anns_field="vec", limit=limit, filter=_ids(video_ids),
                         output_fields=["video_id", "start", "end"], search_params={"metric_type": "IP"})
        return [Hit("audio", int(h["entity"]["video_id"]), rank, float(h["distance"]),
                    float(h["entity"]["start"]), float(h["entity"]["end"])) for rank, h in enumerate(res[0])]

    def search_cues(self, vec: np.ndarray, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Cues whose vectors are nearest the query vector."""
        return self._cues("cues", vec.tolist(), limit, video_ids)

    def folded(self, query: str) -> str:
        """A query's text in the form this index stores cue text: folded (extract/textfold.py),
        except in a version 1 index read as it is."""
        return query if self.legacy else fold(query)

    def search_words(self, words: str, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Cues best by BM25 for the words of `words`, a query as `folded` gives it; none for a query without any."""
        if not any(c.isalnum() for c in words):
            return []  # a Milvus server refuses a query with nothing to tokenise
        return self._cues("bm25", words, limit, video_ids)

    def _cues(self, signal: str, query, limit: int, video_ids: Iterable[int] | None) -> list[Hit]:
        if not self._ready():
            return []
        bm25 = signal == "bm25"
        fields = ["video_id", "start", "end", "text", "lang", "speaker"] + ([] if self.legacy else ["source", "extra"])
        res = self.call("search", self.client.search, self.names["cues"], data=[query],
                        anns_field="sparse" if bm25 else "vec", limit=limit, filter=_ids(video_ids),
                        output_fields=fields, search_params={"metric_type": "BM25" if bm25 else "IP"})
        return [
            Hit(signal, int(e["video_id"]), rank, abs(float(h["distance"])) if bm25 else float(h["distance"]),
                float(e["start"]), float(e["end"]), text=shown["text"], lang=e["lang"],
                speaker=e["speaker"], source=e.get("source") or Source.SUBTITLE, words=shown["words"])
            for rank, h in enumerate(res[0])
            for e in [h["entity"]]
            for shown in [written(e)]
        ]

    def cue_count(self) -> int:
        """Cue rows in the index, for the query words' IDF."""
        if not self._ready():
            return 0
        rows = self.call("read", self.client.query, self.names["cues"], filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def cues_of(self, vid: int, source: str) -> list[Cue]:
        """A video's cues of one source ("subtitle", "asr", "ocr"), in time order."""
        return [cue for cue, _ in self.cue_vectors_of(vid, source, vectors=False)]

    def cue_vectors_of(self, vid: int, source: str, vectors: bool = True) -> list[tuple[Cue, np.ndarray | None]]:
        """A video's cues of one source in time order, each with its text-model vector (None without `vectors`)."""
        if not self._ready() or self.legacy:
            return []
        if source not in set(Source):
            raise ValueError(f"unknown cue source {source!r}")
        fields = ["start", "end", "text", "lang", "speaker", "extra"] + (["vec"] if vectors else [])
        rows = self.call("read", self.client.query, self.names["cues"],
                          filter=f'video_id == {int(vid)} and source == "{source}"', output_fields=fields, limit=16384)
        found = [(Cue(r["start"], r["end"], lang=r["lang"], speaker=r["speaker"], source=source, **written(r)),
                  np.asarray(r["vec"], np.float32) if vectors else None) for r in rows]
        return sorted(found, key=lambda c: (c[0].start, c[0].end))

