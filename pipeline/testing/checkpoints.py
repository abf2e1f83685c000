"""Tiny random CLIP-family checkpoints written with save_pretrained, for offline tests."""

from pathlib import Path

WORDS = "red green blue grass sky vector database the a is of 向量 数据库 部分 讲 到 天空 草地".split()


def _tokenizer(model_max_length: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([" ".join(WORDS)] * 20, trainers.BpeTrainer(
        vocab_size=200, special_tokens=["[UNK]", "[PAD]", "[BOS]", "[EOS]"]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   bos_token="[BOS]", eos_token="[EOS]", model_max_length=model_max_length)


def tiny_clip(folder: Path, image_size: int = 32, hidden: int = 32, layers: int = 2) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                         num_attention_heads=2, vocab_size=200, max_position_embeddings=32),
        vision_config=dict(hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                           num_attention_heads=2, image_size=image_size, patch_size=8),
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    _tokenizer(32).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": image_size},
                       crop_size={"height": image_size, "width": image_size}).save_pretrained(folder)
    return folder


def tiny_siglip(folder: Path) -> Path:
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    torch.manual_seed(0)
    config = SiglipConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                         vocab_size=200, max_position_embeddings=64),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
    )
    SiglipModel(config).save_pretrained(folder)
    _tokenizer(64).save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def tiny_clap(folder: Path) -> Path:
    """A randomly initialised CLAP (HTSAT audio tower, RoBERTa text tower) a few MB in size."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    torch.manual_seed(0)
    config = ClapConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                         vocab_size=200, max_position_embeddings=80, pad_token_id=1),
        audio_config=dict(hidden_size=128, patch_embeds_hidden_size=16, depths=[1, 1, 1, 1],
                          num_attention_heads=[1, 1, 1, 2], window_size=8, enable_fusion=False),
        projection_dim=16,
    )
    ClapModel(config).save_pretrained(folder)
    _tokenizer(77).save_pretrained(folder)
    ClapFeatureExtractor().save_pretrained(folder)
    return folder


def tiny_chinese_clip(folder: Path) -> Path:
    """A randomly initialised Chinese-CLIP (BERT text tower, ViT image tower)."""
    import torch
    from transformers import ChineseCLIPConfig, ChineseCLIPImageProcessor, ChineseCLIPModel

    torch.manual_seed(0)
    tower = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    config = ChineseCLIPConfig(text_config=dict(tower, vocab_size=200, max_position_embeddings=64),
                               vision_config=dict(tower, image_size=32, patch_size=8), projection_dim=16)
    ChineseCLIPModel(config).save_pretrained(folder)
    _tokenizer(64).save_pretrained(folder)
    ChineseCLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def tiny_sentence(folder: Path, kind: str = "xlm-roberta") -> Path:
    """A randomly initialised sentence-embedding model: "xlm-roberta" (e5's shape) or "bert" (MiniLM's)."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    shape = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, vocab_size=200)
    if kind == "bert":
        BertModel(BertConfig(**shape, max_position_embeddings=512)).save_pretrained(folder)
    else:  # positions start after the padding index, as e5's 514 do
        XLMRobertaModel(XLMRobertaConfig(**shape, max_position_embeddings=514, pad_token_id=1)).save_pretrained(folder)
    _tokenizer(64).save_pretrained(folder)
    return folder


def outlier_clip(folder: Path, scale: float = 30.0) -> Path:
    """`tiny_clip` with two channels of every vision block's layer norms `scale` times larger: the
    activations' outliers a per-tensor int8 scale cannot hold, as some real models have (int8's
    vectors of it fall to cosine 0.8 of fp32's)."""
    import torch
    from transformers import CLIPModel

    tiny_clip(folder)
    model = CLIPModel.from_pretrained(folder)
    with torch.no_grad():
        for layer in model.vision_model.encoder.layers:
            layer.layer_norm1.weight[:2] *= scale
            layer.layer_norm2.weight[:2] *= scale
    model.save_pretrained(folder)
    return folder
