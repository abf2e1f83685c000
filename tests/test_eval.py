import json

import pytest
from conftest import run_cli

from vsearch.query.metrics import average_precision, iou, score_ranking, seek_hits
from vsearch.testing.media import colour_video, write_vtt


@pytest.mark.parametrize("a,b,expected", [
    ((0, 10), (0, 10), 1.0),
    ((0, 10), (5, 15), 5 / 15),
    ((0, 5), (5, 10), 0.0),          # touching spans share nothing
    ((0, 10), (2, 4), 0.2),
    ((3, 3), (3, 3), 0.0),           # empty spans never match
])
def test_iou(a, b, expected):
    assert iou(a, b) == pytest.approx(expected)


@pytest.mark.parametrize("seek,windows,expected", [
    (5.0, [(4, 8)], True),
    (3.0, [(4, 8)], True),           # a second early still lands in time
    (2.9, [(4, 8)], False),
    (9.0, [(4, 8)], True),
    (20.0, [(4, 8), (19.5, 30)], True),
])
def test_seek_hits(seek, windows, expected):
    assert seek_hits(seek, windows) is expected


@pytest.mark.parametrize("spans,windows,threshold,expected", [
    ([(0, 10)], [(0, 10)], 0.5, 1.0),
    ([None, (0, 10)], [(0, 10)], 0.5, 0.5),                      # found second: precision 1/2
    ([(0, 10), (0, 10)], [(0, 10)], 0.5, 1.0),                   # a duplicate is no second match
    ([(0, 10), (20, 30)], [(0, 10), (20, 30)], 0.5, 1.0),
    ([(20, 30), None, (0, 10)], [(0, 10), (20, 30)], 0.5, (1 + 2 / 3) / 2),
    ([(0, 4)], [(0, 10)], 0.5, 0.0),                             # IoU 0.4 is below the bar
    ([], [(0, 10)], 0.5, 0.0),
])
def test_average_precision(spans, windows, threshold, expected):
    assert average_precision(spans, windows, threshold) == pytest.approx(expected)


def test_score_ranking_counts_each_metric_at_its_rank():
    ranked = [None, (12, 20, 12), (0, 10, 0), None, None, (0, 9, 0)]
    m = score_ranking(ranked, [(0, 10)])
    assert (m["hit@1"], m["hit@5"], m["mrr"]) == (0.0, 1.0, 1 / 3)
    assert (m["r@1@0.5"], m["r@5@0.7"]) == (0.0, 1.0)
    assert m["map"] == pytest.approx(1 / 3)  # matched at rank 3 at every threshold


def test_score_ranking_of_nothing_is_zero():
    assert set(score_ranking([], [(0, 1)]).values()) == {0.0}


@pytest.fixture
def eval_set(tmp_path):
    """Two videos, one query answerable only by frames, one only by subtitles."""
    colour_video(tmp_path / "a.mp4", [("red", 3), ("blue", 3), ("green", 3)])
    colour_video(tmp_path / "b b'.mp4", [("yellow", 4), ("cyan", 4)])
    write_vtt(tmp_path / "b b'.vtt", [(4.5, 7.5, "the lighthouse keeper climbs the stairs")])
    (tmp_path / "sets").mkdir()
    rows = [
        {"query": "blue", "video": "../a.mp4", "relevant_windows": [[3, 6]]},
        {"query": "lighthouse keeper", "video": "../b b'.mp4", "relevant_windows": [[4, 8]]},
    ]
    path = tmp_path / "sets" / "q.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    return path


def test_eval_indexes_then_scores_each_signal(env, eval_set):
    first = run_cli("eval", str(eval_set), "--json")
    assert first.stderr.count("indexed") == 2
    report = json.loads(first.stdout)
    metrics = report["metrics"]
    assert report["queries"] == 2 and report["model"] == "test-colors"
    assert metrics["fused"]["hit@1"] == 1.0 and metrics["fused"]["r@1@0.7"] == 1.0
    assert metrics["frames"]["hit@1"] == 0.5   # the colour query only
    assert metrics["bm25"]["hit@1"] == 0.5     # the subtitle query only
    assert [q["line"] for q in report["per_query"]] == [1, 2]
    again = run_cli("eval", str(eval_set))
    assert "indexed" not in again.stderr                 # unchanged videos are not indexed again
    assert again.stdout.splitlines()[0].split()[:3] == ["signal", "Hit@1", "Hit@5"]
    assert [line.split()[0] for line in again.stdout.splitlines()[1:]] == ["frames", "cues", "bm25", "subtitle", "asr", "ocr", "fused"]


@pytest.mark.parametrize("text,message", [
    ("not json", "line 1: not JSON"),
    ('{"video": "a.mp4", "relevant_windows": [[0, 1]]}', 'line 1: needs a non-empty "query"'),
    ('{"query": "x", "video": "missing.mp4", "relevant_windows": [[0, 1]]}', "video missing.mp4 not found"),
    ('{"query": "x", "video": "a.mp4", "relevant_windows": [[2, 1]]}', "start < end"),
    ('{"query": "x", "video": "a.mp4", "relevant_windows": "soon"}', "relevant_windows must be"),
    ("", "holds no queries"),
])
def test_eval_rejects_bad_files_in_one_line(env, tmp_path, text, message):
    colour_video(tmp_path / "a.mp4", [("red", 2)])
    path = tmp_path / "q.jsonl"
    path.write_text(text, encoding="utf-8")
    result = run_cli("eval", str(path), ok=False)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_eval_of_a_missing_file(env, tmp_path):
    result = run_cli("eval", str(tmp_path / "nope.jsonl"), ok=False)
    assert result.exit_code == 2 and "cannot read" in result.stderr
