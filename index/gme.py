"""GME (gme-Qwen2-VL): frames, texts and a picture with its text in one space, through transformers' Qwen2-VL.

Every input is a chat prompt, as the model card's `gme_inference.py` writes it; its vector is the
hidden state of the prompt's last token, L2-normalised. A query carries a retrieval instruction,
a frame or a cue (a document) the default one. A folder is GME-style when its config.json has
model_type "qwen2_vl" and either it holds `gme_inference.py` (as the official checkpoints do) or
config.json says `"vsearch_encoder": "gme"` (add it to a fine-tuned copy that has no such file).
"""

import json
import logging
from pathlib import Path

import numpy as np

from vsearch.extract import FrameSpec

from .loading import IMAGE, ModelError, hub_files, load_failure, pick_batch, pick_device, pick_dtype

log = logging.getLogger("vsearch")

MARKER = "vsearch_encoder"
# The model card's instructions: a text query asks for pictures; a document takes the default.
TEXT_QUERY = "Find an image that matches the given text."
PICTURE_QUERY = "Find an image that matches the given image and text."
DOCUMENT = "You are a helpful assistant."
MAX_TOKENS = 1800  # gme_inference.py's max_length
# Merged visual tokens per frame (across, down): the fewest at about 16:9 above GME's minimum of
# 256 (gme_inference.py's min_image_tokens), so a 1 fps frame costs a bounded 264 tokens.
GRID = (22, 12)
# benchmarks/gme.py: the 2B's shapes, float32 torch, 2 shared cores of an x86 VM (GRID frames, batch 2).
CPU_FRAMES_PER_S = 0.013


def is_gme(model_id: str) -> bool:
    """Whether `model_id` is a GME-style model: a local folder with the marker (module docstring) or
    a Hugging Face id named gme-Qwen2-VL-*; an error for a Qwen2-VL folder without the marker."""
    folder = Path(model_id)
    if not folder.is_dir():
        return model_id.rsplit("/", 1)[-1].lower().startswith("gme-qwen2-vl")
    try:
        config = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if config.get("model_type") != "qwen2_vl":
        return False
    if config.get(MARKER) == "gme" or (folder / "gme_inference.py").is_file():
        return True
    raise ModelError(f"{model_id} is a Qwen2-VL model but not marked as a GME embedding model: add "
                     f"\"{MARKER}\": \"gme\" to its config.json if it is one (docs/models.md, \"GME\")")


def load_gme(model_id: str, options) -> "GmeEncoder":
    """A GME model on torch (its dynamic vision grid is no tower the ONNX export handles), said to be
    slow once where it runs on a CPU."""
    import torch
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil, Qwen2VLModel

    device = pick_device(options.device)
    # Qwen2's activations overflow float16; bfloat16 is what GME was trained in.
    dtype = torch.bfloat16 if options.dtype == "auto" and device != "cpu" else pick_dtype(options.dtype, device)
    if options.engine == "onnx":
        log.warning(f"vsearch: warning: {model_id} runs on torch: the ONNX export reads CLIP-family towers only")
    offline = hub_files(model_id)
    try:
        model = Qwen2VLModel.from_pretrained(model_id, dtype=dtype, **offline).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_id, **offline)
        images = Qwen2VLImageProcessorPil.from_pretrained(model_id, **offline)
    except (OSError, ValueError) as exc:
        raise load_failure(model_id, IMAGE, exc, bool(offline)) from None
    if device == "cpu":
        log.warning(f"vsearch: warning: {model_id} is slow on a CPU: the 2B encodes about {CPU_FRAMES_PER_S:g} "
                    f"frames/s on 2 cores, {1 / CPU_FRAMES_PER_S:.0f} hours per hour of video at 1 fps; "
                    "use a GPU (docs/models.md, \"GME\")")
    return GmeEncoder(model_id, model, tokenizer, images, device, pick_batch(options.batch_size, device, on_cpu=2))


class GmeEncoder:
    """A loaded GME model as an Encoder, with `encode_query` for a picture and its text as one vector."""

    levels = None  # set by load_encoder

    def __init__(self, model_id: str, model, tokenizer, images, device: str, batch_size: int):
        self.model_id, self.model, self.tokenizer, self.images = model_id, model, tokenizer, images
        self.device, self.batch_size = device, batch_size
        vision = model.config.vision_config
        self._merge = vision.spatial_merge_size
        side = vision.patch_size * self._merge  # the pixels one merged token covers, across and down
        self.frame_spec = FrameSpec(GRID[0] * side, GRID[1] * side, "cover")
        self.dim = int(model.config.text_config.hidden_size)

    def _prompt(self, instruction: str, text: str = "", tokens: int = 0) -> str:
        """gme_inference.py's prompt: an instruction, a picture of `tokens` visual tokens, a text."""
        picture = f"<|vision_start|>{'<|image_pad|>' * tokens}<|vision_end|>" if tokens else ""
        return (f"<|im_start|>system\n{instruction}<|im_end|>\n<|im_start|>user\n{picture}{text}<|im_end|>\n"
                "<|im_start|>assistant\n<|endoftext|>")

    def _embed(self, instruction: str, texts: list[str], pixels: np.ndarray | None = None) -> np.ndarray:
        """The normalised last-token vectors of prompts for `texts`, each with its picture where `pixels`
        (N, H, W, 3) uint8 at `frame_spec` is given."""
        import torch

        from .torch_tweaks import unit_rows

        extra, tokens = {}, [0] * len(texts)
        if pixels is not None:
            # Frames come sized to frame_spec, a whole number of merged tokens: nothing to resize.
            seen = self.images(images=list(pixels), do_resize=False, return_tensors="pt")
            grids = seen["image_grid_thw"]
            tokens = (grids.prod(-1) // self._merge ** 2).tolist()
            extra = {"pixel_values": seen["pixel_values"].to(self.device, self.model.dtype),
                     "image_grid_thw": grids.to(self.device)}
        prompts = [self._prompt(instruction, text, n) for text, n in zip(texts, tokens)]
        inputs = self.tokenizer(prompts, padding=True, padding_side="right", truncation=True,
                                max_length=MAX_TOKENS, return_tensors="pt").to(self.device)
        mask = inputs["attention_mask"]
        # Plain positions, as gme_inference.py gives the decoder (not Qwen2-VL's 3D rope index);
        # padding on the right keeps each prompt's own positions whatever it is batched with.
        positions = torch.arange(mask.shape[1], device=self.device).expand_as(mask)
        with torch.inference_mode():
            out = self.model(input_ids=inputs["input_ids"], attention_mask=mask, position_ids=positions, **extra)
            last = out.last_hidden_state[torch.arange(len(prompts), device=self.device), mask.sum(-1) - 1]
        return unit_rows(last)

    def _batched(self, count: int, run) -> np.ndarray:
        """`run(lo, hi)` over batches of `batch_size`, stacked."""
        parts = [run(lo, min(lo + self.batch_size, count)) for lo in range(0, count, self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """Encode (N, H, W, 3) uint8 frames sized to `frame_spec`, as documents."""
        return self._batched(len(pixels), lambda lo, hi: self._embed(DOCUMENT, [""] * (hi - lo), pixels[lo:hi]))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Encode texts as queries for pictures."""
        return self._batched(len(texts), lambda lo, hi: self._embed(TEXT_QUERY, texts[lo:hi]))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Encode cue texts as documents (`text_model = "image"`)."""
        return self._batched(len(texts), lambda lo, hi: self._embed(DOCUMENT, texts[lo:hi]))

    def encode_query(self, text: str, pixels: np.ndarray) -> np.ndarray:
        """One query vector of a picture (H, W, 3) at `frame_spec` and its text ("" for none)."""
        return self._embed(PICTURE_QUERY, [text], pixels[None])[0]
