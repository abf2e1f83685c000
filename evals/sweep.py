"""Score `find` under a grid of ranking settings on one or more evaluation sets.

    python evals/sweep.py QUERIES.jsonl [QUERIES.jsonl ...] --home DIR [--model M] \\
        [--grid "weight_cues=0,0.5,1 max_gap=0,2 pad=0,1"]

Every query is searched once; each grid point re-ranks the same hits through `find`'s code
(vsearch.query.find_many). Prints one line per grid point, best mAP first. Index the sets
first with `vsearch eval` (same --home and --model).
"""

import argparse
import itertools
import os
from dataclasses import replace
from pathlib import Path

from vsearch.evaluate import evaluate, load_queries
from vsearch.settings import load_settings

DEFAULT_GRID = "fusion=score,rrf weight_frames=0.5,1 weight_cues=0,0.5,1 max_gap=0,2 pad=0,1"
COLUMNS = ("hit@1", "hit@5", "r@1@0.5", "r@1@0.7", "map", "mrr")


def parse_grid(text: str) -> dict[str, list]:
    """`key=a,b key2=c` as {key: [a, b], key2: [c]}, numbers parsed."""
    grid = {}
    for part in text.split():
        key, _, values = part.partition("=")
        grid[key] = [v if not v.replace(".", "", 1).isdigit() else float(v) for v in values.split(",")]
    return grid


def variant(base, point: dict):
    """FindOptions with the grid point's values; weight_* keys set the signal weights."""
    weights = dict(base.weights)
    fields = {}
    for key, value in point.items():
        if key.startswith("weight_"):
            weights[key[len("weight_"):]] = value
        else:
            fields[key] = int(value) if key in ("max_gap", "candidates") else value
    return replace(base, weights=weights, **fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", nargs="+", type=Path)
    parser.add_argument("--home", required=True)
    parser.add_argument("--model")
    parser.add_argument("--media-root", type=Path, default=os.environ.get("VSEARCH_MEDIA_ROOT"),
                        help="folder that {media} video paths are under (VSEARCH_MEDIA_ROOT)")
    parser.add_argument("--grid", default=DEFAULT_GRID)
    args = parser.parse_args()
    settings = load_settings(flags={"home": args.home, "model": args.model})
    base = settings.find_options()
    grid = parse_grid(args.grid)
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    variants = {" ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items()): variant(base, p)
                for p in points}
    for path in args.queries:
        report = evaluate(settings, load_queries(path, args.media_root), variants)
        print(f"# {path} ({len(report.per_query)} queries, model {report.model})")
        rows = {name: m for name, m in report.metrics.items() if name in variants}
        columns = COLUMNS + (("no_result",) if any("no_result" in m for m in rows.values()) else ())
        print(f"{'settings':<60}" + "".join(f"{c:>10}" for c in columns))
        for name, metrics in sorted(rows.items(), key=lambda kv: (-kv[1]["map"], -kv[1]["hit@1"])):
            print(f"{name:<60}" + "".join(f"{metrics[c]:>10.3f}" for c in columns))


if __name__ == "__main__":
    main()
