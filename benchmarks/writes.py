"""What writing one indexed video costs beyond decoding and encoding it, on Milvus Lite and on a
Milvus server: the index's part of `vsearch index` / `ingest` per video.

    python benchmarks/writes.py --uri http://host:19530 --token root:Milvus [--videos 20]
    python benchmarks/writes.py --uri start        # starts the milvus wheel's 2.3.5 server

Each video is written as index/indexer.py writes one: open the index, read its record, replace
its rows (60 frames of 512-d, 15 cues of 384-d: a minute of video), close. Run on Milvus Lite,
on the server as vsearch writes now (no flush: the server's write-ahead log holds the rows), and
on the server with the flush per video vsearch used to do, in the same run.
"""

import argparse
import contextlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np


def write_videos(uri: str, token: str, videos: int, flush: bool) -> list[float]:
    """Seconds per video of the index's part of indexing `videos` one-minute videos."""
    from vsearch.extract import Cue
    from vsearch.index import Store, StoreConfig, VideoRecord

    config = StoreConfig(uri, token, collection=f"writes{uuid.uuid4().hex[:8]}")
    rng = np.random.default_rng(0)
    with Store(config) as store:
        store.create("bench", 512, "bench-text", 384)
    times = []
    for n in range(videos):
        frames = rng.normal(size=(60, 512)).astype(np.float32)
        cue_vecs = rng.normal(size=(15, 384)).astype(np.float32)
        cues = [Cue(float(t), t + 3.0, f"words of cue {t} about vector databases") for t in range(0, 60, 4)]
        began = time.perf_counter()
        with Store(config) as store:
            record = store.get_video(n + 1) or VideoRecord(n + 1, f"/videos/{n}.mp4", duration=60.0, model="bench")
            store.replace_rows(record, list(range(60)), [t + 0.5 for t in range(60)], frames, cues, cue_vecs)
            if flush:
                for kind in ("frames", "cues"):
                    store.client.flush(store.names[kind])
        times.append(time.perf_counter() - began)
    with Store(config) as store:
        assert len(store.videos()) == videos and store.cue_count() == 15 * videos
        for name in store.names.values():
            if store.client.has_collection(name):
                store.client.drop_collection(name)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", required=True, help="a Milvus server's URI, or 'start'")
    parser.add_argument("--token", default="")
    parser.add_argument("--videos", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        uri, token = args.uri, args.token
        if uri == "start":
            from vsearch.testing.milvus_server import TOKEN, running

            uri, token = stack.enter_context(running(Path(tmp) / "milvus")), TOKEN
        runs = [("Milvus Lite", str(Path(tmp) / "w.db"), "", False),
                ("server, no flush (vsearch)", uri, token, False),
                ("server, a flush per video (before)", uri, token, True)]
        for label, where, key, flush in runs:
            times = write_videos(where, key, args.videos, flush)[1:]  # the first creates and loads collections
            print(f"{label}: per video p50={statistics.median(times):.3f}s max={max(times):.3f}s "
                  f"({len(times)} videos)")


if __name__ == "__main__":
    main()
