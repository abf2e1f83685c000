"""Text-retrieval models for cue vectors and the query's text side (`text_model`).

Image-text towers are trained to match captions to pictures, not sentences to sentences; a
sentence-embedding model finds "the text is available online" for "where can I read this book".
The image model keeps serving frames and query→frame.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calibration import Levels, stored, text_levels
from .encoders import Encoder, EncoderOptions
from .loading import TEXT, hub_files, load_failure, pick_batch, pick_device, pick_dtype, resolve

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
    levels: Levels | None = None  # until load_text_encoder measures them

    def __init__(self, encoder: Encoder):
        self.tower_of = encoder  # a query encoded by that encoder needs no second pass here
        self.dim = encoder.dim

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.tower_of.encode_texts(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        # A model whose queries carry an instruction (index/gme.py) encodes documents without it.
        return getattr(self.tower_of, "encode_passages", self.tower_of.encode_texts)(texts)


class SentenceEncoder:
    """A transformers encoder pooled into one normalised vector per text (E5, BGE, MiniLM, ...)."""

    def __init__(self, name: str, preset: TextPreset, options: EncoderOptions):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.model_id, self.preset = name, preset
        self.device = pick_device(options.device)
        self.batch_size = pick_batch(options.batch_size, self.device)
        source = preset.model_id
        offline = hub_files(source)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **offline)
            self.model = AutoModel.from_pretrained(source, dtype=pick_dtype(options.dtype, self.device),
                                                   **offline).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise load_failure(source, TEXT, exc, bool(offline)) from None
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


def load_text_encoder(name: str, options: EncoderOptions, image: Encoder, known_levels: dict | None = None):
    """The text model by preset, Hugging Face id or local folder; "image" is the image model's tower.

    Its `levels` (per script, index/calibration.py) are those `known_levels` (model id -> levels,
    as an index stored them) gives for it, else measured on load: a few dozen short texts.
    """
    known = {IMAGE_TOWER: lambda: TowerText(image)}
    known.update({n: (lambda n=n, p=p: sentence_encoder(n, p, options)) for n, p in TEXT_PRESETS.items()})

    def from_source(source: str):
        pooling = _folder_pooling(Path(source)) if Path(source).is_dir() else "mean"
        return sentence_encoder(source, TextPreset(source, pooling), options)

    encoder = resolve(name, TEXT, known, from_source)
    encoder.levels = stored((known_levels or {}).get(encoder.model_id)) or text_levels(encoder)
    return encoder
