from dataclasses import replace

import numpy as np
import pytest
from conftest import run_cli

from vsearch.extract import FrameSpec
from vsearch.index import EncoderOptions, ModelError, load_encoder
from vsearch.index.encoders import PRESETS, encoder_names
from vsearch.testing.checkpoints import tiny_clip, tiny_siglip

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


def test_siglip_encodes_text_as_it_was_trained_padded_to_64_tokens(siglip_dir):
    """SigLIP's text tower was trained on text padded to 64 tokens: a short query alone, or beside
    a long one, gets the vector of that padding."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    enc = load_encoder(str(siglip_dir), CPU)
    stock, tokens = AutoModel.from_pretrained(siglip_dir).eval(), AutoTokenizer.from_pretrained(siglip_dir)
    with torch.inference_mode():
        want = stock.get_text_features(**tokens(["red"], padding="max_length", max_length=64, return_tensors="pt"))
    want = torch.nn.functional.normalize(want.pooler_output, dim=-1).numpy()[0]
    alone, beside = enc.encode_texts(["red"])[0], enc.encode_texts(["red", "a much longer query " * 5])[0]
    assert np.allclose(alone, want, atol=1e-5) and np.allclose(beside, want, atol=1e-5)


# One preset in the default run; each load attempt takes seconds.
@pytest.mark.parametrize("preset", [p if p == "clip" else pytest.param(p, marks=pytest.mark.slow) for p in sorted(PRESETS)])
def test_a_preset_not_downloaded_says_which_model_to_fetch(preset, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=rf"cannot load model {PRESETS[preset].model_id} .*`hf download "):
        load_encoder(preset, CPU)
    assert preset in encoder_names()


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

    enc = load_encoder(str(clip_dir), replace(CPU, engine="torch"))
    stock = AutoModel.from_pretrained(clip_dir).eval()
    torch.manual_seed(1)
    pixels, ids = torch.randn(5, 3, 32, 32) * 2, torch.randint(0, 200, (5, 12))
    with torch.inference_mode():
        for get, arg in [("get_image_features", {"pixel_values": pixels}), ("get_text_features", {"input_ids": ids})]:
            folded, plain = (getattr(m, get)(**arg).pooler_output for m in (enc.model, stock))
            assert torch.allclose(folded, plain, rtol=0, atol=1e-6)


def _tiny_towers(kind: str):
    import torch
    from transformers import CLIPConfig, CLIPModel, ChineseCLIPConfig, ChineseCLIPModel, SiglipConfig, SiglipModel

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

    from vsearch.index.torch_tweaks import pool_class_token_only

    stock = _tiny_towers(kind)
    trimmed = copy.deepcopy(stock)
    pool_class_token_only(trimmed)
    pixels = torch.randn(4, 3, 32, 32) * 2
    with torch.inference_mode():
        out, plain = (m.get_image_features(pixel_values=pixels) for m in (trimmed, stock))
    assert out.last_hidden_state.shape[1] == tokens  # the class token alone; SigLIP keeps its 16 patches
    assert torch.allclose(out.pooler_output, plain.pooler_output, rtol=0, atol=1e-6)


@pytest.mark.parametrize("model,why", [("jinaai/jina-clip-v2", "trust_remote_code"),
                                       ("BAAI/bge-visualized", "FlagEmbedding")])
def test_models_vsearch_does_not_load_are_refused_in_one_line_before_any_download(env, rgb_video, model, why):
    result = run_cli("index", str(rgb_video), "--model", model, ok=False)
    [line] = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and line.startswith(f"vsearch: error: cannot load {model}: ") and why in line
    assert "hf download" not in line
