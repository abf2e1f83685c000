"""A picture model beside the image model (index/picture_models.py): tiny random DINOv2 and ViT
checkpoints saved to folders and loaded through the real loading path give each second a second
vector, which `find --image` and "more like this" rank by; adding one to an indexed library
encodes only it; another picture model is refused in one line."""

import json

import numpy as np
import pytest
from PIL import Image
from conftest import ingest_json, run_cli

from vsearch.index import EncoderOptions, ModelError, Store, video_id
from vsearch.index.background import kept
from vsearch.index.picture_models import load_picture_encoder
from vsearch.testing.color_encoder import ColorEncoder
from vsearch.testing.media import colour_video
from vsearch.testing.picture_checkpoints import random_dinov2, tiny_vit


@pytest.fixture(scope="module")
def dino(tmp_path_factory):
    return random_dinov2(tmp_path_factory.mktemp("dino"))


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    return tiny_vit(tmp_path_factory.mktemp("vit"))


@pytest.fixture
def grey(tmp_path):
    """A mid-grey picture: the colour model finds it nearest red and green, the random DINOv2 blue."""
    path = tmp_path / "grey.png"
    Image.new("RGB", (64, 48), (128, 128, 128)).save(path)
    return path


def settings_store(env):
    """The test index, opened to read."""
    from vsearch.settings import load_settings

    return Store(load_settings().store_config(), write=False)


def nearest_second(env, folder, picture, video) -> float:
    """The second whose stored picture-model vector is nearest the picture's, computed apart from `find`."""
    from vsearch.session import picture_vector

    encoder = load_picture_encoder(str(folder), EncoderOptions(device="cpu"))
    query = picture_vector(encoder, picture.read_bytes(), picture.name)
    with settings_store(env) as store:
        _, times, _ = store.frames_of(video_id(str(video)))
        stored = store.pictures_of(video_id(str(video)))
    return times[int(np.argmax(stored @ query))]


def top(*args) -> dict:
    found = [json.loads(line) for line in run_cli("find", "--json", "--all", *args).stdout.splitlines()]
    assert found
    return found[0]


def test_find_image_ranks_by_the_picture_model_where_the_image_model_ranks_otherwise(env, rgb_video, dino, grey,
                                                                                    monkeypatch):
    monkeypatch.setenv("VSEARCH_PICTURE_MODEL", str(dino))
    run_cli("index", str(rgb_video))
    with settings_store(env) as store:
        meta = store.check()
        assert (meta["picture_model"], meta["picture_dim"]) == (str(dino), 32)
        assert kept(store)["pictures"]["rows"] == 12  # its own sample, for a query's background floor
        frames = store.frames_of(video_id(str(rgb_video)))
        assert store.pictures_of(video_id(str(rgb_video))).shape == (len(frames[0]), 32)
    second = nearest_second(env, dino, grey, rgb_video)
    by_pictures = top("--image", str(grey))
    assert set(by_pictures["signals"]) == {"pictures"}
    assert by_pictures["start"] <= second < by_pictures["end"]
    # The same query through the image model (the picture model turned off for it) ranks another moment.
    by_frames = top("--image", str(grey), "--picture-model", "none")
    assert set(by_frames["signals"]) == {"frames"}
    assert not by_frames["start"] <= second < by_frames["end"]
    # Text queries are unchanged: no picture-model signal in them.
    assert "pictures" not in top("red")["signals"]
    status = run_cli("status").stdout
    assert f"picture {dino}" in status and "(pictures)" in status


def test_a_vit_picture_model_loads_and_ranks(env, rgb_video, vit, grey, monkeypatch):
    monkeypatch.setenv("VSEARCH_PICTURE_MODEL", str(vit))
    run_cli("index", str(rgb_video))
    found = top("--image", str(grey))
    second = nearest_second(env, vit, grey, rgb_video)
    assert set(found["signals"]) == {"pictures"} and found["start"] <= second < found["end"]


def test_adding_a_picture_model_to_an_indexed_library_encodes_only_it(settled, tmp_path, dino, grey, monkeypatch):
    library = tmp_path / "lib"
    library.mkdir()
    video = colour_video(library / "rgb.mp4", [("red", 3), ("green", 3), ("blue", 3)])
    assert ingest_json(str(library))["videos"][0]["action"] == "indexed"

    def never(self, pixels):
        raise AssertionError("the image model encoded frames again")

    monkeypatch.setattr(ColorEncoder, "encode_images", never)
    monkeypatch.setenv("VSEARCH_PICTURE_MODEL", str(dino))
    added = ingest_json(str(library))["videos"][0]
    assert (added["action"], added["encoded"]) == ("completed", 0)
    with settings_store(settled) as store:
        record = store.get_video(video_id(str(video)))
        assert record.info["pictures"] == {"model": str(dino), "encoded": 3}  # one per colour
        assert len(store.pictures_of(record.id)) == record.frames == 9
    assert ingest_json(str(library))["videos"][0]["action"] == "skipped"  # nothing lacking now
    monkeypatch.delenv("VSEARCH_PICTURE_MODEL")  # the index's own picture model answers
    found = top("--image", str(grey))
    assert set(found["signals"]) == {"pictures"}
    assert found["start"] <= nearest_second(settled, dino, grey, video) < found["end"]


def test_more_like_this_ranks_by_the_picture_model(env, rgb_video, dino, monkeypatch):
    from vsearch.resident import Resident
    from vsearch.settings import load_settings

    monkeypatch.setenv("VSEARCH_PICTURE_MODEL", str(dino))
    run_cli("index", str(rgb_video))
    resident = Resident(load_settings())
    try:
        similar = resident.similar(resident.record(video_id(str(rgb_video))), 1.0, 3)
        assert similar and {k for seg in similar for k in seg.signals} == {"pictures"}
        assert all(not seg.start <= 1.0 < seg.end for seg in similar)  # the second it starts from is left out
    finally:
        resident.close()


def test_another_picture_model_is_refused_in_one_line(env, rgb_video, dino, vit, grey, monkeypatch):
    monkeypatch.setenv("VSEARCH_PICTURE_MODEL", str(dino))
    run_cli("index", str(rgb_video))
    for args in (["find", "--image", str(grey)], ["index", str(rgb_video)]):
        result = run_cli(*args, "--picture-model", str(vit), ok=False)
        # (in this process transformers was imported before the CLI could turn its progress bars off)
        lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Loading weights")]
        assert result.exit_code == 1 and len(lines) == 1, result.stderr
        assert f"holds picture vectors of the picture model {dino} (dim 32), not {vit}" in lines[0]
        assert f"use --picture-model {dino}" in lines[0]


def test_models_that_need_their_own_code_are_refused_in_one_line(tmp_path):
    folder = tmp_path / "internvit"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": "intern_vit_6b", "architectures": ["InternVisionModel"],
        "auto_map": {"AutoConfig": "configuration_intern_vit.InternVisionConfig",
                     "AutoModel": "modeling_intern_vit.InternVisionModel"}}))
    for name in (str(folder), "internvit"):
        with pytest.raises(ModelError) as refused:
            load_picture_encoder(name, EncoderOptions(device="cpu"))
        assert "trust_remote_code" in str(refused.value) and "\n" not in str(refused.value)
    assert load_picture_encoder("none", EncoderOptions()) is None


def test_an_image_text_model_is_no_picture_model(tmp_path):
    from vsearch.testing.checkpoints import tiny_clip

    with pytest.raises(ModelError, match="is a clip model, not a picture model"):
        load_picture_encoder(str(tiny_clip(tmp_path / "clip")), EncoderOptions(device="cpu"))


@pytest.mark.slow
def test_a_copy_keeps_the_picture_model_and_its_vectors(env, rgb_video, dino, grey, monkeypatch):
    monkeypatch.setenv("VSEARCH_PICTURE_MODEL", str(dino))
    run_cli("index", str(rgb_video))
    target = env.parent / "copy"
    run_cli("copy", str(target))
    monkeypatch.delenv("VSEARCH_PICTURE_MODEL")
    assert top("--image", str(grey), "--home", str(target)) == top("--image", str(grey))
    assert "picture" in run_cli("status", "--home", str(target)).stdout


def test_a_missing_picture_model_is_named_with_the_other_missing_models(monkeypatch):
    from huggingface_hub import constants

    from vsearch.index.loading import IMAGE
    from vsearch.index.picture_models import PICTURE
    from vsearch.index.weights import check_models

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError) as missing:
        check_models([(IMAGE, "nobody/no-such-clip")], [(PICTURE, "dinov2-small")])
    assert "picture model facebook/dinov2-small (`hf download facebook/dinov2-small`" in str(missing.value)
    assert "--picture-model" in str(missing.value)
