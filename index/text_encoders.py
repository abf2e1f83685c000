"""Text-retrieval models for cue vectors and the query's text side (`text_model`).

Image-text towers are trained to match captions to pictures, not sentences to sentences; a
sentence-embedding model finds "the text is available online" for "where can I read this book".
The image model keeps serving frames and query→frame.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsearch.extract.hub import hub_reachable

from .encoders import Encoder, EncoderOptions, ModelError, _load_failure, _pick_device, _pick_dtype, pick_batch

# The image model's own text tower: what every index before text models had.
IMAGE_TOWER = "image"

# Paraphrase pairs that share few words, per script: a model's similarity for a pair is its
# "match" level, for a query against the other passages of that script its "unrelated" level.
PROBES = {"latin": [
    ("where can I read this book", "the text is available online for free"),
    ("the weather is getting worse", "a storm is coming tonight"),
    ("how do I cook rice", "boil the grains in water for twenty minutes"),
    ("someone is playing the piano", "a musician performs at the keyboard"),
    ("the car would not start", "the engine failed this morning"),
    ("they won the football match", "the team scored the winning goal"),
    ("a vector database stores embeddings", "this system keeps numeric representations for search"),
    ("the price of the house went up", "homes became more expensive this year"),
], "han": [
    ("讲到向量数据库的部分", "这里介绍用于相似度检索的向量存储系统"),
    ("今天天气很冷", "外面气温降到了零度以下"),
    ("他们在餐厅吃饭", "一家人在饭店里用餐"),
    ("火车晚点了", "列车没有按时到站"),
    ("孩子们在公园里玩", "小朋友在草地上追逐嬉戏"),
    ("这本书在网上可以免费阅读", "你可以在互联网上看到全文"),
    ("他生病了去看医生", "身体不舒服所以去了医院"),
    ("我们明天去爬山", "第二天大家打算登上山顶"),
]}


def calibration(text) -> dict[str, tuple[float, float] | None]:
    """Per script, the (unrelated, match) similarity levels of a text model measured on PROBES:
    the 95th percentile of unrelated pairs and the median of paraphrases. None for a script the
    model does not tell apart (an English-only model on Chinese)."""
    levels = {}
    for script, pairs in PROBES.items():
        sims = text.encode_queries([q for q, _ in pairs]) @ text.encode_passages([p for _, p in pairs]).T
        match = float(np.median(np.diag(sims)))
        unrelated = float(np.percentile(sims[~np.eye(len(pairs), dtype=bool)], 95))
        levels[script] = (unrelated, match) if match - unrelated >= 0.05 else None
    return levels


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

    Its `levels` (per script, see `calibration`) are the index's own where it stored them (`levels`),
    else measured on load: a few dozen short texts.
    """
    encoder = _load(name, options, image)
    if levels is not None:
        encoder.levels = {script: tuple(pair) if pair else None for script, pair in levels.items()}
    else:
        encoder.levels = calibration(encoder)
    return encoder


def _load(name: str, options: EncoderOptions, image: Encoder):
    if name == IMAGE_TOWER:
        return TowerText(image)
    if name in TEXT_PRESETS:
        return SentenceEncoder(name, TEXT_PRESETS[name], options)
    local = Path(name).expanduser()
    if local.is_dir():
        name = str(local.resolve())
        return SentenceEncoder(name, TextPreset(name, _folder_pooling(local)), options)
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return SentenceEncoder(name, TextPreset(name, "mean"), options)
    known = ", ".join([IMAGE_TOWER, *TEXT_PRESETS])
    raise ModelError(f"unknown text model {name!r}: use one of {known}, a Hugging Face id or a local folder")
