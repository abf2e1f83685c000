"""ImageBind's vision, text and audio towers, run straight from the official checkpoint's tensors.

The names are those of facebookresearch/ImageBind's `imagebind_huge.pth` (models/imagebind_model.py):
`modality_preprocessors.<m>.*` (stems, class tokens, position embeddings), `modality_trunks.<m>.blocks.<i>.*`
(pre-norm transformer blocks over nn.MultiheadAttention), `modality_heads.<m>.*` (norm, first or
end-of-text token, projection to 1024) and `modality_postprocessors.<m>.*` (logit scales, unused:
vectors are normalised). Widths and depths are read from the tensors' shapes; heads from the
published head widths, so a checkpoint of other sizes with the same layout loads the same way.
"""

from collections.abc import Iterable

MODALITIES = ("vision", "text", "audio")
# Attention head width per tower of the published model: vision 1280 / 16 heads, text 1024 / 16,
# audio 768 / 12; the checkpoint does not store the number of heads.
HEAD_WIDTH = {"vision": 80, "text": 64, "audio": 64}
# CLIP's pixel normalisation, which ImageBind's vision transform uses (data.py).
PIXEL_MEAN = (0.48145466, 0.4578275, 0.40821073)
PIXEL_STD = (0.26862954, 0.26130258, 0.27577711)
# ImageBind's stems: a Conv3d over two repeated frames in 14-pixel patches; a Conv2d over the
# filterbank in 16-bin patches, 10 apart (models/imagebind_model.py).
IMAGE_PATCH = 14
AUDIO_PATCH, AUDIO_STRIDE = 16, 10
NORM_EPS = 1e-6  # the trunks' and heads' LayerNorms; the audio stem's keeps torch's 1e-5


def tensors(state: dict, modalities: Iterable[str]) -> dict:
    """The entries of a full checkpoint that the towers of `modalities` read (others are left unread)."""
    prefixes = tuple(f"modality_{part}.{m}." for m in modalities
                     for part in ("preprocessors", "trunks", "heads", "postprocessors"))
    return {k: v for k, v in state.items() if k.startswith(prefixes)}


def depth(w: dict, modality: str) -> int:
    """How many transformer blocks a tower has in the checkpoint."""
    prefix = f"modality_trunks.{modality}.blocks."
    return len({k[len(prefix):].split(".", 1)[0] for k in w if k.startswith(prefix)})


def image_side(w: dict) -> int:
    """The picture side the vision tower's position embeddings were made for (224 for ImageBind)."""
    patches = w["modality_preprocessors.vision.pos_embedding_helper.pos_embed"].shape[1] - 1
    return round(patches ** 0.5) * IMAGE_PATCH


def context_length(w: dict) -> int:
    """How many tokens the text tower reads (77)."""
    return w["modality_preprocessors.text.pos_embed"].shape[1]


# Each tower's last projection into the shared space.
PROJECTIONS = ("modality_heads.vision.2.weight", "modality_heads.text.proj.1.weight", "modality_heads.audio.2.weight")


def out_dim(w: dict) -> int:
    """The shared space's width (1024), from whichever towers are loaded."""
    return next(w[k].shape[0] for k in PROJECTIONS if k in w)


def _norm(x, w: dict, prefix: str, eps: float = NORM_EPS):
    import torch.nn.functional as F

    return F.layer_norm(x, x.shape[-1:], w[prefix + "weight"], w[prefix + "bias"], eps)


def _attend(x, w: dict, prefix: str, heads: int, causal: bool):
    """nn.MultiheadAttention's function on batch-first tokens, with its learnt key and value
    appended when the checkpoint has them (the audio trunk's add_bias_kv)."""
    import torch
    import torch.nn.functional as F

    q, k, v = F.linear(x, w[prefix + "in_proj_weight"], w[prefix + "in_proj_bias"]).chunk(3, dim=-1)
    if prefix + "bias_k" in w:
        extra = (x.shape[0], 1, x.shape[-1])
        k = torch.cat([k, w[prefix + "bias_k"].expand(extra)], dim=1)
        v = torch.cat([v, w[prefix + "bias_v"].expand(extra)], dim=1)

    def split(t):
        return t.unflatten(-1, (heads, -1)).transpose(1, 2)

    out = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal)
    return F.linear(out.transpose(1, 2).flatten(2), w[prefix + "out_proj.weight"], w[prefix + "out_proj.bias"])


def trunk(x, w: dict, modality: str, causal: bool = False):
    """A tower's pre-norm transformer blocks (ImageBind's BlockWithMasking, no layer scale)."""
    import torch.nn.functional as F

    heads = x.shape[-1] // HEAD_WIDTH[modality]
    for i in range(depth(w, modality)):
        p = f"modality_trunks.{modality}.blocks.{i}."
        x = x + _attend(_norm(x, w, p + "norm_1."), w, p + "attn.", heads, causal)
        hidden = F.gelu(F.linear(_norm(x, w, p + "norm_2."), w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]))
        x = x + F.linear(hidden, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    return x


def _with_class_token(tokens, w: dict, modality: str):
    import torch

    p = f"modality_preprocessors.{modality}."
    cls = w[p + "cls_token"].expand(tokens.shape[0], -1, -1)
    return torch.cat([cls, tokens], dim=1) + w[p + "pos_embedding_helper.pos_embed"]


def vision(pixels, w: dict):
    """Image vectors (not normalised) of normalised (N, 3, side, side) pictures."""
    import torch.nn.functional as F

    # The stem repeats a picture into two frames and convolves both with a 2-deep kernel: the
    # same as one 2-d convolution with the kernel's two slices summed.
    kernel = w["modality_preprocessors.vision.rgbt_stem.proj.1.weight"].sum(dim=2)
    tokens = F.conv2d(pixels, kernel, stride=IMAGE_PATCH).flatten(2).transpose(1, 2)
    x = _norm(_with_class_token(tokens, w, "vision"), w, "modality_trunks.vision.pre_transformer_layer.0.")
    x = trunk(x, w, "vision")
    return F.linear(_norm(x[:, 0], w, "modality_heads.vision.0."), w["modality_heads.vision.2.weight"])


def text(ids, w: dict):
    """Text vectors (not normalised) of (N, context) token ids, each ending in the end-of-text id
    (the vocabulary's last, so the highest id marks where a text ends)."""
    import torch
    import torch.nn.functional as F

    p = "modality_preprocessors.text."
    x = F.embedding(ids, w[p + "token_embedding.weight"]) + w[p + "pos_embed"]
    x = trunk(x, w, "text", causal=True)
    x = x[torch.arange(len(ids)), ids.argmax(dim=-1)]
    return F.linear(_norm(x, w, "modality_heads.text.proj.0."), w["modality_heads.text.proj.1.weight"])


def audio(bank, w: dict):
    """Sound vectors (not normalised) of normalised (N, 1, mel bins, frames) filterbanks."""
    import torch.nn.functional as F

    p = "modality_preprocessors.audio.rgbt_stem."
    tokens = F.conv2d(bank, w[p + "proj.weight"], stride=AUDIO_STRIDE).flatten(2).transpose(1, 2)
    tokens = _norm(tokens, w, p + "norm_layer.", eps=1e-5)
    x = trunk(_with_class_token(tokens, w, "audio"), w, "audio")
    return F.linear(_norm(x[:, 0], w, "modality_heads.audio.0."), w["modality_heads.audio.2.weight"])
