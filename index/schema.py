"""The collections of an index, as this version writes them, and the step from version 1.

2: cues keep their source (subtitle, asr, ocr) and, in `extra`, their original text, word times
and language probability; their `text` is folded for matching. A version 1 index is migrated
when first opened for writing, and read as it is until then. The sounds collection is made the
first time a sound model writes (its model is then in the meta row); an index without one has
no sound signal, and needs no new version.
"""

from pathlib import Path

from vsearch.extract import Cue

from . import milvus_lite

SCHEMA_VERSION = 2
TEXT_BYTES = 8000
PATH_BYTES = 4096


def create_collection(store, kind: str, dim: int) -> None:
    """Create one collection of the current schema."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    s = MilvusClient.create_schema(auto_id=kind in ("frames", "cues", "sounds"), enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    params = store.client.prepare_index_params()
    if kind == "frames":
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
        s.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES + 16, enable_analyzer=True,
                    analyzer_params={"tokenizer": "jieba", "filter": ["lowercase"]})
        s.add_field("extra", DataType.JSON)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                input_field_names=["text"], output_field_names=["sparse"]))
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
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
    vec = "vec" if kind in ("frames", "cues", "sounds") else "pad"
    s.add_field(vec, DataType.FLOAT_VECTOR, dim=dim if vec == "vec" else 2)
    params.add_index(vec, index_type=vector_index(store) if vec == "vec" else "AUTOINDEX", metric_type="IP")
    name = store.names[kind]
    if store.config.is_lite:
        milvus_lite.drop_half_created(Path(store.opened), name)
    store.call("create", store.client.create_collection, name, schema=s, index_params=params)


def vector_index(store) -> str:
    """FLAT (exact) in Milvus Lite, whose AUTOINDEX is a faiss HNSW graph that loses rows.

    Static slides store one vector many times over, and among duplicates the graph cannot reach
    most of them: with a filter on one video, 3 to 19 of its 100 rows came back
    (tests/test_store.py). An exact search over 100k vectors takes milliseconds. A server keeps AUTOINDEX.
    """
    return "FLAT" if store.config.is_lite else "AUTOINDEX"


def exact_search(store) -> None:
    """Rebuild the frame and cue vector indexes of a Milvus Lite index made with AUTOINDEX as FLAT."""
    wanted = vector_index(store)
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


def migrate_v1(store, meta: dict) -> dict:
    """Rewrite a version 1 index's cues into the version 2 collection, video by video.

    The meta row is the commit: a run killed before it leaves the old cues in place and a
    partial new collection, which the next run drops and writes again.
    """
    legacy, name = f"{store.config.collection}_cues", store.names["cues"]
    if store.call("open", store.client.has_collection, name):
        store.call("write", store.client.drop_collection, name)
    create_collection(store, "cues", int(meta["dim"]))
    store.call("open", store.client.load_collection, legacy)
    store.dim = int(meta["dim"])  # videos() below must not check (and migrate) again
    fields = ["video_id", "start", "end", "lang", "speaker", "text", "vec"]
    for record in store.videos():
        rows = store.call("read", store.client.query, legacy, filter=f"video_id == {int(record.id)}",
                          output_fields=fields, limit=16384)
        cues = [Cue(r["start"], r["end"], r["text"], r["lang"], r["speaker"]) for r in rows]
        store.insert_cues(record.id, cues, [r["vec"] for r in rows])
    store.call("write", store.client.flush, name)
    meta = {**meta, "schema": SCHEMA_VERSION}
    store.put_meta(meta)
    store.call("write", store.client.drop_collection, legacy)
    return meta


def read_v1(store, meta: dict) -> dict:
    """Read a version 1 index that cannot be written: its cues collection, without sources."""
    store.names["cues"] = f"{store.config.collection}_cues"
    store.legacy = True
    store.call("open", store.client.load_collection, store.names["cues"])
    return {**meta, "schema": SCHEMA_VERSION}
