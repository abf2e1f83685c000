"""Every slide counts: template decks, bullet builds, page numbers, a scrolling screen recording,
slides filmed by a camera and a lecture with the speaker's video in a corner, each generated
with ffmpeg (Noto CJK) and read by the real RapidOCR: every slide is read, its cue starts within
1 s of the slide, and a Chinese and an English query find it."""

import json
from pathlib import Path

import pytest
from conftest import find_json, run_cli

from vsearch.testing.media import CJK_FONT, FILMED, code_page, stills_video, template_slide

pytestmark = pytest.mark.skipif(not Path(CJK_FONT).exists(), reason="needs fonts-noto-cjk (.ci/run installs it)")

SIZE = (960, 540)
# (Chinese title, its English line): one template, only the words differ.
DECK = [("倒排索引", "Inverted index"), ("向量数据库", "Vector databases"), ("近邻搜索", "Nearest neighbours"),
        ("图索引", "Graph indexes"), ("量化压缩", "Product quantization"), ("混合检索", "Hybrid retrieval"),
        ("重排序", "Reranking results"), ("总结", "Summary and questions")]
SECONDS = 4


def deck(inset=None) -> list:
    return [(SECONDS, template_slide(zh, [en], i + 1, SIZE, inset=inset)) for i, (zh, en) in enumerate(DECK)]


CASES = {
    "deck": lambda path: stills_video(path, deck()),
    "filmed": lambda path: stills_video(path, deck()[:4], filters=FILMED),
    "speaker": lambda path: stills_video(path, deck((240, 135))[:4], inset=(240, 135)),
    "builds": lambda path: stills_video(path, [(SECONDS, template_slide("要点 Key points", [
        f"第{n}点 point {word}" for n, word in zip("一二三四", ("alpha", "bravo", "charlie", "delta"))][:k], 2, SIZE))
        for k in range(1, 5)]),
    "pages": lambda path: stills_video(path, [(SECONDS, template_slide("附录 Appendix", [f"第 {p} 页 page {p}"], p, SIZE))
                                              for p in range(1, 5)]),
    "scrolling": lambda path: stills_video(path, [(SECONDS if k % 2 == 0 else 0.3, code_page(
        [f"def step_{i}(x):  # 第{i}步" for i in range(90)], SIZE, top=10 * k)) for k in range(7)]),
}
# What each case must read, with when it appears: (seconds, a word that must be in its cue).
EXPECTED = {
    "deck": [(SECONDS * i, en.split()[0]) for i, (_, en) in enumerate(DECK)],
    "filmed": [(SECONDS * i, en.split()[0]) for i, (_, en) in enumerate(DECK[:4])],
    "speaker": [(SECONDS * i, en.split()[0]) for i, (_, en) in enumerate(DECK[:4])],
    "builds": [(SECONDS * k, word) for k, word in enumerate(("alpha", "bravo", "charlie", "delta"))],
    "pages": [(SECONDS * k, f"page {k + 1}") for k in range(4)],
    # Each stop of the scroll shows 20 lines further down: its last line was not on screen before.
    "scrolling": [(round(k * (SECONDS + 0.3), 1), f"step_{20 * k + 20 if k else 0}(") for k in range(4)],
}


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slides")
    return folder


def indexed(case: str, made: Path, env, monkeypatch) -> Path:
    monkeypatch.setenv("VSEARCH_OCR_MODE", "auto")
    video = made / f"{case}.mp4"
    if not video.exists():
        CASES[case](video)
    run_cli("index", str(video))
    return video


def shown(video: Path) -> list[dict]:
    out = run_cli("transcript", str(video), "--source", "ocr", "--format", "json").stdout
    return [json.loads(line) for line in out.splitlines()]


def assert_every_slide_read(case: str, video: Path) -> None:
    cues = shown(video)
    for at, word in EXPECTED[case]:
        holding = [c for c in cues if word.lower().replace(" ", "") in c["text"].lower().replace(" ", "")]
        assert holding, f"{case}: nothing read holds {word!r}: {[c['text'] for c in cues]}"
        first = min(c["start"] for c in holding)
        assert at - 0.01 <= first <= at + 1.0, f"{case}: {word!r} read from {first}, shown from {at}"


@pytest.mark.slow
def test_a_template_deck_has_every_slide_read_and_found_in_chinese_and_english(env, made, monkeypatch):
    video = indexed("deck", made, env, monkeypatch)
    assert_every_slide_read("deck", video)
    for i, (zh, en) in enumerate(DECK):
        window = (SECONDS * i, SECONDS * (i + 1))
        for query in (zh, en.lower()):
            top = find_json(query, "-k", "1", "--source", "ocr")
            assert top and window[0] - 0.01 <= top[0]["seek"] < window[1], (query, top)
    frames = json.loads(run_cli("list", "--json").stdout.splitlines()[0])["frames"]
    assert frames == SECONDS * len(DECK)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["filmed", "speaker", "builds", "pages", "scrolling"])
def test_every_slide_is_read_from_when_it_appears(case, env, made, monkeypatch):
    assert_every_slide_read(case, indexed(case, made, env, monkeypatch))


@pytest.mark.slow
def test_a_speakers_corner_does_not_make_a_slide_new(env, made, monkeypatch):
    video = indexed("speaker", made, env, monkeypatch)
    line = [ln for ln in run_cli("index", str(video)).stdout.splitlines() if "frames" in ln][0]
    encoded = int(line.split("(")[1].split()[0])
    assert encoded <= 2 * len(EXPECTED["speaker"]), line
