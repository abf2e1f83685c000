"""vsearch.index.lite returns exactly what Milvus Lite's own search returns, only faster."""

import time
from types import SimpleNamespace

import milvus_lite
import numpy as np
import pytest

from vsearch.index import lite
from vsearch.index.lite import rows
from vsearch.index.lite.dense import search_dense

WORDS = "alpha beta gamma delta vector database frame lecture".split()
DIM = 8


def _text(rng) -> str:
    return " ".join(rng.choice(WORDS, rng.integers(1, 6)))


def _rows(rng, ids, partition_tag):
    vecs = rng.normal(size=(len(ids), DIM)).astype(np.float32)
    return [{"id": int(i), "vec": v.tolist(), "tag": int(rng.integers(0, 8)), "text": _text(rng),
             "terms": [int(t) for t in rng.integers(0, 40, rng.integers(0, 6))]}
            for i, v in zip(ids, vecs)]


def collection(folder, name: str, text: bool):
    """A Milvus Lite client with collection `name`: id, tag, a FLAT vector and, with `text`, text and word ids."""
    from pymilvus import DataType, MilvusClient

    lite.install()
    client = MilvusClient(str(folder / f"{name}.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    params = client.prepare_index_params()
    if text:
        schema.add_field("text", DataType.VARCHAR, max_length=200)
        schema.add_field("terms", DataType.ARRAY, element_type=DataType.INT64, max_capacity=64, nullable=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    params.add_index("vec", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=params)
    return client


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Segments in two partitions, upserts across them, flushed and pending deletes, a MemTable."""
    client = collection(tmp_path_factory.mktemp("lite"), "c", text=True)
    client.create_partition("c", "p2")
    rng = np.random.default_rng(7)
    client.insert("c", _rows(rng, range(0, 300), 0))
    client.insert("c", _rows(rng, range(300, 450), 0), partition_name="p2")
    client.flush("c")
    client.upsert("c", _rows(rng, range(0, 60), 0))                          # newer in a segment
    client.upsert("c", _rows(rng, range(60, 80), 0), partition_name="p2")    # moved partition
    client.delete("c", ids=list(range(100, 130)))
    client.flush("c")
    client.delete("c", ids=list(range(130, 150)) + list(range(10, 15)))      # pending in MemTable
    client.insert("c", _rows(rng, range(450, 500), 0))                      # MemTable rows
    client.upsert("c", _rows(rng, range(200, 210), 0))                       # MemTable shadows segment
    client.insert("c", [{"id": 900 + i, "vec": [1.0] * DIM, "tag": 1, "text": "same words here", "terms": None}
                        for i in range(6)])                                   # ties; no word ids
    client.load_collection("c")
    yield client
    client.close()


@pytest.fixture
def stock():
    """Run a search through Milvus Lite's own code."""
    def run(fn):
        lite.uninstall()
        try:
            return fn()
        finally:
            lite.install()
    return run


def _plain(results) -> list:
    return [[(h["id"], h["distance"], dict(h["entity"])) for h in hits] for hits in results]


QUERIES = np.random.default_rng(3).normal(size=(3, DIM)).astype(np.float32)


@pytest.mark.parametrize("kwargs", [
    {"limit": 5},
    {"limit": 400},
    {"limit": 30, "filter": "tag > 3"},
    {"limit": 30, "filter": "tag in [1, 2]", "partition_names": ["p2"]},
    {"limit": 50, "partition_names": ["_default"]},
    {"limit": 20, "output_fields": ["tag", "text"]},
    {"limit": 20, "output_fields": ["*"]},
    {"limit": 20, "output_fields": ["vec"]},
])
def test_dense_search_matches_milvus_lite(client, stock, kwargs):
    def search():
        return _plain(client.search("c", data=QUERIES.tolist(), anns_field="vec",
                                    search_params={"metric_type": "IP"}, **kwargs))
    fast = search()
    assert fast == stock(search)
    ids = {hit[0] for hits in fast for hit in hits}
    assert not ids & set(range(100, 150)) and not ids & set(range(10, 15))  # deletes hold


@pytest.mark.parametrize("read", [
    lambda c: c.query("c", filter="tag > 2", output_fields=["tag", "text"], limit=50),
    lambda c: c.query("c", filter="id < 40", output_fields=["*"]),
    lambda c: c.get("c", ids=[1, 12, 205, 460, 903], output_fields=["id", "tag"]),
    lambda c: c.get("c", ids=[3, 300, 901]),
    lambda c: c.query("c", filter="", output_fields=["count(*)"]),
    lambda c: c.query("c", filter="tag == 3", output_fields=["count(*)"]),
    lambda c: c.query("c", filter="id > 100", output_fields=["tag"], limit=30, offset=20),
    lambda c: c.query("c", filter="tag < 4", partition_names=["p2"], output_fields=["text"]),
    lambda c: [list(batch) for batch in iter(c.query_iterator("c", batch_size=64, filter="tag != 5",
                                                              output_fields=["tag"]).next, [])],
    # vsearch's word lookups, computed by Arrow (rows.segment_filter)
    lambda c: c.query("c", filter="array_contains_any(terms, [3, 17, 39])", output_fields=["terms"], limit=16384),
    lambda c: c.query("c", filter="array_contains_any(terms, [5]) and tag in [1, 2, 6]", output_fields=["tag"]),
    lambda c: c.query("c", filter="tag > 2 and array_contains_any(terms, [1, 2]) and id < 400", output_fields=["id"]),
    lambda c: c.query("c", filter="array_contains_any(terms, [99])", output_fields=["id"]),
    lambda c: c.query("c", filter="array_contains(terms, 7)", output_fields=["count(*)"]),
    lambda c: c.query("c", filter="array_contains_any(terms, [8, 9])", output_fields=["count(*)"]),
    lambda c: [list(batch) for batch in iter(c.query_iterator(
        "c", batch_size=50, filter="array_contains_any(terms, [4, 11, 20])", output_fields=["terms"]).next, [])],
])
def test_queries_and_gets_match_milvus_lite(client, stock, read):
    """They share the projection `lite` replaces."""
    assert read(client) == stock(lambda: read(client))


def test_every_live_row_once(client):
    live = client.query("c", filter="", output_fields=["count(*)"])[0]["count(*)"]
    hits = client.search("c", data=QUERIES[:1].tolist(), anns_field="vec", limit=1000,
                         search_params={"metric_type": "IP"})[0]
    ids = [h["id"] for h in hits]
    assert len(ids) == len(set(ids)) == live


def test_results_stay_identical_across_a_compaction(tmp_path, stock):
    from pymilvus import DataType, MilvusClient

    lite.install()
    client = MilvusClient(str(tmp_path / "c.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    params = client.prepare_index_params()
    params.add_index("vec", index_type="FLAT", metric_type="IP")
    client.create_collection("c", schema=schema, index_params=params)
    rng = np.random.default_rng(1)

    def search():
        return _plain(client.search("c", data=QUERIES.tolist(), anns_field="vec", limit=300,
                                    search_params={"metric_type": "IP"}))
    for r in range(6):
        client.insert("c", [{"id": r * 40 + i, "vec": v.tolist()} for i, v in enumerate(rng.normal(size=(40, DIM)))])
        client.upsert("c", [{"id": r, "vec": rng.normal(size=DIM).tolist()}])
        client.delete("c", ids=[r * 40 + 7])
        client.flush("c")
        assert search() == stock(search)
    # Milvus Lite merges a partition's files once four have been flushed, in the background.
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("c.db/**/data_*.parquet"))) > 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(tmp_path.glob("c.db/**/data_*.parquet"))) == 3
    after = search()
    assert after == stock(search)
    assert len(after[0]) == 6 * 40 - 6
    client.close()


def test_cached_keys_follow_the_segment_not_its_file_name():
    """A compaction may write a file under a name an older segment had."""
    old = SimpleNamespace(file_path="data_000001_000009.parquet", pks=[4, 5, 6], seqs=np.array([1, 2, 9], dtype=np.uint64))
    assert rows._segment_arrays(old)[0].tolist() == [4, 5, 6]
    new = SimpleNamespace(file_path=old.file_path, pks=[4, 6], seqs=np.array([1, 9], dtype=np.uint64))
    assert rows._segment_arrays(new)[0].tolist() == [4, 6]


def test_find_gives_the_same_segments_with_fast_lite_off(env, rgb_video, monkeypatch):
    from conftest import find_json, run_cli
    from milvus_lite.engine import collection
    from milvus_lite.search import executor_indexed

    run_cli("index", str(rgb_video))
    fast = [find_json(q) for q in ("green grass", "向量数据库", "blue")]
    assert all(fast)
    monkeypatch.setenv("VSEARCH_FAST_LITE", "0")
    assert [find_json(q) for q in ("green grass", "向量数据库", "blue")] == fast
    assert collection.execute_search_with_index is executor_indexed.execute_search_with_index
    monkeypatch.delenv("VSEARCH_FAST_LITE")
    find_json("blue")
    assert collection.execute_search_with_index is search_dense


def test_the_installed_milvus_lite_is_one_mirrored():
    """pyproject.toml admits only mirrored versions; another one would run every search ~5x slower."""
    assert milvus_lite.__version__ in lite.MIRRORED


def test_another_version_keeps_its_own_code_and_says_so_once(env, rgb_video, monkeypatch, caplog):
    from conftest import run_cli
    from milvus_lite.engine import collection

    from vsearch.finding import here
    from vsearch.index import milvus_lite as adapter
    from vsearch.request import FindRequest
    from vsearch.settings import load_settings

    run_cli("index", str(rgb_video))
    lite.uninstall()
    monkeypatch.setattr(milvus_lite, "__version__", "9.9.9")
    monkeypatch.setattr(adapter, "_warned", [])
    stock = collection.execute_search_with_index
    assert lite.install() is False and collection.execute_search_with_index is stock
    for _ in range(2):
        assert here(load_settings(), FindRequest(query="blue", k=10)).segments
    warned = [r.getMessage() for r in caplog.records if "9.9.9" in r.getMessage()]
    assert len(warned) == 1 and "milvus-lite==3.2.2" in warned[0]


@pytest.fixture(scope="module")
def flushed(tmp_path_factory):
    """Many flushed segments and nothing in the MemTable: searched as one stacked matrix."""
    client = collection(tmp_path_factory.mktemp("stacked"), "s", text=False)
    rng = np.random.default_rng(11)
    base = rng.normal(size=(5, DIM)).astype(np.float32)
    for part in range(7):  # a video per segment; duplicates as static frames make them
        ids = range(part * 40, part * 40 + 40)
        vecs = [base[rng.integers(0, 5)] if i % 3 else rng.normal(size=DIM).astype(np.float32) for i in ids]
        client.insert("s", [{"id": i, "tag": part, "vec": v.tolist()} for i, v in zip(ids, vecs)])
        client.flush("s")
    client.delete("s", ids=[3, 4, 50])
    client.flush("s")
    client.load_collection("s")
    yield client
    client.close()


@pytest.mark.parametrize("kwargs", [{"limit": 5}, {"limit": 100}, {"limit": 400}, {"limit": 30, "filter": "tag == 2"},
                                    {"limit": 30, "filter": "tag in [1, 5]", "output_fields": ["tag"]}])
def test_stacked_dense_search_matches_milvus_lite(flushed, stock, kwargs):
    def search():
        return _plain(flushed.search("s", data=QUERIES.tolist(), anns_field="vec",
                                     search_params={"metric_type": "IP"}, **kwargs))
    fast, own = search(), stock(search)
    # The same distances in the same order; among exact ties (the duplicates) Milvus Lite keeps
    # whichever rows its per-segment partition happened to, vsearch the first by segment and row.
    assert [[h[1] for h in hits] for hits in fast] == [[h[1] for h in hits] for hits in own]
    untied = [[h for h in hits if [x[1] for x in hits].count(h[1]) == 1] for hits in fast]
    assert untied == [[h for h in hits if [x[1] for x in hits].count(h[1]) == 1] for hits in own]
    assert any(untied)


def test_word_lookups_in_process_rank_as_the_client_path(tmp_path):
    """index/lite/words.py against the lookup through the client (Milvus Lite's own query):
    the same hits, scores and order, with re-indexed videos (deleted rows), a video filter and ties."""
    from vsearch.extract import Cue
    from vsearch.index import Store, StoreConfig, VideoRecord

    rng = np.random.default_rng(5)
    words = "vector database index 向量 数据库 frame lecture model".split()
    with Store(StoreConfig(str(tmp_path / "w.db"))) as store:
        store.create("m", DIM)
        for n in list(range(6)) + [2, 4]:  # 2 and 4 indexed twice: their first rows deleted
            cues = [Cue(float(t), t + 1.0, " ".join(rng.choice(words, rng.integers(1, 5)))) for t in range(20)]
            cues.append(Cue(30.0, 31.0, "vector database"))  # the same text in every video: ties
            rec = VideoRecord(n + 1, f"/v{n}.mp4", duration=40.0, model="m")
            store.replace_rows(rec, [0], [0.5], rng.normal(size=(1, DIM)).astype(np.float32), cues,
                               rng.normal(size=(len(cues), DIM)).astype(np.float32))

        def found():
            return [[(h.video_id, h.start, h.text, round(h.score, 9)) for h in store.search_words(q, 30, ids)]
                    for q in ("vector database", "向量数据库", "lecture", "nothing") for ids in (None, [2, 5])]
        assert lite.installed()
        fast = found()
        lite.uninstall()
        try:
            assert not lite.installed() and found() == fast
        finally:
            lite.install()
        assert fast[0] and fast[2] and not fast[6]
