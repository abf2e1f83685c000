"""A deterministic stand-in for an image model that reads a picture and words as one query (index/gme.py).

Registered through the real registry as "test-colors-mixing" (import it, or name it in VSEARCH_PLUGINS).
"""

import numpy as np

from vsearch.index import register_encoder

from .color_encoder import ColorEncoder, PALETTE, WORDS


class MixingEncoder(ColorEncoder):
    """test-colors whose query picture and words are one vector: the colours the words name added
    to the picture's, as light mixes (the word red on a blue picture: magenta)."""

    model_id = "test-colors-mixing"

    def encode_query(self, text: str, pixels: np.ndarray) -> np.ndarray:
        named = [PALETTE[colour] for colour, words in WORDS.items() if any(w in text.lower() for w in words)]
        light = np.sum(named, axis=0) if named else 0
        return self.encode_images(np.clip(pixels.astype(np.int32) + light, 0, 255).astype(np.uint8)[None])[0]


register_encoder("test-colors-mixing", lambda options: MixingEncoder())
