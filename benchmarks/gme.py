"""GME on a CPU: frames/s and ms per text query of gme-Qwen2-VL-2B's shapes, random weights.

    python benchmarks/gme.py [--frames 4] [--batch 2]

The hub is out of reach here, so the model is a randomly initialised Qwen2-VL of the 2B's shapes
(vocabulary included), built in memory and run through vsearch's GME encoder (index/gme.py) in
float32 torch, on frames of its `frame_spec` (264 visual tokens). Random weights give honest speed.
The number goes into index/gme.py CPU_FRAMES_PER_S and docs/models.md.
"""

import argparse
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()

    import torch
    from transformers import Qwen2VLModel

    from vsearch.index.gme import GmeEncoder
    from vsearch.testing.gme_checkpoint import GME_2B, gme_config

    config, tokenizer, images = gme_config(GME_2B)
    began = time.perf_counter()
    model = Qwen2VLModel(config).eval()
    params = sum(p.numel() for p in model.parameters())
    print(f"built {params / 1e9:.2f}B parameters in {time.perf_counter() - began:.0f} s; "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} cores")
    encoder = GmeEncoder("gme-2b-random", model, tokenizer, images, "cpu", args.batch)
    spec = encoder.frame_spec
    pixels = np.random.default_rng(0).integers(0, 256, (args.frames, spec.height, spec.width, 3), dtype=np.uint8)
    encoder.encode_images(pixels[:1])  # warm: first-run allocations
    began = time.perf_counter()
    vectors = encoder.encode_images(pixels)
    frames_s = args.frames / (time.perf_counter() - began)
    began = time.perf_counter()
    encoder.encode_texts(["a red car on a street"])
    query_ms = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    encoder.encode_query("a red car", pixels[0])
    joint_ms = (time.perf_counter() - began) * 1000
    print(f"frames {spec.width}x{spec.height}, batch {args.batch}, dim {vectors.shape[1]}: "
          f"{frames_s:.3f} frames/s ({1 / frames_s:.1f} s a frame); text query {query_ms:.0f} ms; "
          f"picture+text query {joint_ms:.0f} ms")


if __name__ == "__main__":
    main()
