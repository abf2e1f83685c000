"""Text-retrieval models for cue vectors and the query's text side (`text_model`).

Image-text towers are trained to match captions to pictures, not sentences to sentences; a
sentence-embedding model finds "the text is available online" for "where can I read this book".
The image model keeps serving frames and query→frame.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsearch.extract.hub import hub_reachable

from .calibration import stored, text_levels
from .encoders import Encoder, EncoderOptions, ModelError, _load_failure, _pick_device, _pick_dtype, pick_batch

# The image model's own text tower: what every index before text models had.
IMAGE_TOWER = "image"


@dataclass(frozen=True)
class TextPreset:
    """A sentence-embedding checkpoint and how it wants to be used."""

    model_id: str
    pooling: str  # "mean" over tokens, or "cls"
    query_prefix: str = ""
    passage_prefix: str = ""
    about: str = ""


TEXT_PRESETS = {
    "multilingual-e5-small": TextPreset(
        "intfloat/multilingual-e5-small", "mean", "query: ", "passage: ",
        "the default: 100 languages, Chinese and English retrieval close to e5-base at 118M parameters"),
    "bge-m3": TextPreset("BAAI/bge-m3", "cls", about="strongest multilingual retrieval; 568M parameters, for GPUs"),
    "minilm": TextPreset("sentence-transformers/all-MiniLM-L6-v2", "mean", about="English only; 22M parameters"),
}


class TowerText:
    """The image model's text tower, used for cue vectors as well (`text_model = "image"`)."""

    model_id = IMAGE_TOWER

    def __init__(self, encoder: Encoder):
        self.tower_of = encoder  # a query encoded by that encoder needs no second pass here
        self.dim = encoder.dim

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.tower_of.encode_texts(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.tower_of.encode_texts(texts)


class SentenceEncoder:
    """A transformers encoder pooled into one normalised vector per text (E5, BGE, MiniLM, ...)."""

    def __init__(self, name: str, preset: TextPreset, options: EncoderOptions):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.model_id, self.preset = name, preset
        self.device = _pick_device(options.device)
        self.batch_size = pick_batch(options.batch_size, self.device)
        source = preset.model_id
        offline = {} if Path(source).is_dir() or hub_reachable() else {"local_files_only": True}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **offline)
            self.model = AutoModel.from_pretrained(source, dtype=_pick_dtype(options.dtype, self.device),
                                                   **offline).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise ModelError(_load_failure(source, exc, bool(offline)).replace("cannot load model", "cannot load text model")) from None
        self._limit = min(512, getattr(self.model.config, "max_position_embeddings", 512) or 512)
        self._torch = torch
        self.dim = int(self.encode_queries(["probe"]).shape[1])

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        torch = self._torch
        parts = []
        with torch.inference_mode():
            for lo in range(0, len(texts), self.batch_size):
                batch = [prefix + t for t in texts[lo : lo + self.batch_size]]
                inputs = self.tokenizer(batch, padding=True, truncation=True, max_length=self._limit,
                                        return_tensors="pt").to(self.device)
                hidden = self.model(**inputs).last_hidden_state.float()
                if self.preset.pooling == "cls":
                    emb = hidden[:, 0]
                else:
                    mask = inputs["attention_mask"].unsqueeze(-1).float()
                    emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                parts.append(torch.nn.functional.normalize(emb, dim=-1).cpu().numpy().astype(np.float32))
        return np.concatenate(parts) if parts else np.zeros((0, getattr(self, "dim", 0)), np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.preset.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.preset.passage_prefix)


def sentence_encoder(name: str, preset: TextPreset, options: EncoderOptions):
    """A sentence-embedding model on the engine `options` pick (index/engines.py)."""
    from .engines import on_engine
    from .onnx_engine import OnnxSentence

    return on_engine(preset.model_id, options, lambda opts: SentenceEncoder(name, preset, opts),
                     lambda: OnnxSentence(name, preset, options))


def _folder_pooling(folder: Path) -> str:
    """The pooling a sentence-transformers folder declares (1_Pooling/config.json); mean otherwise."""
    import json

    try:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return "mean"
    return "cls" if config.get("pooling_mode_cls_token") else "mean"


def load_text_encoder(name: str, options: EncoderOptions, image: Encoder, levels: dict | None = None):
    """The text model by preset, Hugging Face id or local folder; "image" is the image model's tower.

    Its `levels` (per script, index/calibration.py) are the index's own where it stored them
    (`levels`), else measured on load: a few dozen short texts.
    """
    encoder = _load(name, options, image)
    encoder.levels = stored(levels) or text_levels(encoder)
    return encoder


def _load(name: str, options: EncoderOptions, image: Encoder):
    if name == IMAGE_TOWER:
        return TowerText(image)
    if name in TEXT_PRESETS:
        return sentence_encoder(name, TEXT_PRESETS[name], options)
    local = Path(name).expanduser()
    if local.is_dir():
        name = str(local.resolve())
        return sentence_encoder(name, TextPreset(name, _folder_pooling(local)), options)
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return sentence_encoder(name, TextPreset(name, "mean"), options)
    known = ", ".join([IMAGE_TOWER, *TEXT_PRESETS])
    raise ModelError(f"unknown text model {name!r}: use one of {known}, a Hugging Face id or a local folder")
