"""What both CLAP engines (ClapEncoder on torch, OnnxClap on ONNX Runtime) hear the same way: a
10 s pass, and the vectors of stretches of it as weights over its time columns."""

from collections.abc import Callable

import numpy as np


def span_weights(spans, seconds: float, columns: int) -> np.ndarray:
    """(stretches, columns) weights that average the time columns over an input `seconds` long
    by how much of each stretch [a, b) every column covers."""
    edges = np.linspace(0.0, seconds, columns + 1)
    bounds = np.asarray(spans, np.float64).reshape(-1, 2)
    overlap = np.clip(np.minimum(bounds[:, 1:], edges[1:]) - np.maximum(bounds[:, :1], edges[:-1]), 0.0, None)
    return (overlap / np.maximum(overlap.sum(1, keepdims=True), 1e-9)).astype(np.float32)


def by_spans(clips: list[np.ndarray], weights: list[np.ndarray], batch_size: int,
             run: Callable[[list[np.ndarray], np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Each clip's stretch vectors, `batch_size` clips a call: `run(clips, weights)` takes weights
    padded to (clips, most stretches, columns) and returns unit vectors (clips, most stretches, dim)."""
    out = []
    for lo in range(0, len(clips), batch_size):
        part = weights[lo : lo + batch_size]
        padded = np.zeros((len(part), max(len(w) for w in part), part[0].shape[1]), np.float32)
        for i, w in enumerate(part):
            padded[i, : len(w)] = w
        vecs = run(clips[lo : lo + batch_size], padded)
        out.extend(np.asarray(v[: len(w)], np.float32) for v, w in zip(vecs, part))
    return out


class ClapHearing:
    """encode_audio and encode_spans over an engine's `_run(clips, weights)`: a CLAP model hears
    `span_seconds` at once, in `columns` time columns, and gives `dim`-long vectors."""

    span_seconds: float
    columns: int
    batch_size: int
    dim: int

    def encode_audio(self, clips: list[np.ndarray]) -> np.ndarray:
        """Encode clips of at most 10 s (shorter ones are repeated to fill it, as CLAP was trained)."""
        whole = span_weights([(0.0, self.span_seconds)], self.span_seconds, self.columns)
        vecs = by_spans(clips, [whole] * len(clips), self.batch_size, self._run)
        return np.stack([v[0] for v in vecs]) if vecs else np.zeros((0, self.dim), np.float32)

    def encode_spans(self, clips: list[np.ndarray], spans: list[tuple[tuple[float, float], ...]]) -> list[np.ndarray]:
        """For each clip of at most 10 s, the vectors of its stretches [a, b) in seconds, from one pass."""
        weights = [span_weights(s, self.span_seconds, self.columns) for s in spans]
        return by_spans(clips, weights, self.batch_size, self._run)
