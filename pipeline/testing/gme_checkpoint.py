"""Random GME-style Qwen2-VL checkpoints: tiny ones saved for tests, the 2B's shapes for benchmarks."""

from pathlib import Path

from .checkpoints import WORDS

# Qwen2-VL's special tokens, which its processor and GME's prompts name.
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
           "<|image_pad|>", "<|video_pad|>"]

# gme-Qwen2-VL-2B-Instruct's shapes (its config.json).
GME_2B = {
    "text": {"vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
             "num_attention_heads": 12, "num_key_value_heads": 2,
             "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}},
    "vision": {"depth": 32, "embed_dim": 1280, "hidden_size": 1536, "num_heads": 16},
}
TINY = {
    "text": {"vocab_size": 256, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "num_key_value_heads": 1,
             "rope_parameters": {"rope_type": "default", "rope_theta": 1e4, "mrope_section": [4, 2, 2]}},
    "vision": {"depth": 2, "embed_dim": 32, "hidden_size": 32, "num_heads": 2, "patch_size": 2},
}


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([" ".join(WORDS)] * 20, trainers.BpeTrainer(
        vocab_size=200, special_tokens=["[UNK]", *SPECIAL]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="<|endoftext|>",
                                   eos_token="<|im_end|>", model_max_length=1800)


def gme_config(shapes: dict = TINY):
    """A Qwen2-VL config of `shapes` marked as GME-style (config.json "vsearch_encoder": "gme"), its
    tokenizer and its image processor."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLImageProcessorPil

    torch.manual_seed(0)
    tokenizer = _tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL}
    config = Qwen2VLConfig(
        text_config=dict(shapes["text"], max_position_embeddings=4096,
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(shapes["vision"]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    config.vsearch_encoder = "gme"
    patch = shapes["vision"].get("patch_size", 14)
    return config, tokenizer, Qwen2VLImageProcessorPil(patch_size=patch)


def gme_checkpoint(folder: Path) -> Path:
    """A tiny randomly initialised GME-style checkpoint, saved to `folder`."""
    from transformers import Qwen2VLForConditionalGeneration

    config, tokenizer, images = gme_config()
    Qwen2VLForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    images.save_pretrained(folder)
    return folder
