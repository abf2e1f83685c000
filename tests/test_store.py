import math
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from vsearch.extract import Cue
from vsearch.index import IndexBusy, IndexMismatch, Store, StoreConfig, StoreError, VideoRecord, video_id
from vsearch.testing.rows import stored_rows


@pytest.fixture
def config(tmp_path):
    return StoreConfig(str(tmp_path / "idx.db"), busy_timeout=1.0)


def vecs(n, dim=4, seed=0):
    m = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def write(store, path, n_frames=5, cues=()):
    vid = video_id(path)
    rec = VideoRecord(vid, path, duration=float(n_frames), fps=1.0, model="m")
    return store.replace_rows(rec, list(range(n_frames)), [i + 0.5 for i in range(n_frames)],
                              vecs(n_frames), list(cues), vecs(len(cues), seed=1))


def test_reindex_replaces_rows(config):
    path = "/videos/it's a \"quoted\" name; drop = 1 or id > 0.mp4"
    cues = [Cue(0, 1, "hello"), Cue(1, 2, "你好 world")]
    with Store(config) as store:
        store.create("m", 4)
        write(store, path, 5, cues)
        write(store, path, 3, cues[:1])
        write(store, "/videos/other.mp4", 2)
        assert stored_rows(store, video_id(path)) == (3, 1)
        rec = store.get_video(video_id(path))
        assert (rec.path, rec.state, rec.frames, rec.cues) == (path, "done", 3, 1)
        assert [r.path for r in store.videos()] == sorted([path, "/videos/other.mp4"])
        store.remove(video_id(path))
        assert stored_rows(store, video_id(path)) == (0, 0) and store.get_video(video_id(path)) is None
        assert stored_rows(store, video_id("/videos/other.mp4")) == (2, 0)


def test_search_filters_by_video_and_bm25_handles_chinese(config):
    with Store(config) as store:
        store.create("m", 4)
        write(store, "/a.mp4", 4, [Cue(0, 2, "今天讲向量数据库的原理"), Cue(2, 3, "weather today")])
        write(store, "/b.mp4", 4, [Cue(0, 1, "向量 again")])
        hits = store.search_words("向量数据库", 10)
        assert hits[0].text == "今天讲向量数据库的原理" and hits[0].signal == "bm25"
        only_b = store.search_words("向量", 10, [video_id("/b.mp4")])
        assert {h.video_id for h in only_b} == {video_id("/b.mp4")}
        frames = store.search_frames(vecs(1)[0], 3, [video_id("/a.mp4")])
        assert len(frames) == 3 and all(h.video_id == video_id("/a.mp4") for h in frames)
        assert frames[0].score >= frames[1].score
        assert store.search_words("!!! ...", 10) == []


def test_data_survives_reopen(config):
    with Store(config) as store:
        store.create("m", 4)
        write(store, "/a.mp4", 6, [Cue(0, 2, "persisted")])
    with Store(config) as store:
        assert store.check("m", 4)["dim"] == 4
        assert stored_rows(store, video_id("/a.mp4")) == (6, 1)
        assert store.search_words("persisted", 5)[0].text == "persisted"


def test_other_model_is_refused(config):
    with Store(config) as store:
        store.create("model-a", 4)
    with Store(config) as store, pytest.raises(IndexMismatch, match="--home DIR or --collection"):
        store.create("model-b", 8)


def test_other_schema_version_is_refused(config):
    with Store(config) as store:
        store.create("m", 4)
        info = store.meta() | {"schema": 999}
        store.client.upsert("vsearch_meta", [{"id": 0, "info": info, "pad": [1.0, 0.0]}])
    with Store(config) as store, pytest.raises(IndexMismatch, match="schema version 999"):
        store.check()


@pytest.mark.slow
def test_busy_index_waits_then_fails(config):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from vsearch.index import Store, StoreConfig
        s = Store(StoreConfig({config.uri!r}))
        print("held", flush=True)
        time.sleep(4)
        s.close()
        print("released", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        began = time.monotonic()
        with pytest.raises(IndexBusy, match="busy"):
            Store(config)
        assert time.monotonic() - began >= 0.9
        assert holder.stdout.readline().strip() == "released"
        with Store(StoreConfig(config.uri, busy_timeout=5)) as store:  # freed by close()
            assert store.meta() is None
    finally:
        holder.kill()


def test_unreachable_server():
    with pytest.raises(StoreError, match="cannot reach Milvus at http://127.0.0.1:9"):
        Store(StoreConfig("http://127.0.0.1:9"))


def test_unwritable_index_location(tmp_path):
    # A file where the index folder should be fails like a read-only or full disk: one line.
    (tmp_path / "idx.db").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open index") as info:
        Store(StoreConfig(str(tmp_path / "idx.db"), busy_timeout=0.5))
    assert "\n" not in str(info.value)


def test_a_collection_half_created_by_a_killed_run_is_created_again(tmp_path):
    # Killed inside Milvus Lite's create_collection: its folder exists without schema.json, which
    # Milvus Lite counts as no collection yet refuses to create again on every later run.
    (tmp_path / "idx.db" / "collections" / "vsearch_videos").mkdir(parents=True)
    with Store(StoreConfig(str(tmp_path / "idx.db"))) as store:
        store.create("m", 4)
        assert store.check("m", 4)["dim"] == 4 and store.videos() == []


def test_collections_left_without_their_index_by_a_killed_run_are_made_again(tmp_path):
    """Killed between creating a collection and its index, before the meta row: the next run works."""
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(str(tmp_path / "idx.db"))
    s = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection("vsearch_frames", schema=s)  # no index_params: no index
    client.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(tmp_path / "idx.db"))
    with Store(StoreConfig(str(tmp_path / "idx.db"))) as store:
        store.create("m", 4)
        rec = VideoRecord(video_id("/a.mp4"), "/a.mp4", duration=2.0, model="m")
        store.replace_rows(rec, [0, 1], [0.5, 1.5], vecs(2), [], np.zeros((0, 4), np.float32))
    with Store(StoreConfig(str(tmp_path / "idx.db"))) as store:
        store.create("m", 4)  # a later run: the meta row is there, the index is checked
        assert [h.start for h in store.search_frames(vecs(1)[0], 2)] != []


def old_index(uri: str, version: int) -> None:
    """An index as an older vsearch wrote it, built with pymilvus: schema 1 (cues without sources)
    or 2 (cues with sources and their text as written; both scored by Milvus's own BM25)."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(uri)

    def make(name, fields, vec_dim, bm25=False, auto_id=True):
        s = MilvusClient.create_schema(auto_id=auto_id, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        for field, kind, kw in fields:
            s.add_field(field, kind, **kw)
        params = client.prepare_index_params()
        params.add_index("vec" if vec_dim != 2 else "pad", index_type="AUTOINDEX", metric_type="IP")
        if bm25:
            s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                    input_field_names=["text"], output_field_names=["sparse"]))
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        s.add_field("vec" if vec_dim != 2 else "pad", DataType.FLOAT_VECTOR, dim=vec_dim)
        client.create_collection(name, schema=s, index_params=params)

    cues = "vsearch_cues" if version == 1 else "vsearch_cues2"
    sources = [] if version == 1 else [("source", DataType.VARCHAR, {"max_length": 16}), ("extra", DataType.JSON, {})]
    make("vsearch_frames", [("video_id", DataType.INT64, {}), ("slot", DataType.INT64, {}),
                            ("t", DataType.DOUBLE, {})], 4)
    make(cues, [("video_id", DataType.INT64, {}), ("start", DataType.DOUBLE, {}),
                ("end", DataType.DOUBLE, {}), ("lang", DataType.VARCHAR, {"max_length": 64}),
                ("speaker", DataType.VARCHAR, {"max_length": 512}),
                ("text", DataType.VARCHAR, {"max_length": 8016, "enable_analyzer": True,
                                            "analyzer_params": {"tokenizer": "jieba", "filter": ["lowercase"]}}),
                *sources], 4, bm25=True)
    make("vsearch_videos", [("path", DataType.VARCHAR, {"max_length": 4112}),
                            ("record", DataType.JSON, {})], 2, auto_id=False)
    make("vsearch_meta", [("info", DataType.JSON, {})], 2, auto_id=False)
    vid = video_id("/v/old.mp4")
    record = {"id": vid, "path": "/v/old.mp4", "duration": 3.0, "model": "m", "state": "done", "frames": 3, "cues": 1}
    client.insert("vsearch_videos", [{"id": vid, "path": "/v/old.mp4", "record": record, "pad": [1.0, 0.0]}])
    client.insert("vsearch_frames", [{"video_id": vid, "slot": i, "t": i + 0.5, "vec": v.tolist()}
                                     for i, v in enumerate(vecs(3))])
    said = {"source": "asr", "extra": {"shown": "我們討論資料庫", "words": [[0, 0.6]]}} if version == 2 else {}
    client.insert(cues, [{"video_id": vid, "start": 0.5, "end": 2.0, "lang": "zh", "speaker": "",
                          "text": "我們討論資料庫" if version == 1 else "我们讨论资料库", **said,
                          "vec": vecs(1, seed=1)[0].tolist()}])
    client.insert("vsearch_meta", [{"id": 0, "info": {"schema": version, "model": "m", "dim": 4}, "pad": [1.0, 0.0]}])
    for name in ("vsearch_frames", cues, "vsearch_videos", "vsearch_meta"):
        client.flush(name)
    client.close()


@pytest.mark.slow
@pytest.mark.parametrize("version,source", [(1, "subtitle"), (2, "asr")])
def test_an_older_index_is_read_as_it_is_and_migrated_when_written(config, tmp_path, version, source):
    from vsearch.query.search import _old_index

    old_index(config.uri, version)
    vid = video_id("/v/old.mp4")
    with Store(config, write=False) as store:  # reading never rewrites an index
        store.check("m", 4)
        assert store.search_cues(vecs(1, seed=1)[0], 1)[0].text == "我們討論資料庫"
        assert store.search_words("資料庫", 5) == []  # its words were never counted: said in a note
        assert "brings it up to date" in _old_index(store, {"bm25": 1.0})["bm25"]
    with Store(config) as store:
        assert store.check("m", 4)["schema"] == 3
        assert stored_rows(store, vid) == (3, 1)
        assert not store.client.has_collection("vsearch_cues") and not store.client.has_collection("vsearch_cues2")
        for query in ("资料库", "資料庫"):  # Simplified and Traditional both find it, now folded
            hit = store.search_words(store.folded(query), 5)[0]
            assert (hit.video_id, hit.text, hit.source, hit.lang) == (vid, "我們討論資料庫", source, "zh")
        assert store.search_cues(vecs(1, seed=1)[0], 1)[0].text == "我們討論資料庫"
        write(store, "/v/new.mp4", 2, [Cue(0, 1, "fresh", source="asr", words=((0, 0.2),), lang_prob=0.5)])
        assert [(c.text, c.words, c.lang_prob) for c in store.cues_of(video_id("/v/new.mp4"), "asr")] == [
            ("fresh", ((0, 0.2),), 0.5)]
        assert not _old_index(store, {"bm25": 1.0})


def test_static_slides_stay_findable_among_duplicate_vectors(config, tmp_path):
    """Many copies of few vectors (static frames reuse theirs) under a filter: every row comes back.

    Milvus Lite's AUTOINDEX is an HNSW graph that returned 3 to 19 of 100 such rows; an index made
    that way is rebuilt exact when opened for writing.
    """
    from pymilvus import MilvusClient

    rng = np.random.default_rng(0)
    base = vecs(4)
    with Store(config) as store:
        store.create("m", 4)
        for n in range(6):
            rec = VideoRecord(video_id(f"/v/{n}.mp4"), f"/v/{n}.mp4", duration=60.0, model="m")
            store.replace_rows(rec, list(range(60)), [i + 0.5 for i in range(60)],
                               base[rng.integers(0, 4, 60)], [], np.zeros((0, 4), np.float32))
    def reachable(store):
        return [len(store.search_frames(vecs(1, seed=5)[0], 500, [video_id(f"/v/{n}.mp4")])) for n in range(6)]
    with Store(config, write=False) as store:
        store.check()
        assert reachable(store) == [60] * 6
    client = MilvusClient(config.uri)  # as an earlier vsearch made it: AUTOINDEX
    client.release_collection("vsearch_frames")
    client.drop_index("vsearch_frames", "vec")
    params = client.prepare_index_params()
    params.add_index("vec", index_type="AUTOINDEX", metric_type="IP")
    client.create_index("vsearch_frames", params)
    client.close()
    with Store(config) as store:
        store.check()
        assert store.client.describe_index("vsearch_frames", "vec")["index_type"] == "FLAT"
        assert reachable(store) == [60] * 6


@pytest.mark.parametrize("given,refused", [
    ({"model": "m", "dim": 4}, None),
    ({"model": "m", "dim": 8}, "--model m,"),
    ({"model": "other"}, "--model m,"),
    ({"text_model": "e5", "text_dim": 4}, None),
    ({"text_model": "image"}, "--text-model e5,"),
    ({"audio": ("clap", 512)}, None),
    ({"audio": ("clap", 256)}, "--audio-model clap,"),
    ({"audio": ("test-tones", 10)}, "--audio-model clap,"),
])
def test_models_are_matched_against_the_meta_row_with_the_flag_to_pass(given, refused):
    from vsearch.index.models_check import matched

    meta = {"model": "m", "dim": 4, "text_model": "e5", "text_dim": 4, "audio_model": "clap", "audio_dim": 512}
    if refused is None:
        assert matched(meta, "idx.db", **given) == meta
    else:
        with pytest.raises(IndexMismatch, match=refused):
            matched(meta, "idx.db", **given)


def test_an_index_without_text_or_sound_models_reads_as_the_image_tower_and_takes_any_sound(tmp_path):
    from vsearch.index.models_check import matched

    meta = matched({"model": "m", "dim": 4}, "idx.db", "m", 4, "image", 4, ("clap", 512))
    assert (meta["text_model"], meta["text_dim"]) == ("image", 4) and "audio_model" not in meta
    folder = tmp_path / "moved"
    folder.mkdir()  # the model folder at its new place; the stored one is gone
    meta = matched({"model": str(tmp_path / "gone"), "dim": 4}, "idx.db", str(folder), 4)
    assert (meta["model"], meta["moved_from"]) == (str(folder), str(tmp_path / "gone"))


@pytest.mark.parametrize("version,refused", [
    ("v2.3.5-lite", False), ("v2.3.0", False), ("2.5.16", False), ("v2.6.0-rc1", False), ("v3.0.1", False),
    ("v2.2.16", True), ("v2.1.4", True), ("1.1.1", True),
    ("Zilliz Cloud (Dedicated)", False), ("", False),  # not a release number: the service answers for itself
])
def test_a_server_too_old_is_refused_before_anything_is_made(version, refused):
    from vsearch.index.server import refusal

    said = refusal(version, "http://milvus:19530")
    assert (said is not None) is refused
    if refused:
        assert said.startswith(f"Milvus at http://milvus:19530 is {version}") and "2.3 or newer" in said


def test_bm25_by_hand():
    from vsearch.index.lexical import B, K1, flat
    from vsearch.index.lexical import bm25 as scored

    def bm25(docs, query, total, frequencies=None):
        return scored(*flat(docs), query, total, frequencies)

    docs, query = [[1, 1, 2], [2], [3, 4]], [1, 2]
    avg = (3 + 1 + 2) / 3

    def part(tf, df, length, n=10):
        return math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
    want = [part(2, 1, 3) + part(1, 2, 3), part(1, 2, 1), 0.0]
    assert bm25(docs, query, 10) == pytest.approx(want)
    # a given document frequency outranks the candidates' own count
    assert bm25(docs, query, 10, {1: 5})[0] == pytest.approx(part(2, 5, 3) + part(1, 2, 3))


def test_a_word_in_more_cues_than_one_window_holds(config):
    """The rarer words' cues are read whole; the common word's frequency is counted, not guessed."""
    from vsearch.index import lexical
    from vsearch.index.tokens import word_id

    said = ["common rare" if t in (3, 9) else "common medium" if t % 4 == 0 else "common words" for t in range(12)]
    with Store(config) as store:
        store.create("m", 4)
        write(store, "/v/a.mp4", 2, [Cue(float(t), t + 1.0, text) for t, text in enumerate(said)])
        words = [word_id("common"), word_id("medium"), word_id("rare")]
        rows, counts = lexical.candidates(store, store.names["cues"], words, "", window=4)
        assert counts == dict(zip(words, (12, 3, 2)))
        found = {r["start"] for r in rows}  # the first window, and the rarest word's cues that fit beside it
        assert {3.0, 9.0} <= found and len(rows) == len({r["id"] for r in rows}) < 12
        assert [h.start for h in store.search_words("rare common", 3)] == [3.0, 9.0, 0.0]
        assert store.search_words("the of and", 3) == []  # stop words only: nothing to look up
