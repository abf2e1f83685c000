"""Milvus storage: one collection each for index metadata, videos, frame vectors and cues.

Filters only ever contain integers we compute (video ids), never user strings.
"""

import hashlib
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from vsearch.extract import Cue, VsearchError
from vsearch.extract.paths import display, is_clean, raw_bytes
from vsearch.extract.scratch import scratch_dir
from vsearch.extract.textfold import fold

from . import lite_files
from .schema import PATH_BYTES, SCHEMA_VERSION, TEXT_BYTES, create_collection, exact_search, migrate_v1, read_v1
from .types import Hit

_INSERT_BATCH = 512


class StoreError(VsearchError):
    """The index cannot be opened, read or written."""


class IndexBusy(StoreError):
    """Another process holds the Milvus Lite file."""

    exit_code = 75  # EX_TEMPFAIL: cron wrappers may retry


class IndexMismatch(StoreError):
    """The index was written by another schema version or model."""


class NoIndex(StoreError):
    """A command that only reads found no index where it was told to look."""


@dataclass(frozen=True)
class StoreConfig:
    """Where the index lives: a Milvus Lite path or a server URI, and a collection prefix."""

    uri: str
    token: str = ""
    collection: str = "vsearch"
    busy_timeout: float = 10.0
    fast_lite: bool = True

    @property
    def is_lite(self) -> bool:
        return "://" not in self.uri


@dataclass(frozen=True)
class VideoRecord:
    """What the index knows about one video."""

    id: int
    path: str
    fingerprint: str = ""
    duration: float = 0.0
    fps: float = 1.0
    model: str = ""
    state: str = "new"
    frames: int = 0
    cues: int = 0
    error: str = ""
    indexed_at: int = 0
    attempts: int = 0
    retry_at: int = 0
    info: dict | None = None

    @classmethod
    def from_dict(cls, fields: dict) -> "VideoRecord":
        """A record from stored JSON, ignoring keys a newer vsearch may have added."""
        fields = _unpack(fields)
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})


_RAW = "$fsbytes"


def _pack(value):
    """JSON-ready: strings with undecodable file-name bytes become {"$fsbytes": hex}, losslessly."""
    if isinstance(value, str):
        return value if is_clean(value) else {_RAW: raw_bytes(value).hex()}
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v) for v in value]
    return value


def _unpack(value):
    """The inverse of `_pack`."""
    if isinstance(value, dict):
        if set(value) == {_RAW}:
            return bytes.fromhex(value[_RAW]).decode("utf-8", "surrogateescape")
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def video_id(path: str) -> int:
    """Stable 63-bit id of an absolute path, so filters never carry the path itself."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def _clip(text: str, limit: int) -> str:
    """Cut text to `limit` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8", "surrogateescape")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _cue_extra(cue: Cue, folded: str) -> dict:
    """What a cue row keeps beside its folded text: the text as written, word times, certainty."""
    extra = {}
    if folded != cue.text or len(cue.text.encode("utf-8", "surrogateescape")) > TEXT_BYTES:
        extra["shown"] = _clip(cue.text, TEXT_BYTES)
    if cue.words:
        extra["words"] = [[int(o), float(t)] for o, t in cue.words]
    if cue.lang_prob:
        extra["p"] = cue.lang_prob
    return extra


def _written(row: dict) -> dict:
    """A cue row's text as written, word times and language probability, from its `extra`."""
    extra = row.get("extra") or {}
    return {"text": extra.get("shown", row["text"]), "words": tuple(tuple(w) for w in extra.get("words", ())),
            "lang_prob": extra.get("p", 0.0)}


def _ids(video_ids: Iterable[int] | None) -> str:
    if video_ids is None:
        return ""
    return f"video_id in [{', '.join(str(int(v)) for v in video_ids)}]"


def _moved(stored: str, given: str) -> bool:
    """Whether `stored`, the index's model, was a folder that is gone and `given` is a folder."""
    return stored != given and Path(stored).is_absolute() and not Path(stored).exists() and Path(given).is_dir()


class Store:
    """An open connection to the index; use as a context manager and keep it short.

    `write=False` (searching, listing) never creates an index, and reads one on a read-only
    mount through a private snapshot. `names` maps each kind (meta, videos, frames, cues) to its
    collection, `opened` is the Milvus Lite folder open, and `legacy` says a version 1 index is
    being read as it is (index/schema.py).
    """

    def __init__(self, config: StoreConfig, write: bool = True):
        self.config = config
        self.write = write
        self.names = {k: f"{config.collection}_{k}" for k in ("meta", "videos", "frames")}
        self.names["cues"] = f"{config.collection}_cues2"
        self.legacy = False  # reading a version 1 index that could not be migrated (read-only)
        self._scratch = None
        self.opened = config.uri
        self.client = self._connect()
        self.dim = 0

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and, for Milvus Lite, free the file for other processes."""
        try:
            self.client.close()
        finally:
            if self.config.is_lite:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.opened)
            if self._scratch is not None:
                self._scratch.cleanup()

    def _connect(self):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        # These libraries log tracebacks and banners on stderr; our errors say it in one line.
        for noisy in ("milvus_lite", "pymilvus", "grpc"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        if self.config.is_lite:
            import jieba  # Milvus Lite tokenises with it; it sets its own logger to DEBUG on import

            from . import lite

            jieba.setLogLevel(logging.WARNING)
            if self.config.fast_lite:
                lite.install()
            else:
                lite.uninstall()
        if not self.config.is_lite:
            try:
                return MilvusClient(uri=self.config.uri, token=self.config.token, timeout=10)
            except MilvusException:
                raise StoreError(
                    f"cannot reach Milvus at {self.config.uri}; start the server or fix --uri"
                ) from None
        path = self._lite_path(Path(self.config.uri))
        deadline = time.monotonic() + self.config.busy_timeout
        while True:
            try:
                return MilvusClient(str(path))
            except MilvusException:
                try:
                    busy = lite_files.lock_held(path)
                except OSError as exc:
                    raise StoreError(f"cannot open index {path} ({exc.strerror})") from None
                if not busy:
                    raise StoreError(
                        f"cannot open index {path}; check free disk space and permissions"
                    ) from None
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"index {path} is busy: another vsearch process has it open (Milvus Lite "
                        "allows one); retry later, or serve it with `milvus-lite server` and use --uri"
                    ) from None
                time.sleep(0.2 + random.random() * 0.3)

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
            if lite_files.writable(path) is None:
                return path
            self._scratch = scratch_dir()
            try:
                path = lite_files.snapshot(path, Path(self._scratch.name))
            except OSError as exc:
                self._scratch.cleanup()
                raise StoreError(f"cannot read index {path} ({exc.strerror})") from None
            self.opened = str(path)
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create index folder {path.parent} ({exc.strerror})") from None
        problem = lite_files.writable(path if path.exists() else path.parent)
        if problem is not None:
            raise StoreError(f"index {path} cannot be written ({problem.strerror}): indexing needs "
                             "write access there; searching and listing work without it")
        return path

    def call(self, what: str, fn, *args, **kwargs):
        """Run a pymilvus call, turning its errors into one-line StoreErrors."""
        from pymilvus.exceptions import MilvusException

        try:
            return fn(*args, **kwargs)
        except MilvusException as exc:
            raise StoreError(f"index {what} failed: {exc.message}") from None

    # --- metadata -------------------------------------------------------------------------

    def meta(self) -> dict | None:
        """Schema version, model and dimension this index was created with; None if empty."""
        name = self.names["meta"]
        if not self.call("open", self.client.has_collection, name):
            return None
        # Milvus Lite reopens collections released; searching needs them loaded. A version 1
        # index has no cues collection of version 2 yet (check() migrates it or reads the old one).
        for kind, collection in self.names.items():
            if kind != "cues" or self.call("open", self.client.has_collection, collection):
                self.call("open", self.client.load_collection, collection)
        rows = self.call("read", self.client.query, name, ids=[0], output_fields=["info"])
        return rows[0]["info"] if rows else None

    def check(self, model: str | None = None, dim: int | None = None, text_model: str | None = None,
              text_dim: int | None = None) -> dict | None:
        """Refuse an index written by another schema version, image model or text model.

        An index made before text models holds cue vectors of the image model's tower ("image").
        """
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
        if model is not None and _moved(meta["model"], model) and dim in (None, meta["dim"]):
            # The index's model folder moved, and the user names its new place.
            meta = {**meta, "model": model, "moved_from": meta["model"]}
        if model is not None and (meta["model"] != model or (dim is not None and meta["dim"] != dim)):
            raise IndexMismatch(
                f"index {where} holds {meta['model']} vectors (dim {meta['dim']}), not {model}: "
                f"use --model {meta['model']}, or a separate index with --home DIR or --collection NAME"
            )
        meta = {"text_model": "image", "text_dim": meta["dim"], **meta}
        if text_model is not None and (meta["text_model"] != text_model
                                       or (text_dim is not None and meta["text_dim"] != text_dim)):
            raise IndexMismatch(
                f"index {where} holds cue vectors of the text model {meta['text_model']} (dim "
                f"{meta['text_dim']}), not {text_model}: use --text-model {meta['text_model']}, or a "
                "separate index with --home DIR or --collection NAME"
            )
        self.dim = int(meta["dim"])
        return meta

    def create(self, model: str, dim: int, text_model: str = "image", text_dim: int | None = None) -> None:
        """Create the collections for `model` and `text_model` unless they exist; then check they match."""
        text_dim = dim if text_dim is None else text_dim
        meta = self.check(model, dim, text_model, text_dim)
        if meta is not None:
            if meta.get("moved_from"):
                self.put_meta({k: v for k, v in meta.items() if k != "moved_from"})
            return
        # Meta goes last: its presence means the others exist. A run killed before it leaves
        # some of them behind, which the next run keeps and completes.
        for kind in ("frames", "cues", "videos", "meta"):
            name = self.names[kind]
            if not self.call("open", self.client.has_collection, name):
                create_collection(self, kind, text_dim if kind == "cues" else dim)
        self.put_meta({"schema": SCHEMA_VERSION, "model": model, "dim": dim, "text_model": text_model,
                       "text_dim": text_dim, "created": int(time.time())})
        self.dim = dim

    def put_meta(self, info: dict) -> None:
        """Write the index's one meta row (schema version, models, dimensions)."""
        self.call("write", self.client.upsert, self.names["meta"], [{"id": 0, "info": info, "pad": [1.0, 0.0]}])

    def insert_cues(self, vid: int, cues: Sequence[Cue], vecs) -> None:
        """Write cue rows (text folded for matching, the original kept in `extra`)."""
        rows = [
            {"video_id": vid, "start": c.start, "end": c.end, "lang": _clip(c.lang, 60),
             "speaker": _clip(c.speaker, 500), "source": c.source[:16], "text": _clip(folded, TEXT_BYTES),
             "extra": _cue_extra(c, folded), "vec": [float(x) for x in v]}
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
        fields = _pack(asdict(replace(record, error=_clip(record.error, 2000))))
        row = {"id": record.id, "path": _clip(display(record.path), PATH_BYTES), "record": fields,
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
        frame_vecs: np.ndarray, cues: Sequence[Cue], cue_vecs: np.ndarray,
    ) -> VideoRecord:
        """Swap a video's rows for new ones; marked done only once all are written."""
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
        # Persist the rows before the record says "done": a kill in between must leave the
        # video "indexing" (redone by the next run), never "done" with rows missing.
        for kind in ("frames", "cues"):
            self.call("write", self.client.flush, self.names[kind])
        done = replace(record, state="done", frames=len(frame_rows), cues=len(cues),
                       error="", attempts=0, retry_at=0, indexed_at=int(time.time()))
        self.put_video(done)
        return done

    def delete_rows(self, vid: int) -> None:
        """Delete a video's frame and cue rows, keeping its record."""
        for kind in ("frames", "cues"):
            self.call("write", self.client.delete, self.names[kind], filter=f"video_id == {int(vid)}")

    def remove(self, vid: int) -> None:
        """Forget a video entirely."""
        self.delete_rows(vid)
        self.call("write", self.client.delete, self.names["videos"], ids=[int(vid)])

    def count_rows(self, vid: int) -> tuple[int, int]:
        """(frames, cues) rows stored for a video."""
        if not self._ready():
            return 0, 0
        counts = []
        for kind in ("frames", "cues"):
            rows = self.call("read", self.client.query, self.names[kind],
                              filter=f"video_id == {int(vid)}", output_fields=["count(*)"])
            counts.append(int(rows[0]["count(*)"]) if rows else 0)
        return counts[0], counts[1]

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

    def search_cues(self, query: np.ndarray | str, limit: int,
                    video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Cues nearest a query vector, or best by BM25 for a query string."""
        if not self._ready():
            return []
        bm25 = isinstance(query, str)
        fields = ["video_id", "start", "end", "text", "lang", "speaker"] + ([] if self.legacy else ["source", "extra"])
        query = fold(query) if bm25 and not self.legacy else query  # version 1 text is not folded
        try:
            res = self.call(
                "search", self.client.search, self.names["cues"],
                data=[query if bm25 else query.tolist()], anns_field="sparse" if bm25 else "vec",
                limit=limit, filter=_ids(video_ids), output_fields=fields,
                search_params={"metric_type": "BM25" if bm25 else "IP"},
            )
        except StoreError:
            if bm25:  # a query of only stop words or punctuation has no terms to score
                return []
            raise
        signal = "bm25" if bm25 else "cues"
        return [
            Hit(signal, int(e["video_id"]), rank, abs(float(h["distance"])) if bm25 else float(h["distance"]),
                float(e["start"]), float(e["end"]), text=written["text"], lang=e["lang"],
                speaker=e["speaker"], source=e.get("source") or "subtitle", words=written["words"])
            for rank, h in enumerate(res[0])
            for e in [h["entity"]]
            for written in [_written(e)]
        ]

    def cue_count(self) -> int:
        """Cue rows in the index, for the query words' IDF."""
        if not self._ready():
            return 0
        rows = self.call("read", self.client.query, self.names["cues"], filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def cues_of(self, vid: int, source: str) -> list[Cue]:
        """A video's cues of one source ("subtitle", "asr", "ocr"), in time order."""
        if not self._ready() or self.legacy:
            return []
        if source not in ("subtitle", "asr", "ocr"):
            raise ValueError(f"unknown cue source {source!r}")
        rows = self.call("read", self.client.query, self.names["cues"],
                          filter=f'video_id == {int(vid)} and source == "{source}"',
                          output_fields=["start", "end", "text", "lang", "speaker", "extra"], limit=16384)
        cues = [Cue(r["start"], r["end"], lang=r["lang"], speaker=r["speaker"], source=source, **_written(r))
                for r in rows]
        return sorted(cues, key=lambda c: (c.start, c.end))

