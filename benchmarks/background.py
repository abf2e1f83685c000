"""What measuring each query against its own background costs `find` (index/background.py).

    python benchmarks/background.py [--seconds 100000] [--dim 768] [--queries 50]

Builds a Milvus Lite index of `--seconds` stored seconds as benchmarks/query.py does (a film
library's frame vectors, a cue every 10 s; the writes choose the samples as ingest does), then
prints: the time to read each signal's sample once per process (what a cold `find` pays), the
time per query to score it against the samples and set its bars (`query.levels.bars`, what every
`find` pays), and `find` on the open index with find.background 1 and 0, alternating query by
query in the same run (the baseline).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from query import RandomEncoder, WORDS, build


def ms(samples: list[float]) -> str:
    return f"p50={statistics.median(samples) * 1000:.2f}ms max={max(samples) * 1000:.2f}ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()

    from dataclasses import replace

    from vsearch.index import Store, StoreConfig, background
    from vsearch.query import FindOptions, find
    from vsearch.query.levels import bars

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"{tmp}/background.db"
        took = build(uri, args.seconds, args.dim, Path(tmp) / "files")
        print(f"seconds={args.seconds} dim={args.dim} built in {took:.0f}s")
        config, encoder = StoreConfig(uri), RandomEncoder(args.dim)
        with Store(config) as store:
            store.check("bench", args.dim)
            began = time.perf_counter()
            entries = background.kept(store)
            samples = {kind: background.sample(store, kind, entries) for kind in ("frames", "cues")}
            read = time.perf_counter() - began
            print(f"  samples read once per process: {read * 1000:.1f}ms "
                  f"({', '.join(f'{k} {len(s.vectors)} of {s.rows}' for k, s in samples.items())})")
            costs = []
            for i in range(args.queries):
                vector = encoder.encode_texts([WORDS[i % 10]])[0]
                began = time.perf_counter()
                bars(store, {"frames": vector, "cues": vector}, {"frames": encoder.levels["latin"]}, 1.0)
                costs.append(time.perf_counter() - began)
            print(f"  bars per query (two signals): {ms(costs)}")
            timed = {1.0: [], 0.0: []}
            for i in range(args.queries):
                for strength in timed:
                    query = " ".join(WORDS[i % 7 : i % 7 + 3])
                    began = time.perf_counter()
                    find(store, encoder, query, replace(FindOptions(), background=strength))
                    timed[strength].append(time.perf_counter() - began)
            print(f"  find, open index: background 1 {ms(timed[1.0])}; background 0 {ms(timed[0.0])}")


if __name__ == "__main__":
    main()
