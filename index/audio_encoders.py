"""Sound models (`audio_model`): soundtrack windows and texts as vectors of one space.

CLAP (`ClapModel`) is the default family: transformers loads it natively, and its audio tower
(HTSAT, 28M parameters) is what ingest runs; the RoBERTa text tower is loaded only to search.
Its text tower reads English: `scripts` says which scripts a query may be written in for the
sound signal to count (query/search.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .calibration import Levels, sound_levels
from .clap import ClapHearing
from .encoders import EncoderOptions, register_encoder
from .imagebind_models import imagebind_sounds, is_imagebind
from .loading import (
    ModelError,
    SOUND,
    hub_files,
    load_failure,
    load_plugins,
    pick_batch,
    pick_device,
    pick_dtype,
    resolve,
)
from .torch_tweaks import clap_columns, clap_spans, unit_rows


class AudioEncoder(Protocol):
    """Turns mono float32 clips at `rate` Hz and texts into L2-normalised vectors of one space."""

    model_id: str
    dim: int
    rate: int
    scripts: frozenset[str]  # "latin", "han": scripts its text tower was trained on
    levels: Levels | None  # per script (index/calibration.py), measured on load with the text tower

    def encode_audio(self, clips: list[np.ndarray]) -> np.ndarray: ...

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


AudioFactory = Callable[[EncoderOptions, bool], AudioEncoder]


@dataclass(frozen=True)
class AudioPreset:
    """A named Hugging Face CLAP checkpoint."""

    model_id: str
    about: str


AUDIO_PRESETS = {
    "clap": AudioPreset("laion/clap-htsat-unfused",
                        "the default: LAION-CLAP, sound events and speech-free audio, 28M-parameter audio tower"),
    "clap-general": AudioPreset("laion/larger_clap_general", "LAION-CLAP trained on more music and speech"),
}

_AUDIO_REGISTRY: dict[str, AudioFactory] = {}


def register_audio_encoder(name: str, factory: AudioFactory) -> None:
    """Make `name` loadable as `audio_model`; the factory takes (options, with_text)."""
    _AUDIO_REGISTRY[name] = factory


def embeds_sounds(mode: str, device: str) -> bool:
    """Whether indexing embeds sounds for `audio.mode` on `device`: "on" anywhere, "auto" on a CUDA
    GPU only (on a CPU they add about half a film's ingest time: configs/default.toml)."""
    return mode == "on" or (mode == "auto" and pick_device(device).startswith("cuda"))


def load_audio_encoder(name: str, options: EncoderOptions, with_text: bool = True) -> AudioEncoder:
    """A sound model by registered name, Hugging Face id or local folder.

    Without `with_text` (ingest) only the audio tower is loaded: a fifth of the memory, and no
    `levels`; with it, its levels are measured now (five short clips).
    """
    load_plugins(register_encoder)
    audio = resolve(name, SOUND, {n: (lambda f=f: f(options, with_text)) for n, f in _AUDIO_REGISTRY.items()},
                    lambda source: clap_encoder(source, options, with_text))
    audio.levels = sound_levels(audio) if with_text else None
    return audio


def clap_encoder(model_id: str, options: EncoderOptions, with_text: bool) -> AudioEncoder:
    """A CLAP checkpoint on the engine `options` pick (index/engines.py), or an ImageBind folder (on torch)."""
    from .engines import on_engine
    from .onnx_engine import OnnxClap

    if is_imagebind(model_id):
        return imagebind_sounds(model_id, options, with_text)
    return on_engine(model_id, options, lambda opts: ClapEncoder(model_id, opts, with_text),
                     lambda: OnnxClap(model_id, options, with_text))


class ClapEncoder(ClapHearing):
    """A CLAP checkpoint: clips repeat-padded to its 10 s input, texts through its text tower."""

    scripts = frozenset({"latin"})

    def __init__(self, model_id: str, options: EncoderOptions, with_text: bool = True):
        from transformers import AutoTokenizer, ClapAudioModelWithProjection, ClapFeatureExtractor, ClapModel

        self.model_id = model_id
        self.device = pick_device(options.device)
        # On a CPU, HTSAT's activations grow fast with the batch (docs/sounds.md).
        self.batch_size = pick_batch(options.batch_size, self.device, on_cpu=2)
        offline = hub_files(model_id)
        # Ingest loads the audio tower and its projection alone from the full checkpoint: the
        # RoBERTa text tower would be a quarter of the memory budget, unused (docs/sounds.md).
        kind = ClapModel if with_text else ClapAudioModelWithProjection
        try:
            model = kind.from_pretrained(model_id, dtype=pick_dtype(options.dtype, self.device), **offline)
            self.features = ClapFeatureExtractor.from_pretrained(model_id, **offline)
            self.tokenizer = AutoTokenizer.from_pretrained(model_id, **offline) if with_text else None
        except (OSError, ValueError) as exc:
            raise load_failure(model_id, SOUND, exc, bool(offline)) from None
        self.model = model.to(self.device).eval()
        self.rate = int(self.features.sampling_rate)
        audio_config = getattr(model.config, "audio_config", model.config)
        # The fused variant stacks four views of a long clip; unfused ones take one.
        self._truncation = "fusion" if audio_config.enable_fusion else "rand_trunc"
        self.dim = int(model.config.projection_dim)
        self.columns = clap_columns(audio_config)
        self.span_seconds = self.features.nb_max_samples / self.rate

    def _run(self, clips: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            inputs = self.features(clips, sampling_rate=self.rate, truncation=self._truncation, padding="repeatpad",
                                   return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            inputs["input_features"] = inputs["input_features"].to(self.model.dtype)
            return unit_rows(clap_spans(self.model, torch.from_numpy(weights).to(self.device), **inputs))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Encode texts with the text tower (loaded only `with_text`)."""
        import torch

        if self.tokenizer is None:
            raise ModelError(f"{self.model_id} was loaded without its text tower")
        with torch.inference_mode():
            inputs = self.tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
            return unit_rows(self.model.get_text_features(**inputs))


def _preset_factory(preset: AudioPreset) -> AudioFactory:
    return lambda options, with_text: clap_encoder(preset.model_id, options, with_text)


for _name, _preset in AUDIO_PRESETS.items():
    register_audio_encoder(_name, _preset_factory(_preset))

# ImageBind hears in the space its image model sees (index/imagebind_models.py); CC BY-NC-SA 4.0,
# non-commercial use only, so it is never a default.
register_audio_encoder("imagebind", lambda options, with_text: imagebind_sounds(None, options, with_text))
