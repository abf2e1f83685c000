"""ImageBind written natively: the official checkpoint's names, its three towers, its filterbanks."""

import gzip

import numpy as np
import pytest
from conftest import find_json, run_cli

from vsearch.index import EncoderOptions, ModelError, load_audio_encoder, load_encoder
from vsearch.index import imagebind as towers
from vsearch.index.imagebind_audio import clip_starts, fbank

# imagebind_huge.pth as facebookresearch/ImageBind's models/imagebind_model.py builds it, for the
# three towers vsearch runs (the checkpoint also holds depth, thermal and imu towers). Per block of
# `modality_trunks.<m>.blocks.<i>.`: BlockWithMasking's attn (nn.MultiheadAttention; bias_k and
# bias_v for audio's add_bias_kv), norm_1, mlp (timm Mlp: fc1, fc2), norm_2.
BLOCK = ["attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
         "norm_1.weight", "norm_1.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
         "norm_2.weight", "norm_2.bias"]
# Checked against the reference: facebookresearch/ImageBind at 53680b0, its ImageBindModel built with
# imagebind_huge's arguments at these narrow widths and two blocks, has exactly these 100 vision,
# text and audio keys, of these shapes (the vocabulary aside).
PUBLISHED = {
    "vision": [
        "modality_preprocessors.vision.cls_token",  # (1, 1, 1280)
        "modality_preprocessors.vision.rgbt_stem.proj.1.weight",  # Conv3d after PadIm2Video: (1280, 3, 2, 14, 14)
        "modality_preprocessors.vision.pos_embedding_helper.pos_embed",  # (1, 257, 1280)
        "modality_trunks.vision.pre_transformer_layer.0.weight", "modality_trunks.vision.pre_transformer_layer.0.bias",
        "modality_heads.vision.0.weight", "modality_heads.vision.0.bias",  # LayerNorm, SelectElement, Linear
        "modality_heads.vision.2.weight",  # (1024, 1280)
    ],
    "text": [
        "modality_preprocessors.text.pos_embed",  # (1, 77, 1024)
        "modality_preprocessors.text.mask",  # the causal mask, a buffer (77, 77)
        "modality_preprocessors.text.token_embedding.weight",  # (49408, 1024)
        "modality_heads.text.proj.0.weight", "modality_heads.text.proj.0.bias",  # SelectEOSAndProject
        "modality_heads.text.proj.1.weight",  # (1024, 1024)
        "modality_postprocessors.text.1.log_logit_scale",  # learnable
    ],
    "audio": [
        "modality_preprocessors.audio.cls_token",  # (1, 1, 768)
        "modality_preprocessors.audio.rgbt_stem.proj.weight",  # Conv2d: (768, 1, 16, 16)
        "modality_preprocessors.audio.rgbt_stem.norm_layer.weight", "modality_preprocessors.audio.rgbt_stem.norm_layer.bias",
        "modality_preprocessors.audio.pos_embedding_helper.pos_embed",  # (1, 229, 768)
        "modality_heads.audio.0.weight", "modality_heads.audio.0.bias",
        "modality_heads.audio.2.weight",  # (1024, 768)
        "modality_postprocessors.audio.1.log_logit_scale",  # a buffer (not learnable)
    ],
}
UNREAD = {"modality_preprocessors.text.mask", "modality_postprocessors.text.1.log_logit_scale",
          "modality_postprocessors.audio.1.log_logit_scale"}  # vsearch normalises vectors; is_causal masks

# A tiny ImageBind: the published layout and input sizes, narrow towers (one or two heads of the
# published head widths), two blocks each, a 32-d space and a six-merge vocabulary.
WIDTH = {"vision": 160, "text": 128, "audio": 64}
BLOCKS, OUT = 2, 32
MERGES = ["t h", "th e</w>", "c a", "ca r</w>", "r e", "re d</w>"]
VOCAB = 512 + len(MERGES) + 2


def published_keys(blocks: int) -> list[str]:
    return [k for m, keys in PUBLISHED.items()
            for k in keys + [f"modality_trunks.{m}.blocks.{i}.{b}" for i in range(blocks) for b in BLOCK]
            + ([f"modality_trunks.{m}.blocks.{i}.attn.bias_{kv}" for i in range(blocks) for kv in "kv"]
               if m == "audio" else [])]


def _shape(key: str) -> tuple:
    m = key.split(".")[1]
    d, name = WIDTH[m], key.rsplit(".", 1)[1]
    special = {
        "modality_preprocessors.vision.rgbt_stem.proj.1.weight": (d, 3, 2, 14, 14),
        "modality_preprocessors.vision.pos_embedding_helper.pos_embed": (1, 257, d),
        "modality_preprocessors.text.pos_embed": (1, 77, d),
        "modality_preprocessors.text.mask": (77, 77),
        "modality_preprocessors.text.token_embedding.weight": (VOCAB, d),
        "modality_preprocessors.audio.rgbt_stem.proj.weight": (d, 1, 16, 16),
        "modality_preprocessors.audio.pos_embedding_helper.pos_embed": (1, 229, d),
    }
    if key in special:
        return special[key]
    if name == "log_logit_scale":
        return ()
    if key.endswith(("vision.2.weight", "audio.2.weight", "text.proj.1.weight")):
        return (OUT, d)
    return {"cls_token": (1, 1, d), "bias_k": (1, 1, d), "bias_v": (1, 1, d), "in_proj_weight": (3 * d, d),
            "in_proj_bias": (3 * d,)}.get(name) or {
        "fc1": (4 * d, d) if name == "weight" else (4 * d,), "fc2": (d, 4 * d) if name == "weight" else (d,),
        "out_proj": (d, d) if name == "weight" else (d,)}.get(key.rsplit(".", 2)[1], (d,))


def tiny_state() -> dict:
    import torch

    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(_shape(k), generator=gen) * 0.05 for k in published_keys(BLOCKS)}
    for key, value in state.items():
        if key.endswith(("norm_1.weight", "norm_2.weight", "0.weight")) and value.ndim == 1:
            state[key] = 1 + value  # LayerNorm scales near 1, as trained ones are
    state["modality_preprocessors.depth.cls_token"] = torch.zeros(1, 1, 8)  # a tower vsearch leaves unread
    return state


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder as a user keeps ImageBind: the checkpoint saved with torch.save, and the BPE vocabulary."""
    import torch

    folder = tmp_path_factory.mktemp("imagebind")
    torch.save(tiny_state(), folder / "imagebind_huge.pth")
    with gzip.open(folder / "bpe_simple_vocab_16e6.txt.gz", "wt", encoding="utf-8") as out:
        out.write("\n".join(["\"bpe_simple_vocab_16e6.txt#version: 0.2"] + MERGES) + "\n")
    return folder


CPU = EncoderOptions(device="cpu", dtype="float32", batch_size=0, engine="torch")


class Recording(dict):
    """The checkpoint's tensors, noting each name a tower reads."""

    read: set

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_the_towers_read_the_published_names_and_nothing_else():
    import torch

    w = Recording(towers.tensors(tiny_state(), towers.MODALITIES))
    w.read = set()
    towers.vision(torch.zeros(1, 3, 224, 224), w)
    towers.text(torch.tensor([[VOCAB - 2, 5, VOCAB - 1] + [0] * 74]), w)
    towers.audio(torch.zeros(1, 1, 128, 204), w)
    assert set(w) == set(published_keys(BLOCKS))  # the depth tower is left out
    assert w.read == set(published_keys(BLOCKS)) - UNREAD


def test_attention_is_torch_multihead_attention_with_its_learnt_key_and_value():
    import torch

    torch.manual_seed(0)
    for bias_kv, causal in ((True, False), (False, True)):
        mha = torch.nn.MultiheadAttention(64, 2, add_bias_kv=bias_kv, batch_first=True).eval()
        w = {f"a.{k}": v.detach() for k, v in mha.state_dict().items()}
        x = torch.randn(3, 7, 64)
        mask = torch.full((7, 7), float("-inf")).triu(1) if causal else None
        want = mha(x, x, x, attn_mask=mask, need_weights=False)[0]
        got = towers._attend(x, w, "a.", 2, causal)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def images(folder):
    """The image model loaded from the folder, its levels measured as at any load."""
    return load_encoder(str(folder), CPU)


def test_image_text_and_sound_vectors_from_a_checkpoint_folder(folder, images):
    assert (images.dim, images.frame_spec.width, images.frame_spec.height) == (OUT, 224, 224)
    frames = np.random.default_rng(0).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    texts = ["the red car", "a car", "一辆红色的车"]
    sounds = load_audio_encoder(str(folder), CPU, with_text=True)
    rng = np.random.default_rng(1)
    clips = [rng.uniform(-0.3, 0.3, 16000 * 5).astype(np.float32), rng.uniform(-0.3, 0.3, 8000).astype(np.float32)]
    for vecs, count in ((images.encode_images(frames), 3), (images.encode_texts(texts), 3),
                        (sounds.encode_texts(texts), 3), (sounds.encode_audio(clips), 2)):
        assert vecs.shape == (count, OUT) and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # One space: the sound model's text tower is the image model's.
    np.testing.assert_allclose(sounds.encode_texts(texts), images.encode_texts(texts), atol=1e-6)
    assert sounds.rate == 16000 and sounds.model_id == images.model_id == str(folder)
    assert load_audio_encoder(str(folder), CPU, with_text=False).encode_audio(clips[:1]).shape == (1, OUT)


def test_the_tokenizer_is_clips_bpe_from_imagebinds_vocabulary_file(images):
    ids = images.tokenizer(["the red car"])["input_ids"][0]
    # <|startoftext|>, the three merged words, <|endoftext|>: the vocabulary's last two ids.
    assert ids == [VOCAB - 2, 513, 517, 515, VOCAB - 1]


def test_the_preset_reads_the_model_cache_and_names_the_download_and_licence(folder, tmp_path):
    cache = tmp_path / "models"
    with pytest.raises(ModelError) as caught:
        load_encoder("imagebind", EncoderOptions(device="cpu", cache=cache))
    message = str(caught.value)
    assert "https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth" in message
    assert "CC BY-NC-SA 4.0" in message and str(cache / "imagebind") in message and "\n" not in message
    (cache / "imagebind").mkdir(parents=True)
    for name in ("imagebind_huge.pth", "bpe_simple_vocab_16e6.txt.gz"):
        (cache / "imagebind" / name).symlink_to(folder / name)
    options = EncoderOptions(device="cpu", dtype="float32", engine="torch", cache=cache)
    assert load_encoder("imagebind", options, measure=False).dim == OUT
    assert load_audio_encoder("imagebind", options, with_text=False).dim == OUT


@pytest.mark.slow  # indexes a video: about 10 s on 2 cores
def test_a_sound_finds_frames_where_imagebind_is_the_image_model(env, folder, rgb_video, monkeypatch, tmp_path):
    from vsearch.testing.media import ffmpeg

    monkeypatch.setenv("VSEARCH_MODEL", str(folder))
    run_cli("index", str(rgb_video))  # sounds off: the index holds frames alone
    clip = tmp_path / "clip.wav"
    ffmpeg("-i", str(rgb_video), "-vn", "-t", "3", "-c:a", "pcm_s16le", str(clip))
    found = find_json("--audio", str(clip), "-k", "2")
    assert found and {seg["video"] for seg in found} == {str(rgb_video)}


def _kaldi_fbank(wave: np.ndarray) -> np.ndarray:
    """torchaudio.compliance.kaldi.fbank(htk_compat=True, use_energy=False, window_type="hanning",
    num_mel_bins=128, dither=0, frame_length=25, frame_shift=10) written out frame by frame."""
    rate, length, shift, fft, bins = 16000, 400, 160, 512, 128
    window = np.array([0.5 - 0.5 * np.cos(2 * np.pi * n / (length - 1)) for n in range(length)])

    def mel(hz):
        return 1127.0 * np.log(1.0 + hz / 700.0)

    lo, hi = mel(20.0), mel(rate / 2)
    step = (hi - lo) / (bins + 1)
    banks = np.zeros((bins, fft // 2 + 1))
    for b in range(bins):
        left, centre, right = lo + b * step, lo + (b + 1) * step, lo + (b + 2) * step
        for k in range(fft // 2):
            m = mel(k * rate / fft)
            if left < m < right:
                banks[b, k] = (m - left) / (centre - left) if m <= centre else (right - m) / (right - centre)
    rows = []
    for start in range(0, len(wave) - length + 1, shift):
        frame = wave[start : start + length].astype(np.float64)
        frame = frame - frame.mean()
        frame = np.array([frame[i] - 0.97 * frame[max(i - 1, 0)] for i in range(length)]) * window
        spectrum = np.fft.fft(np.concatenate([frame, np.zeros(fft - length)]))[: fft // 2 + 1]
        rows.append(np.log(np.maximum(banks @ np.abs(spectrum) ** 2, np.finfo(np.float32).eps)))
    return np.array(rows)


def test_the_filterbank_is_kaldis():
    t = np.arange(int(16000 * 0.3)) / 16000
    wave = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).standard_normal(len(t))
    got = fbank(wave.astype(np.float32))
    want = _kaldi_fbank(wave.astype(np.float32))
    assert got.shape == want.shape == (28, 128)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_a_sound_is_heard_as_three_clips_spread_over_it():
    assert clip_starts(16000 * 8) == [0, 48000, 96000]  # 2 s clips at 0, 3 and 6 s
    assert clip_starts(16000) == [0, 0, 0]
