"""The collections of an index, as this version writes them, and the steps from older versions.

2: cues keep their source (subtitle, asr, ocr) and, in `extra`, their original text, word times
and language probability; their `text` is folded for matching.
3: cues keep their words as integer ids (`terms`, index/tokens.py) and vsearch scores BM25 itself
(index/lexical.py), so every Milvus from 2.3 on serves them; version 2 needed Milvus's own BM25
function (2.5 and later). An older index is migrated when first opened for writing, without
decoding or encoding anything, and read as it is until then, without the lexical signal. The
sounds collection is made the first time a sound model writes (its model is then in the meta
row), and the pictures collection (a picture model's frame vectors, index/picture_models.py) when
a run first names one; an index without them has no such signal, and needs no new version.
"""

from pathlib import Path

from vsearch.extract import Cue
from vsearch.extract.types import Source

from . import milvus_lite
from .milvus_lite import IndexBusy
from .records import PATH_BYTES, TEXT_BYTES, written

SCHEMA_VERSION = 3
# The cue collections of each version, by suffix after the prefix.
CUES = {1: "cues", 2: "cues2", 3: "cues3"}
# A server's graph: links per vector and the breadth it is built with (Milvus's own HNSW defaults
# are M=18, efConstruction=240 under AUTOINDEX; these build faster for the recall measured in docs/scale.md).
HNSW = {"M": 16, "efConstruction": 200}


def create_collection(store, kind: str, dim: int) -> None:
    """Create one collection of the current schema."""
    from pymilvus import DataType, MilvusClient

    from .tokens import MAX_WORDS

    rows = ("frames", "cues", "sounds", "pictures")  # kinds of vector rows; the others hold one row per key
    s = MilvusClient.create_schema(auto_id=kind in rows, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    params = store.client.prepare_index_params()
    if kind in ("frames", "pictures"):
        s.add_field("video_id", DataType.INT64)
        s.add_field("slot", DataType.INT64)
        s.add_field("t", DataType.DOUBLE)
    elif kind == "cues":
        s.add_field("video_id", DataType.INT64)
        s.add_field("start", DataType.DOUBLE)
        s.add_field("end", DataType.DOUBLE)
        s.add_field("lang", DataType.VARCHAR, max_length=64)
        s.add_field("speaker", DataType.VARCHAR, max_length=512)
        s.add_field("source", DataType.VARCHAR, max_length=16)
        s.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES + 16)
        s.add_field("extra", DataType.JSON)
        s.add_field("terms", DataType.ARRAY, element_type=DataType.INT64, max_capacity=MAX_WORDS)
    elif kind == "sounds":
        s.add_field("video_id", DataType.INT64)
        s.add_field("start", DataType.DOUBLE)
        s.add_field("end", DataType.DOUBLE)
    elif kind == "videos":
        s.add_field("path", DataType.VARCHAR, max_length=PATH_BYTES + 16)
        s.add_field("record", DataType.JSON)
    else:
        s.add_field("info", DataType.JSON)
    # Milvus wants a vector in every collection: videos and meta get a 2-d pad.
    vec = "vec" if kind in rows else "pad"
    s.add_field(vec, DataType.FLOAT_VECTOR, dim=dim if vec == "vec" else 2)
    index, built = vector_index(store) if vec == "vec" else ("AUTOINDEX", {})
    params.add_index(vec, index_type=index, metric_type="IP", params=built)
    name = store.names[kind]
    if store.config.is_lite:
        milvus_lite.drop_half_created(Path(store.opened), name)
    store.call("create", store.client.create_collection, name, schema=s, index_params=params)


def vector_index(store) -> tuple[str, dict]:
    """The vector index and its build parameters: FLAT (exact) in Milvus Lite (in process, or
    behind `milvus-lite server`), HNSW on a Milvus server.

    Milvus Lite's HNSW is a faiss graph that loses rows: static slides store one vector many times
    over, and among duplicates the graph cannot reach most of them (with a filter on one video, 3
    to 19 of its 100 rows came back, tests/test_store.py); an exact search over 100k vectors takes
    milliseconds. A server's HNSW is searched with a breadth set from the limit (`search_breadth`).
    """
    return ("FLAT", {}) if store.exact else ("HNSW", dict(HNSW))


def search_breadth(store, limit: int) -> dict:
    """Search parameters for `limit` hits: HNSW's ef, twice the limit and at least 256, within
    Milvus's 32768. On film-like vectors at 1,000,000 stored seconds ef 64 found 0.82 of the exact
    top 10, 256 found 0.95 (`python benchmarks/query.py --uri`, docs/scale.md)."""
    if store.exact:
        return {"metric_type": "IP"}
    return {"metric_type": "IP", "params": {"ef": min(32768, max(256, 2 * limit))}}


def exact_search(store) -> None:
    """Rebuild the frame and cue vector indexes of a Milvus Lite index made with AUTOINDEX as FLAT."""
    wanted, _ = vector_index(store)
    for kind in ("frames", "cues"):
        name = store.names[kind]
        found = store.call("open", store.client.describe_index, name, "vec")
        if found and found.get("index_type") == wanted:
            continue
        store.call("write", store.client.release_collection, name)
        if found:
            store.call("write", store.client.drop_index, name, "vec")
        params = store.client.prepare_index_params()
        params.add_index("vec", index_type=wanted, metric_type="IP")
        store.call("write", store.client.create_index, name, params)
        store.call("open", store.client.load_collection, name)


def migrate(store, meta: dict) -> dict:
    """Rewrite an older index's cues into this version's collection, video by video, their words
    counted from the text they keep; frames, sounds and records stay as they are.

    The meta row is the commit: a run killed before it leaves the old cues in place and a
    partial new collection, which the next run drops and writes again. On a server, where
    several writers may open the index at once (`ingest --shard`), one claims the migration and
    the others stop (IndexBusy: cron's next run finds it done).
    """
    version = int(meta.get("schema") or 1)
    legacy, name = f"{store.config.collection}_{CUES[version]}", store.names["cues"]
    if not store.exact and not _claimed(store):
        raise IndexBusy(f"index {store.config.where} is being brought up to date by "
                        "another vsearch process: retry when it is done (a few minutes)")
    if store.call("open", store.client.has_collection, name):
        store.call("write", store.client.drop_collection, name)
    create_collection(store, "cues", int(meta.get("text_dim") or meta["dim"]))
    store.call("open", store.client.load_collection, legacy)
    store.dim = int(meta["dim"])  # videos() below must not check (and migrate) again
    fields = ["start", "end", "lang", "speaker", "text", "vec"] + (["source", "extra"] if version > 1 else [])
    for record in store.videos():
        rows = list(store.rows(legacy, f"video_id == {int(record.id)}", fields))
        cues = [Cue(r["start"], r["end"], lang=r["lang"], speaker=r["speaker"],
                    source=r.get("source") or Source.SUBTITLE, **(written(r) if version > 1 else {"text": r["text"]}))
                for r in rows]
        store.insert_cues(record.id, cues, [r["vec"] for r in rows])
    store.settle("cues")
    meta = {**meta, "schema": SCHEMA_VERSION}
    store.put_meta(meta)
    drop_old_cues(store)
    if not store.exact:
        store.delete(store.names["meta"], ids=[1])  # the claim
    return meta


# How long a claim on a migration holds (a writer killed mid-migration frees it after this).
_CLAIM_SECONDS = 1800


def _claimed(store) -> bool:
    """Whether this process may migrate the server's index: it wrote the claim row (meta id 1)
    where no other writer's fresh one stood, and the row still names it a moment later (of two
    writers claiming at once, the later write wins and the other sees it)."""
    import time
    import uuid

    def holder() -> dict:
        rows = store.query(store.names["meta"], "", ["info"], ids=[1])
        return rows[0]["info"] if rows else {}

    mine = uuid.uuid4().hex
    held = holder()
    if held.get("migrating") and time.time() - float(held.get("at", 0)) < _CLAIM_SECONDS:
        return False
    store.call("write", store.client.upsert, store.names["meta"],
               [{"id": 1, "info": {"migrating": mine, "at": time.time()}, "pad": [1.0, 0.0]}])
    time.sleep(1.0)
    return holder().get("migrating") == mine


def drop_old_cues(store) -> None:
    """Drop the cues collections of older versions that a migration killed after its commit left."""
    for version, suffix in CUES.items():
        name = f"{store.config.collection}_{suffix}"
        if version < SCHEMA_VERSION and store.call("open", store.client.has_collection, name):
            store.call("write", store.client.drop_collection, name)


def read_old(store, meta: dict) -> dict:
    """Read an older index that cannot be written here as it is: its cues collection, searched by
    vector only (its words were never counted by vsearch)."""
    version = int(meta.get("schema") or 1)
    store.names["cues"] = f"{store.config.collection}_{CUES[version]}"
    store.legacy = version
    store.call("open", store.client.load_collection, store.names["cues"])
    return {**meta, "schema": SCHEMA_VERSION}
