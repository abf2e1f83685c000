import numpy as np
import pytest

from checkpoints import tiny_clip, tiny_siglip
from vsearch.extract import FrameSpec
from vsearch.index import EncoderOptions, ModelError, load_encoder
from vsearch.index.encoders import PRESETS, encoder_names

CPU = EncoderOptions(device="cpu", batch_size=3)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def siglip_dir(tmp_path_factory):
    return tiny_siglip(tmp_path_factory.mktemp("siglip"))


@pytest.mark.parametrize("which,spec", [
    ("clip_dir", FrameSpec(32, 32, "cover")), ("siglip_dir", FrameSpec(32, 32, "stretch")),
])
def test_local_checkpoint_loads_and_encodes(request, which, spec):
    folder = request.getfixturevalue(which)
    enc = load_encoder(str(folder), CPU)
    assert enc.model_id == str(folder.resolve())
    assert enc.frame_spec == spec
    frames = np.random.default_rng(0).integers(0, 255, (7, 32, 32, 3), dtype=np.uint8)
    images = enc.encode_images(frames)
    texts = enc.encode_texts(["red sky", "向量数据库的部分", "a", "grass", "blue"])
    assert images.shape == (7, enc.dim) and texts.shape == (5, enc.dim)
    assert images.dtype == np.float32
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)
    # Batching must not change results: 7 frames in batches of 3 equal one at a time.
    one = np.concatenate([enc.encode_images(frames[i : i + 1]) for i in range(7)])
    assert np.allclose(images, one, atol=1e-5)
    assert not np.allclose(images[0], images[1])


def test_siglip_pads_text_to_64(siglip_dir):
    enc = load_encoder(str(siglip_dir), CPU)
    assert enc._text_kwargs == {"padding": "max_length", "max_length": 64}


def test_presets_are_registered():
    assert {"siglip2", "chinese-clip", "clip"} <= set(encoder_names())
    assert PRESETS["siglip2"].model_id == "google/siglip2-base-patch16-224"


@pytest.mark.parametrize("name", ["no-such-model", "./missing/folder", "a/b/c"])
def test_unknown_model(name):
    with pytest.raises(ModelError, match="unknown model"):
        load_encoder(name, CPU)


def test_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ModelError, match="cannot load model from"):
        load_encoder(str(tmp_path), CPU)


def test_cuda_requested_without_gpu(clip_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load_encoder(str(clip_dir), EncoderOptions(device="cuda"))


def test_clip_speedups_give_the_same_vectors(clip_dir):
    import torch
    from transformers import AutoModel

    enc = load_encoder(str(clip_dir), CPU)
    stock = AutoModel.from_pretrained(clip_dir).eval()
    assert sum(isinstance(m, torch.nn.SiLU) for m in enc.model.modules()) == 4  # 2 image + 2 text layers
    assert not any(isinstance(m, torch.nn.SiLU) for m in stock.modules())
    torch.manual_seed(1)
    pixels, ids = torch.randn(5, 3, 32, 32) * 2, torch.randint(0, 200, (5, 12))
    with torch.inference_mode():
        assert enc.model.get_image_features(pixel_values=pixels).last_hidden_state.shape[1] == 1
        for get, arg in [("get_image_features", {"pixel_values": pixels}), ("get_text_features", {"input_ids": ids})]:
            folded, plain = (getattr(m, get)(**arg).pooler_output for m in (enc.model, stock))
            assert torch.allclose(folded, plain, rtol=0, atol=1e-6)


def _tiny_towers(kind: str):
    import torch
    from transformers import ChineseCLIPConfig, ChineseCLIPModel, CLIPConfig, CLIPModel, SiglipConfig, SiglipModel

    torch.manual_seed(0)
    tower = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    vision = dict(tower, image_size=32, patch_size=8)
    config, model = {"clip": (CLIPConfig, CLIPModel), "chinese_clip": (ChineseCLIPConfig, ChineseCLIPModel),
                     "siglip": (SiglipConfig, SiglipModel)}[kind]
    return model(config(text_config=dict(tower, vocab_size=200), vision_config=vision)).eval()


@pytest.mark.parametrize("kind,tokens", [("clip", 1), ("chinese_clip", 1), ("siglip", 16)])
def test_class_token_pooled_towers_skip_the_last_layers_other_tokens(kind, tokens):
    import copy

    import torch

    from vsearch.index.encoders import pool_class_token_only

    stock = _tiny_towers(kind)
    trimmed = copy.deepcopy(stock)
    pool_class_token_only(trimmed)
    pixels = torch.randn(4, 3, 32, 32) * 2
    with torch.inference_mode():
        out, plain = (m.get_image_features(pixel_values=pixels) for m in (trimmed, stock))
    assert out.last_hidden_state.shape[1] == tokens  # the class token alone; SigLIP keeps its 16 patches
    assert torch.allclose(out.pooler_output, plain.pooler_output, rtol=0, atol=1e-6)
