"""The CPU engine: ONNX Runtime (fp32, int8) against vsearch's torch path, same weights, same run.

    python benchmarks/engine.py [--frames 64] [--seconds 100000] [--finds 5] [--skip-find | --find-only]

The hub is out of reach here, so each model is a randomly initialised checkpoint of a preset's
shapes (vocabulary included), saved and loaded like a real one: a ViT-B/32 CLIP, SigLIP2-base
(the default `model`) and multilingual-e5-small (the default `text_model`). Random weights give
honest speed and honest fp32 agreement; what int8 costs in ranking is measured on real weights
by the evals (docs/performance.md, "The CPU engine").

Per model: ms per frame at the default CPU batch (16) and ms per one-text query for torch, ONNX
fp32 and ONNX int8, the ratio to torch, and int8's lowest cosine to fp32. Then a cold `vsearch
find` (process start to results) over an index of `--seconds` stored seconds made for SigLIP2-base
and e5-small, with each engine, and on ONNX Runtime at engine_precision fp32 and auto (its int8
check judged first, on 64 made-up pictures): the p50 of `--finds` runs; at auto also with the index
folder's copy of the meta row removed, so each find reads the row from the index first (two
opens, as before index/meta_copy.py).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

QUERIES = ["a red car on a street", "the part about vector databases", "讲到向量数据库的部分", "slides", "applause"]


def best_of(runs: int, work) -> float:
    """The fastest of `runs` timings of `work()`, in seconds: the least disturbed by the machine."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def image_rows(name: str, folder: str, cache: Path, frames: int) -> None:
    from vsearch.index import EncoderOptions, load_encoder

    base = EncoderOptions(device="cpu", cache=cache)
    encoders = {engine: load_encoder(folder, replace(base, engine=e, engine_precision=p))
                for engine, (e, p) in {"torch": ("torch", "fp32"), "onnx fp32": ("onnx", "fp32"),
                                       "onnx int8": ("onnx", "int8")}.items()}
    spec = encoders["torch"].frame_spec
    pixels = np.random.default_rng(0).integers(0, 256, (frames, spec.height, spec.width, 3), dtype=np.uint8)
    vectors, per_frame, per_query = {}, {}, {}
    for engine, encoder in encoders.items():
        vectors[engine] = encoder.encode_images(pixels[:16])  # warm: first-run allocations
        per_frame[engine] = best_of(2, lambda: encoder.encode_images(pixels)) / frames * 1000
        per_query[engine] = best_of(3, lambda: [encoder.encode_texts([q]) for q in QUERIES]) / len(QUERIES) * 1000
    low = float(np.min(np.sum(vectors["onnx int8"] * vectors["onnx fp32"], 1)))
    fp32 = float(np.min(np.sum(vectors["onnx fp32"] * vectors["torch"], 1)))
    for engine in encoders:
        print(f"{name:<14} {engine:<10} frame={per_frame[engine]:6.1f}ms ({per_frame['torch'] / per_frame[engine]:.2f}x) "
              f"query={per_query[engine]:6.1f}ms ({per_query['torch'] / per_query[engine]:.2f}x)")
    print(f"{name:<14} fp32 cosine to torch >= {fp32:.6f}; int8 cosine to fp32 >= {low:.4f}")


def text_rows(name: str, folder: str, cache: Path) -> None:
    from vsearch.index import EncoderOptions
    from vsearch.index.text_encoders import load_text_encoder

    base = EncoderOptions(device="cpu", cache=cache)
    cues = [f"cue {i}: the lecture turns to vector databases and their indexes" for i in range(64)]
    rows = {}
    for engine, (e, p) in {"torch": ("torch", "fp32"), "onnx fp32": ("onnx", "fp32"), "onnx int8": ("onnx", "int8")}.items():
        text = load_text_encoder(folder, replace(base, engine=e, engine_precision=p), None)
        text.encode_passages(cues[:16])
        rows[engine] = (best_of(2, lambda: text.encode_passages(cues)) / len(cues) * 1000,
                        best_of(3, lambda: [text.encode_queries([q]) for q in QUERIES]) / len(QUERIES) * 1000,
                        text.encode_passages(cues[:8]))
    for engine, (cue, query, _) in rows.items():
        print(f"{name:<14} {engine:<10} cue={cue:6.1f}ms ({rows['torch'][0] / cue:.2f}x) "
              f"query={query:6.1f}ms ({rows['torch'][1] / query:.2f}x)")
    low = float(np.min(np.sum(rows["onnx int8"][2] * rows["onnx fp32"][2], 1)))
    print(f"{name:<14} int8 cosine to fp32 >= {low:.4f}")


def cold_finds(tmp: Path, image: str, text: str, seconds: int, finds: int) -> None:
    """`vsearch find` from process start to results, per engine, over a default-shaped index."""
    from query import build
    from vsearch.index import EncoderOptions, load_encoder
    from vsearch.index.calibration import image_levels, meta_entries
    from vsearch.index.text_encoders import load_text_encoder

    home = tmp / "home"
    options = EncoderOptions(device="cpu", cache=home / "cache" / "models")
    encoder = load_encoder(image, options)  # exports both models, as the first ingest would
    # ...and judges int8 on its first 64 frames (engine_precision auto): pictures of varied brightness
    rng = np.random.default_rng(0)
    size = (encoder.frame_spec.height, encoder.frame_spec.width, 3)
    frames = np.stack([np.clip(rng.normal(rng.uniform(20, 235), rng.uniform(5, 80), size), 0, 255) for _ in range(64)])
    encoder.encode_frames(frames.astype(np.uint8))
    print(f"int8 check: {encoder.check.verdict}")
    words = load_text_encoder(text, options, encoder)
    encoder.levels = image_levels(encoder)
    built = build(str(home / "index.db"), seconds, encoder.dim, tmp / "videos", encoder.model_id,
                  (words.model_id, words.dim, meta_entries(encoder, words)))
    print(f"index of {seconds} stored seconds built in {built:.0f}s")
    copy = next((home / "index.db").glob("vsearch.*.meta.json"))
    kept = copy.read_bytes()
    walls: dict[tuple[str, str, int], list[float]] = {}
    # One open against two alternate find by find, so neither gains from running later (warmer caches).
    for i in range(finds):
        for engine, precision, opens in (("torch", "fp32", 1), ("onnx", "fp32", 1), ("onnx", "auto", 1),
                                         ("onnx", "auto", 2)):
            env = dict(os.environ, VSEARCH_HOME=str(home), VSEARCH_ENGINE=engine, VSEARCH_FIND_USE_SERVER="0",
                       VSEARCH_DEVICE="cpu", VSEARCH_ENGINE_PRECISION=precision)
            if opens == 2:
                copy.unlink(missing_ok=True)  # the find reads the meta row from the index, then searches it
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vsearch", "find", QUERIES[i % len(QUERIES)], "--json"],
                           env=env, check=True, capture_output=True)
            walls.setdefault((engine, precision, opens), []).append(time.perf_counter() - began)
            copy.write_bytes(kept)
    for (engine, precision, opens), got in walls.items():
        print(f"cold find  engine={engine:<6} precision={precision:<5} opens={opens} p50={statistics.median(got):.2f}s "
              f"min={min(got):.2f}s max={max(got):.2f}s over {finds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=100000)
    parser.add_argument("--finds", type=int, default=5)
    parser.add_argument("--skip-find", action="store_true")
    parser.add_argument("--find-only", action="store_true", help="only the cold finds")
    args = parser.parse_args()
    from ingest import siglip2_base, vit_b32
    from models_memory import e5_small_real_size

    print(f"threads={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "models"
        vit, siglip = str(vit_b32(tmp / "vit-b32")), str(siglip2_base(tmp / "siglip2", vocab_size=256000))
        e5 = str(e5_small_real_size(tmp / "e5"))
        if not args.find_only:
            image_rows("ViT-B/32", vit, cache, args.frames)
            image_rows("SigLIP2-base", siglip, cache, args.frames)
            text_rows("e5-small", e5, cache)
        if not args.skip_find:
            cold_finds(tmp, siglip, e5, args.seconds, args.finds)


if __name__ == "__main__":
    main()
