"""The index on a real Milvus server: the standalone binary of the `milvus` wheel (2.3.5), started
once for the module with authentication on (vsearch.testing.milvus_server). Every command runs
on it, reads see the run's own writes, paging goes past the 16384-row window, and `vsearch copy`
moves an index Lite -> server -> Lite with the same answers."""

import json

import numpy as np
import pytest
from conftest import find_json, free_port, run_cli

from vsearch.extract import Cue
from vsearch.index import Store, StoreConfig, VideoRecord
from vsearch.index.milvus_lite import StoreError
from vsearch.testing.media import colour_video, write_vtt
from vsearch.testing.milvus_server import TOKEN, running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def milvus(tmp_path_factory):
    """The server's URI: one started for the module, or VSEARCH_TEST_MILVUS_URI's, already running
    with authentication on (one server a machine: its etcd's port is fixed)."""
    import os

    if os.environ.get("VSEARCH_TEST_MILVUS_URI"):
        yield os.environ["VSEARCH_TEST_MILVUS_URI"]
        return
    pytest.importorskip("milvus", reason="the milvus wheel (Linux x86-64) runs the real server")
    with running(tmp_path_factory.mktemp("milvus")) as uri:
        yield uri


@pytest.fixture
def on_server(env, milvus, monkeypatch):
    """`env` with its index on the server, in collections of this test's own."""
    monkeypatch.setenv("VSEARCH_URI", milvus)
    monkeypatch.setenv("VSEARCH_TOKEN", TOKEN)
    monkeypatch.setenv("VSEARCH_COLLECTION", _fresh())
    return milvus


def _fresh() -> str:
    """A collection prefix no earlier run used (a server given by VSEARCH_TEST_MILVUS_URI keeps them)."""
    import uuid

    return f"t{uuid.uuid4().hex[:12]}"


def _videos(folder):
    first = colour_video(folder / "lecture one.mp4", [("red", 4), ("green", 4), ("blue", 4)], audio=True)
    write_vtt(folder / "lecture one.en.vtt", [(4.5, 6.5, "now the grass appears"), (8.5, 10.5, "the sky is blue")])
    write_vtt(folder / "lecture one.zh.vtt", [(9.0, 11.0, "这里讲向量数据库")])
    second = colour_video(folder / "two's.mp4", [("yellow", 5), ("blue", 5)])
    write_vtt(folder / "two's.vtt", [(1.0, 3.0, "a database of yellow things"), (6.0, 8.0, "blue again")])
    return first, second


def test_every_command_on_the_server(on_server, tmp_path, monkeypatch):
    first, second = _videos(tmp_path)
    run_cli("index", str(first), str(second))
    # Read right after the write, in new commands: every record is there, done.
    listed = [json.loads(line) for line in run_cli("list", "--json").stdout.splitlines()]
    wanted = sorted((str(p.resolve()), "done") for p in (first, second))
    assert sorted((v["path"], v["state"]) for v in listed) == wanted
    [talk] = find_json("向量数据库", "-k", "1")
    assert talk["cue"] == "这里讲向量数据库" and talk["signals"].get("bm25")
    found = find_json("database", "-k", "5")
    assert {f["cue"] for f in found if f["cue"]} >= {"a database of yellow things"}
    [sky] = find_json("blue", "--video", str(second), "-k", "1")
    assert sky["video"] == str(second.resolve()) and sky["seek"] >= 5.0
    assert all(f["lang"] == "zh" for f in find_json("向量", "--lang", "zh"))
    assert all(f["source"] in ("subtitle", None) for f in find_json("grass", "--source", "subtitle"))
    picture = tmp_path / "blue.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (0, 0, 255)).save(picture)
    assert find_json("--image", str(picture), "-k", "1")[0]["best_frame"] is not None
    assert "这里讲向量数据库" in run_cli("transcript", str(first)).stdout
    assert run_cli("chapters", str(first)).exit_code == 0
    assert "2 videos" in run_cli("status").stdout + run_cli("status").stderr
    run_cli("remove", str(second))
    left = [json.loads(line)["path"] for line in run_cli("list", "--json").stdout.splitlines()]
    assert left == [str(first.resolve())]
    assert not any(f["video"] == str(second.resolve()) for f in find_json("database"))


def test_ingest_shards_and_eval_on_the_server(on_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_INGEST_SETTLE_SECONDS", "0")
    _videos(tmp_path)
    owned = [json.loads(run_cli("ingest", "--json", str(tmp_path), "--shard", f"{i}/2").stdout) for i in range(2)]
    assert sum(len(o["videos"]) for o in owned) == 2
    rows = [{"query": "yellow things", "video": "two's.mp4", "relevant_windows": [[0, 5]]}]
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    report = json.loads(run_cli("eval", str(tmp_path / "q.jsonl"), "--json").stdout)
    assert report["queries"] == 1 and report["metrics"]["bm25"]["hit@1"] == 1.0


def test_serve_on_the_server(on_server, tmp_path):
    import subprocess
    import sys
    import time
    import urllib.request

    first, _ = _videos(tmp_path)
    run_cli("index", str(first))
    port = free_port()
    import os

    token = "a-token-of-twenty-chars"
    serving = subprocess.Popen([sys.executable, "-m", "vsearch", "serve", "--port", str(port), "--serve-token", token],
                               env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/find?q=grass&k=1&token={token}") as answer:
                    results = json.loads(answer.read())["results"]
                break
            except OSError:
                assert time.monotonic() < deadline and serving.poll() is None, serving.stderr.read()
                time.sleep(0.3)
        assert results[0]["cue"] == "now the grass appears"
    finally:
        serving.terminate()
        serving.wait(timeout=30)


def test_copy_lite_to_server_to_lite_gives_the_same_answers(env, milvus, tmp_path):
    first, second = _videos(tmp_path)
    run_cli("index", str(first), str(second))
    queries = ["blue", "向量数据库", "database", "grass green"]
    lite = [find_json(q, "-k", "5") for q in queries]
    copied = _fresh()
    server = ["--uri", milvus, "--token", TOKEN, "--collection", copied]
    said = run_cli("copy", milvus, "--to-token", TOKEN, "--to-collection", copied, "--json")
    assert json.loads(said.stdout)["copied"] == 2
    again = run_cli("copy", milvus, "--to-token", TOKEN, "--to-collection", copied, "--json")
    assert json.loads(again.stdout) == {"copied": 0, "kept": 2, "rows": 0}  # idempotent
    assert [find_json(q, "-k", "5", *server) for q in queries] == lite
    back = tmp_path / "back"
    run_cli("copy", str(back), "--to-collection", "vsearch", *server)
    assert [find_json(q, "-k", "5", "--home", str(back)) for q in queries] == lite


def test_reads_see_the_runs_own_writes_at_once(milvus):
    config = StoreConfig(milvus, TOKEN, collection=_fresh())
    with Store(config) as store:
        store.create("m", 4)
        for n in range(15):
            rec = VideoRecord(7, "/v.mp4", duration=float(n + 1), model="m", state="done")
            store.put_video(rec)
            assert store.get_video(7).duration == n + 1
            assert len(store.videos()) == 1


def test_rows_past_the_query_window(milvus):
    """One video of 17000 seconds (frames_of pages), 17000 cues saying "common" and 3 saying
    "rare" (the lexical candidates), and 16400 records (videos())."""
    config = StoreConfig(milvus, TOKEN, collection=_fresh())
    n = 17000
    with Store(config) as store:
        store.create("m", 4)
        rec = VideoRecord(1, "/long.mp4", duration=float(n), model="m")
        cues = [Cue(float(t), t + 1.0, "common rare" if t % 5000 == 1 else "common words") for t in range(n)]
        vecs = np.tile(np.eye(1, 4, dtype=np.float32), (n, 1))
        store.replace_rows(rec, list(range(n)), [t + 0.5 for t in range(n)], vecs, cues, vecs)
        slots, times, frames = store.frames_of(1)
        assert slots == list(range(n)) and frames.shape == (n, 4)
        assert [h.start for h in store.search_words("rare", 10)] == [1.0, 5001.0, 10001.0, 15001.0]
        assert len(store.search_words("common", 200)) == 200
        records = [{"id": i + 10, "path": f"/v{i}.mp4", "record": {"id": i + 10, "path": f"/v{i}.mp4"},
                    "pad": [1.0, 0.0]} for i in range(16400)]
        for lo in range(0, len(records), 4000):
            store.client.upsert(store.names["videos"], records[lo : lo + 4000])
        assert len(store.videos()) == 16401


def test_bad_servers_and_tokens_are_one_line(env, milvus, rgb_video):
    wrong = run_cli("find", "x", "--uri", milvus, "--token", "root:wrong", ok=False)
    assert wrong.exit_code == 1 and "did not let vsearch in: check --token" in wrong.stderr
    assert "Traceback" not in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    gone = run_cli("index", str(rgb_video), "--uri", "http://127.0.0.1:9", ok=False)
    assert gone.exit_code == 1 and "cannot reach Milvus at http://127.0.0.1:9" in gone.stderr


def test_a_failed_create_leaves_nothing_behind(milvus):
    """The cues' width is past what Milvus allows: frames were made first, and are dropped."""
    with Store(StoreConfig(milvus, TOKEN, collection=_fresh())) as store:
        with pytest.raises(StoreError):
            store.create("m", 4, "t", 100000)
        assert not [k for k, name in store.names.items() if store.client.has_collection(name)]


def test_another_models_collection_is_refused(on_server, rgb_video, tmp_path):
    from vsearch.testing.checkpoints import tiny_clip

    run_cli("index", str(rgb_video))
    result = run_cli("index", str(rgb_video), "--model", str(tiny_clip(tmp_path / "clip")), ok=False)
    assert result.exit_code == 1 and "holds test-colors vectors" in result.stderr, result.stderr
    assert len(run_cli("list").stdout.splitlines()) == 1  # nothing lost


def test_one_writer_migrates_an_older_index_and_the_others_wait(milvus):
    """Another writer's fresh claim on the migration: this one stops with IndexBusy (exit 75, cron
    retries), touching nothing."""
    import time

    from vsearch.index import IndexBusy

    config = StoreConfig(milvus, TOKEN, collection=_fresh())
    with Store(config) as store:
        store.create("m", 4)
        write_one = VideoRecord(3, "/v.mp4", duration=2.0, model="m")
        store.replace_rows(write_one, [0, 1], [0.5, 1.5], np.eye(2, 4, dtype=np.float32),
                           [Cue(0.0, 1.0, "kept words")], np.eye(1, 4, dtype=np.float32))
        meta = store.meta()
        store.client.upsert(store.names["meta"], [{"id": 0, "info": {**meta, "schema": 2}, "pad": [1.0, 0.0]},
                                                  {"id": 1, "info": {"migrating": "another", "at": time.time()},
                                                   "pad": [1.0, 0.0]}])
    with Store(config) as store:
        with pytest.raises(IndexBusy, match="being brought up to date by another vsearch process"):
            store.check()
        assert store.count(store.names["cues"]) == 1
