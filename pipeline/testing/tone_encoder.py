"""A deterministic sound model for end-to-end ranking tests: tones and noise map to directions.

Registered through the real registry as the audio model "test-tones" (import it, or name it in
VSEARCH_PLUGINS). Like CLAP, its text side reads English only.
"""

import numpy as np

from vsearch.index import register_audio_encoder

# Each sound word and the tone it names; "noise" is white noise, recognised by a flat spectrum.
TONES = {"hum": 220.0, "beep": 880.0, "whistle": 1760.0, "chirp": 3520.0, "buzz": 110.0, "drone": 330.0,
         "ping": 2640.0, "squeak": 5000.0}
WORDS = (*TONES, "noise")


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


class ToneEncoder:
    """Sound vector: the share of energy near each tone, and spectral flatness; text: sound words."""

    model_id = "test-tones"
    dim = len(WORDS) + 1
    rate = 22050
    scripts = frozenset({"latin"})
    span_seconds = 10.0  # like CLAP, a soundtrack's windows share 10 s passes (index/sounds.py)

    def encode_audio(self, clips: list[np.ndarray]) -> np.ndarray:
        rows = []
        for clip in clips:
            power = np.abs(np.fft.rfft(clip)) ** 2
            freqs = np.fft.rfftfreq(len(clip), 1.0 / self.rate)
            total = power.sum() + 1e-12
            bands = [power[np.abs(freqs - f) < f * 0.05].sum() / total for f in TONES.values()]
            audible = power[(freqs > 50) & (freqs < 8000)] + 1e-12
            flatness = float(np.exp(np.mean(np.log(audible))) / np.mean(audible))
            rows.append(bands + [min(1.0, 2 * flatness), 0.05])
        return _unit(np.array(rows, dtype=np.float64))

    def encode_spans(self, clips: list[np.ndarray], spans) -> list[np.ndarray]:
        """Each stretch's vector, heard alone: the same vectors as one window at a time."""
        return [self.encode_audio([clip[round(a * self.rate) : round(b * self.rate)] for a, b in stretches])
                for clip, stretches in zip(clips, spans)]

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        rows = [[1.0 if word in text.lower() else 0.0 for word in WORDS] + [0.3] for text in texts]
        return _unit(np.array(rows, dtype=np.float64))


register_audio_encoder("test-tones", lambda options, with_text: ToneEncoder())
