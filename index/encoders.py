"""Image model registry: presets, Hugging Face ids, local folders and plugin encoders."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from vsearch.configs import default
from vsearch.extract import FrameSpec

from .calibration import Levels, image_levels, stored
from .imagebind_models import imagebind_images, is_imagebind
from .loading import (
    IMAGE,
    ModelError,
    default_cache,
    hub_files,
    load_failure,
    load_plugins,
    pick_batch,
    pick_device,
    pick_dtype,
    resolve,
)
from .torch_tweaks import unit_rows


@dataclass(frozen=True)
class EncoderOptions:
    """How to run a model: device ("auto", "cpu", "cuda"), dtype, batch size, engine and its cache."""

    device: str = default("device")
    dtype: str = default("dtype")
    batch_size: int = default("batch_size")
    engine: str = default("engine")  # "auto", "torch" or "onnx" (index/engines.py)
    engine_precision: str = default("engine_precision")  # ONNX weights: "auto", "fp32" or "int8"
    cache: Path = field(default_factory=default_cache)  # exported towers


class Encoder(Protocol):
    """Turns RGB frames and texts into L2-normalised vectors of one space.

    `levels` are its similarity levels per script (index/calibration.py), set by `load_encoder`:
    None where they were not measured (a picture query needs none). A model that reads a picture
    and words together also has `encode_query(text, pixels)`: one query vector of both (index/gme.py).
    """

    model_id: str
    dim: int
    frame_spec: FrameSpec
    levels: Levels | None

    def encode_images(self, pixels: np.ndarray) -> np.ndarray: ...

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


EncoderFactory = Callable[[EncoderOptions], Encoder]


@dataclass(frozen=True)
class Preset:
    """A named Hugging Face checkpoint."""

    model_id: str
    about: str


PRESETS = {
    "siglip2": Preset(
        "google/siglip2-base-patch16-224",
        "multilingual (Gemma tokenizer): Chinese, English and 100+ languages; the default",
    ),
    "chinese-clip": Preset(
        "OFA-Sys/chinese-clip-vit-base-patch16", "best for Chinese queries and subtitles"
    ),
    "clip": Preset("openai/clip-vit-base-patch32", "English only; small and fast"),
    "gme": Preset(
        "Alibaba-NLP/gme-Qwen2-VL-2B-Instruct",
        "Chinese and English; a picture with words is one query; 2B parameters, for GPUs (index/gme.py)",
    ),
}

_REGISTRY: dict[str, EncoderFactory] = {}


def register_encoder(name: str, factory: EncoderFactory) -> None:
    """Make `name` loadable with `--model name`; plugins call this on import."""
    _REGISTRY[name] = factory


def encoder_names() -> list[str]:
    """Every registered name, presets first."""
    load_plugins(register_encoder)
    return list(_REGISTRY)


def load_encoder(name: str, options: EncoderOptions, known_levels: dict | None = None,
                 measure: bool = True) -> Encoder:
    """An encoder by registered name, Hugging Face id or local `save_pretrained` folder, with its
    `levels`: those `known_levels` (model id -> levels, as an index stored them) gives for it, else
    measured now (a few captions against plain colours), or None without `measure`."""
    load_plugins(register_encoder)
    encoder = resolve(name, IMAGE, {n: (lambda f=f: f(options)) for n, f in _REGISTRY.items()},
                      lambda source: hf_encoder(source, options))
    encoder.levels = stored((known_levels or {}).get(encoder.model_id)) or (
        image_levels(encoder) if measure else None)
    return encoder


def hf_encoder(model_id: str, options: EncoderOptions) -> Encoder:
    """A CLIP-family checkpoint on the engine `options` pick (ONNX Runtime on a CPU, torch on a GPU),
    or an ImageBind folder or a GME model (on torch)."""
    from .engines import on_engine
    from .gme import is_gme, load_gme
    from .onnx_engine import OnnxClip

    if is_imagebind(model_id):
        return imagebind_images(model_id, options)
    if is_gme(model_id):
        return load_gme(model_id, options)
    return on_engine(model_id, options, lambda opts: HFEncoder(model_id, opts),
                     lambda: OnnxClip(model_id, options))


def _frame_spec(processor) -> FrameSpec:
    """Decode size from the image processor: shortest edge + centre crop, or a fixed square."""
    size = dict(getattr(processor, "size", None) or {})
    crop = dict(getattr(processor, "crop_size", None) or {})
    if "shortest_edge" in size and getattr(processor, "do_center_crop", bool(crop)) and crop:
        return FrameSpec(int(crop["width"]), int(crop["height"]), "cover")
    if "height" in size and "width" in size:
        return FrameSpec(int(size["width"]), int(size["height"]), "stretch")
    edge = int(size.get("shortest_edge", 224))
    return FrameSpec(edge, edge, "cover")


class PixelScale:
    """A model's pixel scaling as its image processor states it: (N, H, W, 3) uint8 frames in,
    normalised (N, 3, H, W) tensors of the model's dtype out, a batch at a time."""

    def __init__(self, processor, device: str, dtype):
        import torch

        mean = processor.image_mean if processor.image_mean is not None else [0.5] * 3
        std = processor.image_std if processor.image_std is not None else [0.5] * 3
        # (1, 3, 1, 1) on the model's device, in 0-255 units; the ONNX export folds them into its graph.
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255
        self.device, self.dtype = device, dtype

    def batches(self, pixels: np.ndarray, size: int):
        """The pixels' batches of at most `size`, scaled."""
        import torch

        for lo in range(0, len(pixels), size):
            # writable: a query picture's pixels are a read-only view of its decoded image
            batch = torch.from_numpy(np.require(pixels[lo : lo + size], requirements=["C", "W"]))
            batch = batch.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float()
            yield ((batch - self.mean) / self.std).to(self.dtype)


class HFEncoder:
    """A CLIP-family model (CLIP, Chinese-CLIP, SigLIP/SigLIP2) through transformers' Auto classes."""

    def __init__(self, model_id: str, options: EncoderOptions):
        import torch
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        self.model_id = model_id
        self.device = pick_device(options.device)
        self.dtype = pick_dtype(options.dtype, self.device)
        self.batch_size = pick_batch(options.batch_size, self.device)
        offline = hub_files(model_id)
        try:
            self.model = AutoModel.from_pretrained(model_id, dtype=self.dtype, **offline).to(self.device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(model_id, **offline)
            processor = AutoImageProcessor.from_pretrained(model_id, **offline)
        except (OSError, ValueError) as exc:
            raise load_failure(model_id, IMAGE, exc, bool(offline)) from None
        if not hasattr(self.model, "get_image_features") or not hasattr(self.model, "get_text_features"):
            raise ModelError(f"{model_id} is not a CLIP-family model (no image and text towers)")
        from .torch_tweaks import fold_quick_gelu, pool_class_token_only

        if self.dtype == torch.float32:
            fold_quick_gelu(self.model)
        pool_class_token_only(self.model)
        self.frame_spec = _frame_spec(processor)
        self.pixels = PixelScale(processor, self.device, self.dtype)
        text_config = getattr(self.model.config, "text_config", None)
        limit = getattr(text_config, "max_position_embeddings", None) or 77
        self._text_kwargs = {"padding": True, "max_length": limit}
        if self.model.config.model_type.startswith("siglip"):
            # SigLIP was trained on texts padded to 64 tokens; shorter padding degrades it.
            self._text_kwargs = {"padding": "max_length", "max_length": 64}
        self._text_params = set(inspect.signature(self.model.get_text_features).parameters)
        self.dim = int(self.encode_texts(["probe"]).shape[1])

    def _normalised(self, out) -> np.ndarray:
        import torch

        emb = out.pooler_output if hasattr(out, "pooler_output") else out
        emb = torch.nn.functional.normalize(emb.float(), dim=-1)
        return emb.cpu().numpy().astype(np.float32)

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """Encode (N, H, W, 3) uint8 frames already sized to `frame_spec`."""
        import torch

        with torch.inference_mode():
            parts = [unit_rows(self.model.get_image_features(pixel_values=batch))
                     for batch in self.pixels.batches(pixels, self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Encode texts with the text tower, truncated to what the model accepts."""
        import torch

        parts = []
        with torch.inference_mode():
            for lo in range(0, len(texts), self.batch_size):
                inputs = self.tokenizer(
                    texts[lo : lo + self.batch_size], truncation=True, return_tensors="pt", **self._text_kwargs
                )
                inputs = {k: v.to(self.device) for k, v in inputs.items() if k in self._text_params}
                parts.append(unit_rows(self.model.get_text_features(**inputs)))
        return np.concatenate(parts)


def _preset_factory(preset: Preset) -> EncoderFactory:
    return lambda options: hf_encoder(preset.model_id, options)


for _name, _preset in PRESETS.items():
    register_encoder(_name, _preset_factory(_preset))

# ImageBind (index/imagebind_models.py): frames, texts and sounds in one space; its weights are
# CC BY-NC-SA 4.0, non-commercial use only, so it is never a default.
register_encoder("imagebind", lambda options: imagebind_images(None, options))
