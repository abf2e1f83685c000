from dataclasses import replace

import pytest

from vsearch.index import Hit, VideoRecord
from vsearch.query import FindOptions, rank_segments
from vsearch.query.fusion import contributions, fuse, hit_slots
from vsearch.query.segments import merge_slots, pad_span


def scores(spec: str) -> dict[int, float]:
    """'..9 9 .' style: position = slot, digit = score/10, '.' = unscored, '_' = scored 0.05."""
    out = {}
    for slot, ch in enumerate(spec):
        if ch.isdigit():
            out[slot] = int(ch) / 10
        elif ch == "_":
            out[slot] = 0.05
    return out


@pytest.mark.parametrize("spec,kwargs,expected", [
    ("9", {}, [(0, 0, 0)]),
    ("999", {}, [(0, 2, 0)]),
    ("9.9", {"max_gap": 1}, [(0, 2, 0)]),                       # an unscored second is bridged
    ("9..9", {"max_gap": 1}, [(0, 0, 0), (3, 3, 3)]),           # two are too many
    ("99_99", {"max_gap": 2}, [(0, 1, 0), (3, 4, 3), (2, 2, 2)]),  # a weak scored second never chains
    ("9999", {"max_len": 2}, [(0, 1, 0), (2, 3, 2)]),           # length cap
    ("59995", {}, [(0, 4, 1)]),                                 # 0.5 >= 0.5 * 0.9 joins
    ("39993", {}, [(1, 3, 1), (0, 0, 0), (4, 4, 4)]),           # 0.3 < 0.45 stays out
    ("", {}, []),
    ("8.9", {"max_gap": 0}, [(2, 2, 2), (0, 0, 0)]),            # best seed first
])
def test_merge_slots(spec, kwargs, expected):
    assert merge_slots(scores(spec), **kwargs) == expected


def test_merge_slots_segments_never_overlap():
    s = scores("9876543219876543210")
    runs = merge_slots(s, rel_threshold=0.6, max_gap=1, max_len=5)
    covered = [x for a, b, _ in runs for x in range(a, b + 1)]
    assert len(covered) == len(set(covered)) and set(s) <= set(covered)


@pytest.mark.parametrize("start,end,pad,duration,expected", [
    (5, 10, 1, 60, (4, 11)), (0.5, 2, 1, 60, (0, 3)), (58, 60, 1, 60, (57, 60)), (3, 4, 0, 0, (3, 4)),
])
def test_pad_span(start, end, pad, duration, expected):
    assert pad_span(start, end, pad, duration) == expected


def frame(vid, slot, score, rank=0):
    return Hit("frames", vid, rank, score, slot + 0.5, slot + 0.5, slot=slot)


def cue(signal, vid, start, end, score, rank=0, text="t"):
    return Hit(signal, vid, rank, score, start, end, text=text)


@pytest.mark.parametrize("hit,fps,expected", [
    (frame(1, 7, 0.3), 1.0, [7]),
    (cue("cues", 1, 3.2, 5.8, 0.3), 1.0, [3, 4, 5]),
    (cue("cues", 1, 3.0, 5.0, 0.3), 1.0, [3, 4]),
    (cue("cues", 1, 3.2, 3.4, 0.3), 1.0, [3]),
    (cue("cues", 1, 1.0, 2.0, 0.3), 2.0, [2, 3]),
])
def test_hit_slots(hit, fps, expected):
    assert list(hit_slots(hit, fps)) == expected


@pytest.mark.parametrize("method,signal,values,expected", [
    ("score", "frames", [0.3, 0.2, 0.1], [1.0, 0.5, 0.0]),
    ("score", "frames", [0.3, 0.3], [0.0, 0.0]),       # all equal: the signal tells nothing
    ("score", "frames", [0.3001, 0.3], [0.002, 0.0]),  # noise is not stretched to 0-1
    ("score", "frames", [0.3, 0.29, 0.2], [1.0, 0.9, 0.0]),
    ("rrf", "frames", [0.3, 0.3, 0.1], [1.0, 1.0, 61 / 63]),  # ties share a rank
])
def test_contributions(method, signal, values, expected):
    hits = [Hit(signal, 1, i, v, 0, 0, slot=0) for i, v in enumerate(values)]
    assert contributions(hits, method, 60.0) == pytest.approx(expected)


@pytest.mark.parametrize("scores,coverages,expected", [
    ([4.0, 2.0], [1.0, 0.4], [1.0, 0.4]),
    ([9.0, 2.0], [0.2, 0.8], [0.2, 0.8]),    # BM25's own order does not decide: what it holds does
    ([4.0], [0.3], [0.3]),                   # the best of poor matches is still a poor match
    ([7.0, 5.0], [0.0, 0.0], [0.0, 0.0]),    # only function words shared: nothing
])
def test_bm25_contributions_follow_query_coverage(scores, coverages, expected):
    hits = [Hit("bm25", 1, i, s, 0, 0, text="x", coverage=c) for i, (s, c) in enumerate(zip(scores, coverages))]
    assert contributions(hits, "score", 60.0) == pytest.approx(expected)


@pytest.mark.parametrize("query,terms", [
    ("ha estado sola toda su vida", ["estado", "sola", "vida"]),  # Spanish function words
    ("où est le chat et la souris", ["où", "chat", "souris"]),
    ("der Hund ist nicht im Haus", ["hund", "haus"]),
    ("the son of the man who would die", ["son", "man", "die"]),  # English words stay words
    ("讲到向量数据库的部分", ["向量", "数据", "据库", "数据库"]),
])
def test_function_words_of_the_commonest_languages_are_not_distinctive(query, terms):
    from vsearch.extract.textfold import fold
    from vsearch.query.words import query_terms

    assert query_terms(fold(query)) == terms


def lexical(query: str, cues: list[str], total: int = 1000) -> list[Hit]:
    """BM25 hits as Milvus ranks them (the given order), read the way `find` reads them."""
    from vsearch.extract.textfold import fold
    from vsearch.query.words import coverages, query_terms

    held = coverages(cues, query_terms(fold(query)), total)
    return [Hit("bm25", 1, i, 10.0 - i, 2.0 * i, 2.0 * i + 1.5, text=c, coverage=h)
            for i, (c, h) in enumerate(zip(cues, held))]


@pytest.mark.parametrize("query,cues,first", [
    ("a red car driving at night", ["A dragon.", "This blade has a dark past.", "The red car drove into the night."],
     "The red car drove into the night."),
    ("a red car driving at night", ["A dragon.", "This blade has a dark past."], None),
    ("讲到向量数据库的部分", ["这是我的朋友的家", "他说的是真的", "今天讲向量数据库的原理"], "今天讲向量数据库的原理"),
    ("讲到向量数据库的部分", ["这是我的朋友的家", "他说的是真的"], None),
    ("the part about vector databases", ["What brings you to the land of the gatekeepers?"], None),
    ("someone greets Hildy", ["I'm searching for someone.", "Someone very dear?", "Hildy!"], "Hildy!"),  # rarer word
])
def test_function_words_never_rank_a_cue_first(query, cues, first):
    segments = rank_segments(lexical(query, cues), {1: record(1)}, FindOptions(top_k=3))
    assert (segments[0].cue if segments else None) == first


def test_fuse_weights_and_best_per_signal():
    hits = [frame(1, 2, 0.9), frame(1, 3, 0.1), cue("cues", 1, 2.0, 4.0, 0.8), cue("cues", 1, 3.0, 4.0, 0.2)]
    fused = fuse(hits, {"frames": 2.0, "cues": 1.0}, {1: 1.0})
    assert fused[1][2].parts == {"frames": 2.0, "cues": 1.0}
    assert fused[1][3].parts == {"cues": 1.0}  # frame 3 scored lowest: its share is 0
    assert fused[1][2].total == 3.0


def test_fuse_ignores_zero_weight_and_unknown_videos():
    hits = [frame(1, 0, 0.9), frame(1, 1, 0.1), frame(2, 0, 0.9), cue("bm25", 1, 0, 1, 3.0)]
    fused = fuse(hits, {"frames": 1.0, "bm25": 0.0}, {1: 1.0})
    assert set(fused) == {1} and fused[1][0].parts == {"frames": 1.0}


def record(vid, duration=20.0):
    return VideoRecord(vid, f"/v/{vid}.mp4", duration=duration, fps=1.0, state="done")


def test_rank_segments_end_to_end_pure():
    hits = [frame(1, s, sc) for s, sc in [(5, 0.9), (6, 0.88), (7, 0.86), (15, 0.2), (0, 0.1)]]
    hits.append(cue("cues", 1, 4.6, 7.9, 0.7, text="vector databases"))
    hits.append(cue("cues", 1, 12.0, 13.0, 0.1, rank=1, text="unrelated"))
    options = FindOptions(top_k=2, pad=1.0, min_score=0.05)  # the second is a weak one, to compare
    [best, second] = rank_segments(hits, {1: record(1)}, options)
    assert (best.start, best.end, best.seek) == (3.0, 9.0, 4.0)
    assert best.cue == "vector databases" and best.cue_start == 4.6
    assert best.best_frame == 5.5 and set(best.signals) == {"frames", "cues"}
    assert best.score > second.score


def test_rank_segments_clamps_to_duration_and_orders_videos():
    hits = [frame(1, 9, 0.9), frame(2, 0, 0.8), frame(2, 1, 0.1)]
    segs = rank_segments(hits, {1: record(1, 10.0), 2: record(2)}, FindOptions(pad=2.0))
    assert [(s.video_id, s.start, s.end) for s in segs] == [(1, 7.0, 10.0), (2, 0.0, 3.0)]


def test_rank_segments_cites_no_evidence_from_a_signal_weighted_zero():
    hits = [frame(1, 5, 0.9), frame(1, 15, 0.5), cue("bm25", 1, 4.2, 5.8, 3.0, text="said here")]
    frames_only = FindOptions(weights={"frames": 1.0, "cues": 0.0, "bm25": 0.0})
    [seg] = rank_segments(hits, {1: record(1)}, replace(frames_only, top_k=1))
    assert (seg.cue, seg.seek, set(seg.signals)) == (None, 5.0, {"frames"})
    [fused] = rank_segments(hits, {1: record(1)}, FindOptions(top_k=1))
    assert (fused.cue, fused.seek) == ("said here", 4.0)


@pytest.mark.parametrize("levels,query,score,share,left_out", [
    ({"latin": (0.2, 0.5), "han": None}, "a storm tonight", 0.35, 0.5, False),
    ({"latin": (0.2, 0.5), "han": None}, "a storm tonight", 0.9, 1.0, False),
    ({"latin": (0.2, 0.5), "han": None}, "a storm tonight", 0.1, 0.0, False),   # below unrelated: nothing
    ({"latin": (0.2, 0.5), "han": None}, "暴风雨", 0.9, 0.0, True),   # a script it cannot read adds nothing
    ({"latin": None, "han": None}, "a storm", 0.9, 0.0, True),   # measured, no script told apart: nothing
    ({}, "a storm", 0.9, None, False),                            # never measured: scaled per query
])
@pytest.mark.parametrize("signal", ["cues", "frames", "audio"])
def test_vector_hits_are_shared_by_their_models_levels(levels, query, score, share, left_out, signal):
    from types import SimpleNamespace

    from vsearch.query.levels import Bar, probe_levels
    from vsearch.query.search import _read

    hit = Hit(signal, 1, 0, score, 0.0, 2.0, slot=0 if signal == "frames" else None, text="x")
    pair, note = probe_levels(SimpleNamespace(levels=levels, model_id="m1"), query, signal)
    read = _read(hit, [], hit.coverage, Bar(pair))
    assert (note or "").startswith("left out: the ") == left_out and (not left_out or "model m1 does not" in note)
    assert read.share == (share if share is None else pytest.approx(share))


@pytest.mark.parametrize("cue,query,marks", [
    ("He stole the stolen map", "the stole map", ["stole", "map"]),
    ("Databases and the database", "the part about databases", ["databases", "database"]),
    # jieba's search mode gives the words inside a word too: the page marks their union
    ("这里讲向量数据库", "讲到向量数据库的部分", ["向量", "数据", "据库", "数据库"]),
    ("資料庫", "资料库", ["資料", "資料庫"]),  # as the cue writes it
    ("of the and", "the of", []),
])
def test_only_the_distinctive_words_are_marked(cue, query, marks):
    from vsearch.extract.textfold import fold
    from vsearch.query.words import cue_marks, query_terms

    assert cue_marks(cue, query_terms(fold(query))) == marks
