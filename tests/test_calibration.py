"""Frames are shared by how well they match, measured against the image model's own levels."""

import numpy as np
import pytest
from conftest import find_json, run_cli

from vsearch.index.calibration import image_levels, levels_of, probe_pictures, probe_sounds, ranked_levels, sound_levels
from vsearch.testing.color_encoder import ColorEncoder
from vsearch.testing.tone_encoder import ToneEncoder


@pytest.mark.parametrize("sims,gap,expected", [
    ([[0.9, 0.1], [0.2, 0.8]], 0.05, (0.195, 0.85)),   # right pairs well above the wrong ones
    ([[0.3, 0.29], [0.28, 0.31]], 0.05, None),         # barely apart: not told apart
    ([[0.3, 0.29], [0.27, 0.31]], 0.01, (0.289, 0.305)),  # the same, for a narrow-band model
    ([[0.1, 0.5], [0.6, 0.2]], 0.0, None),             # wrong pairs score higher
])
def test_levels_are_the_median_right_pair_and_the_95th_percentile_wrong_one(sims, gap, expected):
    got = levels_of(np.array(sims), gap)
    assert got == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("sims,expected", [
    ([[0.3, 0.29], [0.28, 0.31]], (0.285, 0.305)),    # picks right, scores close: the least spread
    ([[0.9, 0.1], [0.2, 0.8]], (0.195, 0.85)),
    ([[0.30, 0.20, 0.20], [0.20, 0.30, 0.20], [0.34, 0.34, 0.36]], (0.28, 0.30)),  # a caption high on all
    ([[0.1, 0.5], [0.6, 0.2]], None),                 # picks wrong
    ([[0.5, 0.4, 0.3], [0.5, 0.4, 0.3], [0.5, 0.4, 0.3]], None),  # 1 of 3 right: chance
])
def test_pictures_and_sounds_are_judged_by_whether_the_model_picks_the_right_one(sims, expected):
    got = ranked_levels(np.array(sims), 0.02)
    assert got == (None if expected is None else pytest.approx(expected))


def test_an_image_model_is_measured_on_plain_colours_in_each_script():
    pictures = probe_pictures(8, 6)
    assert pictures.shape == (7, 6, 8, 3) and pictures.dtype == np.uint8
    levels = image_levels(ColorEncoder())
    for script in ("latin", "han"):
        unrelated, match = levels[script]
        assert unrelated < 0.5 < match


def test_a_sound_model_is_measured_on_synthesised_sounds_in_english():
    clips = probe_sounds(16000, seconds=2.0)
    assert len(clips) == 5 and all(c.shape == (32000,) and c.dtype == np.float32 for c in clips)
    assert max(float(np.abs(c).max()) for c in clips) <= 0.3 + 1e-6  # quiet enough not to clip
    [(script, (unrelated, match))] = sound_levels(ToneEncoder()).items()
    assert script == "latin" and unrelated < 0.2 and match > 0.9


@pytest.mark.slow
def test_frame_levels_are_kept_with_the_index_and_used_from_there(env, rgb_video):
    from vsearch.session import index_meta, load_models
    from vsearch.settings import load_settings

    run_cli("index", str(rgb_video))
    meta = index_meta(load_settings())
    assert meta["image_levels"]["latin"] == pytest.approx(list(image_levels(ColorEncoder())["latin"]))
    encoder, _ = load_models(load_settings(), {**meta, "image_levels": {"latin": [0.1, 0.9], "han": None}})
    assert encoder.levels == {"latin": (0.1, 0.9), "han": None}
    # Another model's levels are not believed: they are measured for the model in use.
    encoder, _ = load_models(load_settings(), {**meta, "model": "other", "image_levels": {"latin": [0.1, 0.9]}})
    assert encoder.levels == image_levels(ColorEncoder())


def test_a_colour_no_frame_shows_finds_nothing_rather_than_the_nearest_frame(env, rgb_video):
    run_cli("index", str(rgb_video))
    [blue] = find_json("blue", "-k", "1")
    assert blue["signals"] == {"frames": pytest.approx(0.5)} and 8.0 <= blue["seek"] < 9.0
    # Min-max scaled frames gave the best of the unrelated ones a full share; measured, none passes.
    assert find_json("yellow") == [] and find_json("蓝色", "-k", "1")[0]["seek"] >= 8.0
    # `status` says what each model reads; the colour model's tower, the cue model here, none.
    assert run_cli("status").stdout.splitlines()[-1] == (
        "models: image test-colors (reads latin, han); text image (tells no script apart)")
