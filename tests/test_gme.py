"""GME (index/gme.py): a tiny random Qwen2-VL through the real loading path, and a picture with words as one query."""

import json

import numpy as np
import pytest
from conftest import find_json, run_cli

from vsearch.index import EncoderOptions, ModelError, load_encoder
from vsearch.index.encoders import PRESETS
from vsearch.index.gme import GmeEncoder, is_gme
from vsearch.testing import mixing_encoder  # noqa: F401 (registers test-colors-mixing)
from vsearch.testing.gme_checkpoint import gme_checkpoint
from vsearch.testing.media import colour_video, ffmpeg

CPU = EncoderOptions(device="cpu", batch_size=2)


@pytest.fixture(scope="module")
def gme_dir(tmp_path_factory):
    return gme_checkpoint(tmp_path_factory.mktemp("gme"))


@pytest.fixture(scope="module")
def gme(gme_dir):
    return load_encoder(str(gme_dir), CPU, measure=False)


def test_a_marked_qwen2_vl_folder_loads_as_gme_through_the_real_path(gme, gme_dir):
    assert isinstance(gme, GmeEncoder) and gme.model_id == str(gme_dir)
    assert gme.dim == 32  # the hidden size: the last token's state is the vector
    # 22 x 12 merged tokens of 2 x 2 patches of 2 pixels: the frame's pixels are bounded
    assert (gme.frame_spec.width, gme.frame_spec.height) == (88, 48)


def test_it_says_once_at_load_that_a_cpu_is_slow_and_how_slow(gme_dir, caplog):
    load_encoder(str(gme_dir), CPU, measure=False)
    said = [r.getMessage() for r in caplog.records if "slow on a CPU" in r.getMessage()]
    assert len(said) == 1 and "frames/s" in said[0]


def test_text_image_and_image_with_text_are_unit_vectors_of_one_space(gme):
    spec = gme.frame_spec
    pixels = np.random.default_rng(0).integers(0, 256, (3, spec.height, spec.width, 3), dtype=np.uint8)
    texts, frames = gme.encode_texts(["a red car", "天空"]), gme.encode_images(pixels)
    joint = gme.encode_query("a red car", pixels[0])
    assert texts.shape == (2, 32) and frames.shape == (3, 32) and joint.shape == (32,)
    assert np.allclose(np.linalg.norm(np.vstack([texts, frames, joint]), axis=1), 1, atol=1e-5)
    # one vector of both: neither the picture's nor the words' own
    assert abs(joint @ frames[0]) < 0.9999 and abs(joint @ texts[0]) < 0.9999


def test_a_vector_is_the_same_alone_and_beside_longer_inputs(gme):
    alone, beside = gme.encode_texts(["red"])[0], gme.encode_texts(["red", "the sky is blue " * 8])[0]
    assert np.allclose(alone, beside, atol=1e-5)


def test_queries_carry_the_instruction_and_cues_do_not(gme):
    assert not np.allclose(gme.encode_texts(["grass"]), gme.encode_passages(["grass"]), atol=1e-4)


def test_a_qwen2_vl_folder_without_the_marker_is_refused_in_one_line(gme_dir, tmp_path):
    config = json.loads((gme_dir / "config.json").read_text())
    del config["vsearch_encoder"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"not marked as a GME embedding model: add \"vsearch_encoder\"") as caught:
        is_gme(str(tmp_path))
    assert "\n" not in str(caught.value)
    (tmp_path / "gme_inference.py").write_text("")  # as the official checkpoints ship it
    assert is_gme(str(tmp_path))


def test_the_preset_and_the_7b_are_gme_by_their_hub_ids():
    assert PRESETS["gme"].model_id == "Alibaba-NLP/gme-Qwen2-VL-2B-Instruct"
    assert is_gme("Alibaba-NLP/gme-Qwen2-VL-7B-Instruct") and not is_gme("Qwen/Qwen2-VL-2B-Instruct")


def test_the_preset_not_downloaded_says_how_to_fetch_it(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match=r"cannot load model Alibaba-NLP/gme-Qwen2-VL-2B-Instruct .*"
                                         r"`hf download Alibaba-NLP/gme-Qwen2-VL-2B-Instruct`"):
        load_encoder("gme", CPU)


@pytest.fixture
def mixed_colours(env, tmp_path):
    """colours.mp4: red, then blue, then magenta, 2 s each; and a blue picture."""
    colour_video(tmp_path / "colours.mp4", [("red", 2), ("blue", 2), ("magenta", 2)])
    ffmpeg("-f", "lavfi", "-i", "color=0x0000FF:s=64x48", "-frames:v", "1", str(tmp_path / "blue.png"))
    return tmp_path


@pytest.mark.parametrize("model", ["test-colors-mixing", pytest.param("test-colors", marks=pytest.mark.slow)])
def test_words_with_a_picture_are_one_query_where_the_model_reads_both(mixed_colours, monkeypatch, model):
    """The stand-in adds the colour the words name to the picture's, as one vector: "red" on a blue
    picture finds the magenta seconds, which neither finds alone; a model without encode_query fuses
    two rankings (red seconds by the words, blue ones by the picture) and finds no magenta."""
    monkeypatch.setenv("VSEARCH_MODEL", model)
    run_cli("index", str(mixed_colours / "colours.mp4"))
    found = find_json("red", "--image", str(mixed_colours / "blue.png"))
    if model == "test-colors-mixing":
        assert (found[0]["start"], found[0]["end"]) == (4.0, 6.0) and found[0]["signals"] == {"picture": 1.0}
    else:
        assert found and all(f["end"] <= 4.0 for f in found)
