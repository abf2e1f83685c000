"""What the torch engine changes in a model before running it (the same function, less work),
and how its outputs become vectors.

ONNX exports are traced from the changed model, so its graphs do less work too.
"""

import functools


def fold_quick_gelu(model) -> None:
    """Turn each fc1 -> QuickGELU -> fc2 block of `model` into the same function with SiLU.

    QuickGELU is x * sigmoid(1.702 x), three passes over the widest activation in eager PyTorch;
    SiLU is one. With fc1 scaled by 1.702 and fc2 by 1 / 1.702, silu(1.702 y) / 1.702 is that
    same function, so vectors change only by float rounding (about 1e-7) while a ViT-B/32 encodes
    about 15% more images per second on the CPU. Only in float32: float16 weights would round
    visibly when rescaled.
    """
    import torch
    from transformers.activations import QuickGELUActivation

    with torch.no_grad():
        for block in model.modules():
            fc1, act, fc2 = (getattr(block, name, None) for name in ("fc1", "activation_fn", "fc2"))
            if isinstance(act, QuickGELUActivation) and isinstance(fc1, torch.nn.Linear) and isinstance(fc2, torch.nn.Linear):
                fc1.weight.mul_(1.702)
                if fc1.bias is not None:
                    fc1.bias.mul_(1.702)
                fc2.weight.div_(1.702)
                # In place: fc1's output is a fresh tensor that nothing else reads.
                block.activation_fn = torch.nn.SiLU(inplace=True)


# Vision towers whose image vector is made from the class token of the last layer alone
# (`last_hidden_state[:, 0]`); SigLIP pools every token through an attention head.
_CLASS_TOKEN_POOLED = {"clip", "chinese_clip"}


def pool_class_token_only(model) -> None:
    """Run the last layer of a class-token-pooled vision tower for the class token alone.

    Nothing reads the other tokens' outputs of that layer, only their keys and values. Skipping
    their query, attention output and MLP is a twelfth of a ViT-B/32's work less and 8-9% more
    images per second on the CPU; vectors change only by float rounding.
    """
    if model.config.model_type in _CLASS_TOKEN_POOLED:
        last = model.vision_model.encoder.layers[-1]
        last.forward = functools.partial(_class_token_forward, last)


def _class_token_forward(layer, hidden_states, attention_mask=None, **kwargs):
    """A CLIP encoder layer's output for the class token (the first) only, shape (N, 1, width).

    The encoder also passes a mask (None for images) and output flags, which change nothing here.
    """
    import torch.nn.functional as F

    attn = layer.self_attn
    normed = layer.layer_norm1(hidden_states)
    batch, _, width = normed.shape
    heads = (batch, -1, attn.num_heads, attn.head_dim)
    query = attn.q_proj(normed[:, :1]).view(heads).transpose(1, 2)
    key = attn.k_proj(normed).view(heads).transpose(1, 2)
    value = attn.v_proj(normed).view(heads).transpose(1, 2)
    mixed = F.scaled_dot_product_attention(query, key, value, scale=attn.scale)
    token = hidden_states[:, :1] + attn.out_proj(mixed.transpose(1, 2).reshape(batch, 1, width))
    return token + layer.mlp(layer.layer_norm2(token))


def clap_columns(audio_config) -> int:
    """How many time columns CLAP's audio tower leaves over its input (HTSAT: 32 over 10 s)."""
    stride = audio_config.patch_stride
    stride = stride[1] if isinstance(stride, (list, tuple)) else stride
    return audio_config.spec_size // 2 ** (len(audio_config.depths) - 1) // stride * (
        audio_config.spec_size // audio_config.num_mel_bins)


def clap_spans(model, weights, **inputs):
    """CLAP sound vectors (unnormalised) of stretches of each input, from one pass of its audio tower.

    HTSAT's last layer is a grid of frequency bands by time columns over the 10 s input (2 by 32),
    and CLAP's vector of a clip is the projection of the grid's mean. Averaging the columns by
    `weights` (batch, stretches, columns) instead gives each stretch a vector from the same pass;
    uniform weights give exactly the clip's own vector (tests/test_sounds.py).
    """
    import torch

    grid = model.audio_model(**inputs).last_hidden_state  # (batch, channels, bands, columns)
    pooled = torch.einsum("bsc,bhc->bsh", weights.to(grid.dtype), grid.mean(2))
    return model.audio_projection(pooled)


def unit_rows(out):
    """A tower's output (a tensor, or a model output with a pooler_output) as L2-normalised float32 rows."""
    import numpy as np
    import torch

    emb = out.pooler_output if hasattr(out, "pooler_output") else out
    return torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy().astype(np.float32)
