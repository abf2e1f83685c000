"""Random picture-model checkpoints (DINOv2, ViT) written with save_pretrained: tiny ones for tests,
and DINOv2-small's real shapes for measuring its cost."""

from pathlib import Path

# facebook/dinov2-small's shapes: 12 layers of width 384 over 14-pixel patches, frames resized
# to 256 on their short side and cropped to 224 (16x16 patches).
DINOV2_SMALL = {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6, "image_size": 518,
                "patch_size": 14, "short_side": 256, "crop": 224}


def random_dinov2(folder: Path, hidden_size: int = 32, num_hidden_layers: int = 2, num_attention_heads: int = 2,
                  image_size: int = 32, patch_size: int = 8, short_side: int = 32, crop: int = 32,
                  seed: int = 0) -> Path:
    """A randomly initialised Dinov2Model with DINOv2's image processor (short side, then a centre crop)."""
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    torch.manual_seed(seed)
    config = Dinov2Config(hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                          num_attention_heads=num_attention_heads, image_size=image_size, patch_size=patch_size)
    Dinov2Model(config).save_pretrained(folder)
    BitImageProcessor(size={"shortest_edge": short_side}, crop_size={"height": crop, "width": crop},
                      do_center_crop=True, image_mean=[0.485, 0.456, 0.406],
                      image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder


def tiny_vit(folder: Path, seed: int = 0) -> Path:
    """A tiny randomly initialised ViTModel (with its pooler, as the in21k checkpoints have) and ViT's processor."""
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(seed)
    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       image_size=32, patch_size=8)
    ViTModel(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
