"""A deterministic encoder for end-to-end ranking tests: frames and texts map to colours.

Registered through the real registry (import it, or name it in VSEARCH_PLUGINS).
"""

import os
import signal

import numpy as np

from vsearch.extract import FrameSpec
from vsearch.index import register_encoder
from vsearch.index.calibration import probe_pictures

PALETTE = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "white": (255, 255, 255), "black": (0, 0, 0), "cyan": (0, 255, 255), "magenta": (255, 0, 255),
}
WORDS = {
    "red": ("red", "红", "rouge"), "green": ("green", "绿", "vert"), "blue": ("blue", "蓝", "bleu"),
    "yellow": ("yellow", "黄"), "white": ("white", "白"), "black": ("black", "黑"),
    "cyan": ("cyan", "青"), "magenta": ("magenta", "品红"),
}
_COLOURS = np.array(list(PALETTE.values()), dtype=np.float32)


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


class ColorEncoder:
    """Image vector: closeness of the mean colour to each palette colour; text: colour words."""

    model_id = "test-colors"
    dim = len(PALETTE) + 1
    frame_spec = FrameSpec(32, 24, "cover")

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        mean = pixels.reshape(len(pixels), -1, 3).mean(axis=1)
        dist = np.linalg.norm(mean[:, None, :] - _COLOURS[None], axis=2)
        near = np.exp(-((dist / 40.0) ** 2))
        return _unit(np.concatenate([near, np.full((len(pixels), 1), 0.05)], axis=1))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            low = text.lower()
            row = [1.0 if any(w in low for w in words) else 0.0 for words in WORDS.values()]
            rows.append(row + [0.3])
        return _unit(np.array(rows, dtype=np.float32))


register_encoder("test-colors", lambda options: ColorEncoder())


class SquashedEncoder(ColorEncoder):
    """test-colors with every similarity moved to `shift + scale * similarity`, as a real model's
    sit in a narrow band of its own (SigLIP's matching captions about 0.1, CLIP's about 0.3): the
    same rankings must come out of it. Two more coordinates carry the shift, a third keeps each
    side a unit vector: a text's and a picture's meet only in the shift's."""

    model_id = "test-colors-squashed"
    dim = ColorEncoder.dim + 3

    def __init__(self, shift: float = 0.05, scale: float = 0.1):
        self.shift, self.scale = shift, scale

    def _squashed(self, vecs: np.ndarray, side: int) -> np.ndarray:
        rest = np.zeros((len(vecs), 2), np.float32)
        rest[:, side] = np.sqrt(1.0 - self.shift - self.scale)
        shift = np.full((len(vecs), 1), np.sqrt(self.shift), np.float32)
        return np.concatenate([np.sqrt(self.scale) * vecs, shift, rest], axis=1).astype(np.float32)

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        return self._squashed(super().encode_images(pixels), 0)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self._squashed(super().encode_texts(texts), 1)


register_encoder("test-colors-squashed", lambda options: SquashedEncoder())


class InterruptingEncoder(ColorEncoder):
    """Raises KeyboardInterrupt on its second batch of a video's frames, as Ctrl-C does mid-video."""

    model_id = "test-interrupt"

    def __init__(self):
        self.batches = 0

    def stop(self) -> None:
        raise KeyboardInterrupt

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        # The image model's calibration (plain colours, on load) is not a batch of the video.
        if not np.array_equal(pixels, probe_pictures(pixels.shape[2], pixels.shape[1])):
            self.batches += 1
        if self.batches == 2:
            self.stop()
        return super().encode_images(pixels)


register_encoder("test-interrupt", lambda options: InterruptingEncoder())


class TerminatedEncoder(InterruptingEncoder):
    """Sends SIGTERM to its own process on its second batch of frames, as `timeout` does."""

    model_id = "test-term"

    def stop(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


register_encoder("test-term", lambda options: TerminatedEncoder())


class CrashingEncoder(ColorEncoder):
    """Kills its own process on a magenta frame, as a decoder crash or the OOM killer would."""

    model_id = "test-crash"

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        vecs = super().encode_images(pixels)
        if (vecs.argmax(axis=1) == list(PALETTE).index("magenta")).any():
            os.kill(os.getpid(), signal.SIGKILL)
        return vecs


register_encoder("test-crash", lambda options: CrashingEncoder())
