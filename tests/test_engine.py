"""The CPU engine: every preset's architecture on ONNX Runtime gives torch's vectors; its cache."""

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vsearch.index import EncoderOptions, load_audio_encoder, load_encoder
from vsearch.index.encoders import HFEncoder
from vsearch.index.engines import QUANTIZATION
from vsearch.index.onnx_engine import OnnxClap, OnnxClip, OnnxSentence
from vsearch.index.text_encoders import load_text_encoder
from vsearch.testing.checkpoints import tiny_chinese_clip, tiny_clap, tiny_clip, tiny_sentence, tiny_siglip

TEXTS = ["red sky", "向量数据库的部分", "a", "the grass is green " * 40, "Ünïcödé, \"quotes\" and <script>"]


@pytest.fixture
def onnx(tmp_path) -> EncoderOptions:
    return EncoderOptions(device="cpu", batch_size=3, engine="onnx", cache=tmp_path / "models")


def _torch(options: EncoderOptions) -> EncoderOptions:
    return replace(options, engine="torch")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and a.dtype == np.float32
    return np.sum(a * b, axis=1)


def _frames(n: int = 5) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("make", [tiny_clip, tiny_chinese_clip, tiny_siglip])
def test_image_and_text_towers_match_torch(make, tmp_path, onnx):
    folder = make(tmp_path / "model")
    fast, slow = load_encoder(str(folder), onnx), load_encoder(str(folder), _torch(onnx))
    assert isinstance(fast, OnnxClip) and isinstance(slow, HFEncoder)
    assert (fast.dim, fast.frame_spec, fast.model_id) == (slow.dim, slow.frame_spec, slow.model_id)
    assert _cosines(fast.encode_images(_frames()), slow.encode_images(_frames())).min() >= 0.9999
    assert _cosines(fast.encode_texts(TEXTS), slow.encode_texts(TEXTS)).min() >= 0.9999
    assert fast.encode_images(_frames(0)).shape == (0, fast.dim)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["xlm-roberta", "bert"])
def test_sentence_models_match_torch(kind, tmp_path, onnx):
    folder = str(tiny_sentence(tmp_path / "model", kind))
    fast, slow = (load_text_encoder(folder, o, None) for o in (onnx, _torch(onnx)))
    assert isinstance(fast, OnnxSentence) and fast.dim == slow.dim
    assert _cosines(fast.encode_queries(TEXTS), slow.encode_queries(TEXTS)).min() >= 0.9999
    assert _cosines(fast.encode_passages(TEXTS), slow.encode_passages(TEXTS)).min() >= 0.9999
    assert fast.levels == slow.levels or all(
        np.allclose(fast.levels[s], slow.levels[s], atol=1e-4) for s in slow.levels)


@pytest.mark.slow
def test_real_minilm_matches_torch(onnx):
    from test_text_model import minilm

    fast, slow = (load_text_encoder(minilm(), o, None) for o in (onnx, _torch(onnx)))
    assert _cosines(fast.encode_queries(TEXTS), slow.encode_queries(TEXTS)).min() >= 0.9999


@pytest.mark.slow  # an ONNX export of CLAP's towers: 9 s, the default suite's heaviest test
@pytest.mark.parametrize("with_text", [False, True])
def test_clap_matches_torch(with_text, tmp_path, onnx):
    folder = str(tiny_clap(tmp_path / "clap"))
    fast, slow = (load_audio_encoder(folder, o, with_text) for o in (onnx, _torch(onnx)))
    assert isinstance(fast, OnnxClap) and (fast.dim, fast.rate) == (slow.dim, slow.rate)
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=int(fast.rate * s)).astype(np.float32) * 0.1 for s in (1, 3, 10)]
    assert _cosines(fast.encode_audio(clips), slow.encode_audio(clips)).min() >= 0.9999
    spans = [((0.0, 1.0),), ((0.0, 3.0), (1.5, 2.5)), ((0.0, 3.0), (2.0, 5.0), (4.0, 7.0), (7.0, 10.0))]
    for got, want in zip(fast.encode_spans(clips, spans), slow.encode_spans(clips, spans), strict=True):
        assert got.shape == want.shape and _cosines(got, want).min() >= 0.9999
    if with_text:
        assert _cosines(fast.encode_texts(TEXTS[:3]), slow.encode_texts(TEXTS[:3])).min() >= 0.9999


@pytest.mark.slow
def test_int8_is_a_separate_entry_close_to_fp32(tmp_path, onnx):
    folder = str(tiny_clip(tmp_path / "clip"))
    fp32, int8 = load_encoder(folder, onnx), load_encoder(folder, replace(onnx, engine_precision="int8"))
    assert _cosines(fp32.encode_images(_frames()), int8.encode_images(_frames())).min() > 0.99
    assert sorted(p.name for p in next(onnx.cache.iterdir()).iterdir()) == [
        "image-fp32", "image-int8", "text-fp32", "text-int8"]


@pytest.mark.slow
def test_an_int8_entry_quantized_another_way_is_made_again_and_fp32_kept(tmp_path, onnx):
    folder, int8 = str(tiny_clip(tmp_path / "clip")), replace(onnx, engine_precision="int8")
    load_encoder(folder, int8).encode_images(_frames())
    (model,) = [p for p in onnx.cache.iterdir() if p.is_dir()]
    meta = json.loads((model / "image-int8" / "meta.json").read_text())
    assert meta["quantization"] == QUANTIZATION
    meta["quantization"] = "dynamic, one scale a matrix"  # as an earlier vsearch made it
    (model / "image-int8" / "meta.json").write_text(json.dumps(meta))
    fp32_made = (model / "image-fp32" / "model.onnx").stat().st_mtime_ns
    again = load_encoder(folder, int8).encode_images(_frames())
    assert json.loads((model / "image-int8" / "meta.json").read_text())["quantization"] == QUANTIZATION
    assert (model / "image-fp32" / "model.onnx").stat().st_mtime_ns == fp32_made
    assert _cosines(again, load_encoder(folder, onnx).encode_images(_frames())).min() > 0.99


def _weights(cache: Path, tower: str) -> Path:
    (model,) = [p for p in cache.iterdir() if p.is_dir()]
    return model / tower / "model.onnx.data"


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "same size, altered"])
def test_a_damaged_export_is_made_again_never_used(damage, tmp_path, onnx, caplog):
    folder = str(tiny_clip(tmp_path / "clip"))
    want = load_encoder(folder, onnx).encode_texts(TEXTS)
    weights = _weights(onnx.cache, "text-fp32")
    data = bytearray(weights.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[1000:3000] = bytes(255 - b for b in data[1000:3000])
    weights.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        again = load_encoder(folder, onnx).encode_texts(TEXTS)
    assert "damaged; exporting it again" in caplog.text
    assert _cosines(again, want).min() >= 0.9999
    assert weights.read_bytes() != bytes(data)


@pytest.mark.slow
def test_an_export_written_again_with_the_same_bytes_is_still_used(tmp_path, onnx, caplog):
    folder = str(tiny_clip(tmp_path / "clip"))
    want = load_encoder(folder, onnx).encode_texts(TEXTS)
    weights = _weights(onnx.cache, "text-fp32")
    weights.write_bytes(weights.read_bytes())  # a copied cache: new times, same contents
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        again = load_encoder(folder, onnx).encode_texts(TEXTS)
    assert "damaged" not in caplog.text and _cosines(again, want).min() >= 0.9999


@pytest.mark.slow
def test_a_model_that_cannot_be_exported_runs_on_torch_with_one_warning(tmp_path, onnx, monkeypatch, caplog):
    hook = tmp_path / "hook"
    hook.mkdir()
    # In the export process, torch meets an operator ONNX lacks: its exporter raises as it would.
    (hook / "sitecustomize.py").write_text(
        "import torch.onnx\n"
        "def unsupported(*args, **kwargs):\n"
        "    raise torch.onnx.errors.UnsupportedOperatorError('aten::made_up', 17, '')\n"
        "torch.onnx.export = unsupported\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    folder = str(tiny_clip(tmp_path / "clip"))
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        encoder = load_encoder(folder, onnx)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert isinstance(encoder, HFEncoder) and len(warnings) == 1
    assert folder in warnings[0] and "runs on torch" in warnings[0] and "UnsupportedOperatorError" in warnings[0]
    assert encoder.encode_texts(["red"]).shape == (1, encoder.dim)
    monkeypatch.undo()  # a later process does not try again: the failure is kept beside the exports
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vsearch"):
        assert isinstance(load_encoder(folder, onnx), HFEncoder)
    assert "runs on torch" in caplog.text


@pytest.mark.slow
def test_two_processes_exporting_at_once_both_get_one_entry(tmp_path, onnx):
    folder = str(tiny_clip(tmp_path / "clip"))
    code = ("import sys; from pathlib import Path; from vsearch.index import EncoderOptions, load_encoder; "
            "e = load_encoder(sys.argv[1], EncoderOptions(device='cpu', engine='onnx', cache=Path(sys.argv[2]))); "
            "print(float(e.encode_texts(['red'])[0][0]))")
    runs = [subprocess.Popen([sys.executable, "-c", code, folder, str(onnx.cache)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outs
    assert outs[0][0] == outs[1][0]
    (model,) = list(onnx.cache.iterdir())
    assert sorted(p.name for p in model.iterdir()) == ["image-fp32", "text-fp32"]  # nothing half built is left
    meta = json.loads((model / "text-fp32" / "meta.json").read_text())
    assert meta["cosine_to_torch"] >= 0.9999


@pytest.mark.slow
def test_auto_is_onnx_on_a_cpu_and_torch_is_kept_on_request(tmp_path, onnx):
    from vsearch.index.engines import engine_for

    assert engine_for("auto", "cpu") == "onnx" and engine_for("auto", "cuda") == "torch"
    assert engine_for("torch", "cpu") == "torch"
    folder = str(tiny_clip(tmp_path / "clip"))
    assert isinstance(load_encoder(folder, replace(onnx, engine="auto")), OnnxClip)


@pytest.mark.slow
def test_a_query_imports_neither_torch_nor_transformers(env, rgb_video, tmp_path, monkeypatch):
    """Once the models are exported (by the first index), `find` runs on ONNX Runtime alone."""
    from conftest import run_cli

    clip, text = tiny_clip(tmp_path / "clip"), tiny_sentence(tmp_path / "text", "bert")
    for key, value in {"VSEARCH_MODEL": str(clip), "VSEARCH_TEXT_MODEL": str(text), "VSEARCH_ENGINE": "auto"}.items():
        monkeypatch.setenv(key, value)
    run_cli("index", str(rgb_video))
    code = ("import sys; from vsearch.cli import cli\n"
            "try:\n    cli(['find', 'grass', '--json'], prog_name='vsearch')\nexcept SystemExit as exc:\n"
            "    code = exc.code\n"
            "print('imported:', sorted({'torch', 'transformers'} & set(sys.modules)), code, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], env=os.environ, capture_output=True, text=True, timeout=120)
    assert "imported: [] 0" in done.stderr, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["video"].endswith(rgb_video.name)


@pytest.mark.parametrize("key,value", [("VSEARCH_ENGINE", "gpu"), ("VSEARCH_ENGINE_PRECISION", "int4")])
def test_a_bad_engine_setting_is_one_line(env, key, value, monkeypatch):
    from conftest import run_cli

    monkeypatch.setenv(key, value)
    result = run_cli("find", "red", ok=False)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"vsearch: error: setting {key[8:].lower()} from environment must be one of "
        + ("auto, torch, onnx" if value == "gpu" else "auto, fp32, int8") + f", not {value!r}"]


@pytest.mark.slow
@pytest.mark.parametrize("text_model", ["bert", "image"])
def test_indexing_closes_the_text_towers_until_cues_are_encoded(text_model, tmp_path):
    from vsearch.indexing import Indexing
    from vsearch.settings import load_settings

    clip = str(tiny_clip(tmp_path / "clip"))
    text = str(tiny_sentence(tmp_path / "text", "bert")) if text_model == "bert" else "image"
    settings = load_settings(flags={"home": str(tmp_path / "home"), "model": clip, "text_model": text,
                                    "engine": "onnx", "device": "cpu"}, environ={})
    models = Indexing(settings, None).models()
    image = models.image
    assert isinstance(image, OnnxClip) and image.levels is not None  # measured through the text tower
    # Opened to measure the levels, then closed while frames and speech run: the cue text model's too.
    towers = [image.towers] + ([models.text.towers] if text_model == "bert" else [])
    assert all(("text", "fp32") not in t._open for t in towers)
    again = image.encode_texts(TEXTS)  # reopened on use
    assert _cosines(again, load_encoder(clip, settings.encoder_options()).encode_texts(TEXTS)).min() > 0.9999
