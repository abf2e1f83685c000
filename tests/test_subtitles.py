import codecs

import pytest
from conftest import SHARED_MEDIA

from vsearch.extract.errors import SubtitleError
from vsearch.extract.embedded import read_embedded, subtitle_streams
from vsearch.extract.subtitles import (
    clean_text,
    decode_text,
    find_sidecars,
    fit_to,
    parse_ass,
    parse_subtitles,
    read_subtitles,
    sidecar_language,
)
from vsearch.extract.types import Cue
from vsearch.testing.media import colour_video, ffmpeg, write_vtt

SRT = "1\n00:00:01,500 --> 00:00:03,250\n{text}\n\n2\n00:00:04,000 --> 00:00:05,000\nsecond\n"
CHINESE = "我们讲到向量数据库的部分"
FRENCH = "Il était une fois, à l'été"


@pytest.mark.parametrize("data,expected", [
    (codecs.BOM_UTF8 + "héllo".encode(), "héllo"),
    (codecs.BOM_UTF16_LE + "héllo 你好".encode("utf-16-le"), "héllo 你好"),
    (codecs.BOM_UTF16_BE + "héllo".encode("utf-16-be"), "héllo"),
    ("plain 你好".encode(), "plain 你好"),
    (SRT.format(text="no bom 你好").encode("utf-16-le"), SRT.format(text="no bom 你好")),
])
def test_decode_text_boms_and_utf16(data, expected):
    assert decode_text(data) == (expected, "")


@pytest.mark.parametrize("text,encoding", [(CHINESE, "gb18030"), (CHINESE, "gbk"), (FRENCH, "cp1252")])
def test_decode_text_detects_legacy_encodings(text, encoding):
    body = SRT.format(text=text) * 3
    decoded, warning = decode_text(body.encode(encoding))
    assert text in decoded and warning == ""


def test_damaged_utf8_keeps_its_text_and_says_so(tmp_path):
    """A few bad bytes in a UTF-8 file: the rest is kept as UTF-8, not read as a legacy encoding."""
    body = SRT.format(text=CHINESE + " hel@@lo").encode().replace(b"@@", b"\xff\xfe")
    path = tmp_path / "d.srt"
    path.write_bytes(body)
    cues, warnings = read_subtitles(path)
    assert cues[0].text == CHINESE + " hello"
    assert warnings == [f"{path}: 2 bytes are not valid UTF-8 and were dropped"]


def test_control_characters_are_never_stored(tmp_path):
    path = tmp_path / "c.srt"
    path.write_bytes(SRT.format(text="bell\x07 and nul\x00 here").encode())
    cues, warnings = read_subtitles(path)
    assert cues[0].text == "bell and nul here"
    assert warnings == [f"{path}: control characters removed from its text"]


def test_explicit_encoding_errors_are_one_line():
    with pytest.raises(SubtitleError, match="cannot decode as ascii"):
        decode_text("é".encode(), "x.srt", "ascii")


@pytest.mark.parametrize("raw,text,speaker", [
    ("<v Roger Bingham>We are in New York City", "We are in New York City", "Roger Bingham"),
    ("<v.loud Esme>It's a <b>blue</b> apple", "It's a blue apple", "Esme"),
    ("line one\nline two", "line one line two", ""),
    ("<i>italic</i> &amp; <font color=\"red\">red</font>", "italic & red", ""),
    ("{\\an8}top text", "top text", ""),
    ("When the moon <00:17.500>hits your eye", "When the moon hits your eye", ""),
    ("<c.colorE5E5E5>amore</c>", "amore", ""),
])
def test_clean_text(raw, text, speaker):
    assert clean_text(raw) == (text, speaker)


def test_parse_srt_keeps_milliseconds_and_joins_lines():
    cues = parse_subtitles(SRT.format(text="first\nline"), "srt", "en", "a.srt")
    assert [(c.start, c.end, c.text, c.lang) for c in cues] == [
        (1.5, 3.25, "first line", "en"), (4.0, 5.0, "second", "en")]


def test_parse_vtt_voice_becomes_speaker():
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Hello there\n"
    [cue] = parse_subtitles(text, "vtt")
    assert (cue.text, cue.speaker, cue.start) == ("Hello there", "Ann", 1.0)


@pytest.mark.parametrize("content,fmt,message", [
    ("not subtitles at all\nreally", "vtt", "missing WEBVTT header"),
    ("WEBVTT\n\n00:00:01.000 -> broken\ntext\n", "vtt", "malformed|no readable cues"),
    ("1\n00:00:01 --> 00:00:10\nno milliseconds\n", "srt", "malformed|no readable cues"),
])
def test_broken_files_give_one_line_errors(tmp_path, content, fmt, message):
    path = tmp_path / f"bad.{fmt}"
    path.write_text(content)
    with pytest.raises(SubtitleError, match=message) as info:
        read_subtitles(path)
    assert "\n" not in str(info.value)


def test_empty_file_has_no_cues(tmp_path):
    (tmp_path / "e.srt").write_bytes(b"")
    assert read_subtitles(tmp_path / "e.srt") == ([], [])


ASS = """[Script Info]
Title: test

[V4+ Styles]
Format: Name, Fontname, Fontsize
Style: Default,Arial,20

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.50,0:00:03.00,Default,Ann,0,0,0,,{\\i1}Hello,\\Nworld{\\i0}
Comment: 0,0:00:04.00,0:00:05.00,Default,,0,0,0,,not shown
Dialogue: 0,0:01:02.25,0:01:04.00,Default,,0,0,0,,讲到向量数据库
"""


def test_ass_and_ssa_files(tmp_path):
    cues = parse_ass(ASS, "en", "a.ass")
    assert [(c.start, c.end, c.text, c.speaker) for c in cues] == [
        (1.5, 3.0, "Hello, world", "Ann"), (62.25, 64.0, "讲到向量数据库", "")]
    (tmp_path / "b.ssa").write_text(ASS.replace("V4+", "V4"), encoding="utf-8")
    assert len(read_subtitles(tmp_path / "b.ssa")[0]) == 2
    (tmp_path / "c.ass").write_text("[Events]\nDialogue: nothing\n", encoding="utf-8")
    with pytest.raises(SubtitleError, match="malformed ASS"):
        read_subtitles(tmp_path / "c.ass")


def cue(start, end, origin="a.srt"):
    return Cue(start, end, "x", origin=origin)


@pytest.mark.parametrize("cues,duration,kept,warned", [
    ([cue(1, 2), cue(3, 4)], 10, [(1, 2), (3, 4)], []),
    ([cue(1, 2), cue(9, 12)], 10, [(1, 2), (9, 10)], []),                 # a cue over the end is cut
    ([cue(1, 2), cue(40, 50), cue(290, 300)], 55, [(1, 2), (40, 50)], ["a.srt"]),  # another video's
    ([cue(1, 2, "a.srt"), cue(90, 95, "b.srt")], 55, [(1, 2)], ["b.srt"]),
    ([cue(1, 2)], 0, [(1, 2)], []),                                         # duration unknown
])
def test_cues_are_fitted_to_the_video(cues, duration, kept, warned):
    fitted, warnings = fit_to(cues, duration)
    assert [(c.start, c.end) for c in fitted] == kept
    assert [w.split(":")[0] for w in warnings] == warned
    assert all("probably the subtitles of another video" in w for w in warnings)


@pytest.mark.parametrize("name,lang", [
    ("talk.vtt", ""), ("talk.srt", ""), ("talk.zh.vtt", "zh"), ("talk.en.srt", "en"),
    ("talk.zh-TW.vtt", "zh-TW"), ("talk.pt_BR.srt", "pt_BR"), ("talk.txt", None),
    ("talks.vtt", None), ("talk.director commentary.vtt", None), ("other.vtt", None),
    ("talk.English.srt", "en"), ("talk.en.forced.srt", "en"), ("talk.zh-Hans.vtt", "zh-Hans"),
    ("talk.ass", ""), ("talk.ja.ssa", "ja"), ("talk.Chinese.SDH.srt", "zh"), ("talk.forced.srt", ""),
    ("talk.chs.srt", "zh-Hans"), ("talk.en.hi.srt", "en"), ("talk.notes.srt", None),
])
def test_sidecar_language(tmp_path, name, lang):
    assert sidecar_language(tmp_path / name, tmp_path / "talk.mp4") == lang


def test_find_sidecars(tmp_path):
    for name in ["talk.mp4", "talk.vtt", "talk.zh.srt", "talk.notes.txt", "other.vtt"]:
        (tmp_path / name).write_text("x")
    assert [(p.name, lang) for p, lang in find_sidecars(tmp_path / "talk.mp4")] == [
        ("talk.vtt", ""), ("talk.zh.srt", "zh")]


def test_subtitle_streams_are_listed_with_codec_and_language(tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 2)])
    vtt = write_vtt(tmp_path / "en.vtt", [(0.5, 1.5, "hello")])
    out = tmp_path / "subs.mkv"
    ffmpeg("-i", str(video), "-i", str(vtt), "-i", str(vtt), "-map", "0", "-map", "1", "-map", "2", "-c:v", "copy",
           "-c:s:0", "subrip", "-c:s:1", "ass", "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=und",
           str(out))
    assert [(s.index, s.codec, s.lang) for s in subtitle_streams(out)] == [(1, "subrip", "eng"), (2, "ass", "")]
    assert subtitle_streams(video) == [] and subtitle_streams(tmp_path / "missing.mkv") == []


@pytest.mark.parametrize("container,codecs_", [("mp4", ["mov_text", "mov_text"]), ("mkv", ["ass", "subrip"])])
def test_embedded_streams_are_read(tmp_path, container, codecs_):
    video = colour_video(tmp_path / "v.mp4", [("red", 3)])
    en = write_vtt(tmp_path / "en.vtt", [(0.5, 1.5, "hello <b>world</b>")])
    zh = write_vtt(tmp_path / "zh.vtt", [(1.0, 2.0, "你好世界")])
    out = tmp_path / f"subs.{container}"
    ffmpeg("-i", str(video), "-i", str(en), "-i", str(zh), "-map", "0", "-map", "1", "-map", "2",
           "-c:v", "copy", "-c:s:0", codecs_[0], "-c:s:1", codecs_[1],
           "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=chi", str(out))
    cues, warnings = read_embedded(out)
    assert warnings == []
    assert sorted((c.text, c.start, c.end) for c in cues) == [("hello world", 0.5, 1.5), ("你好世界", 1.0, 2.0)]
    assert {c.lang for c in cues} == {"eng", "chi"}


EDGE = SHARED_MEDIA / "subtitles" / "edge"


@pytest.mark.skipif(not EDGE.is_dir(), reason="shared media not present")
@pytest.mark.parametrize("name,count,fragment", [
    ("bom-utf-16-le.srt", 7, "comment section of YouTube"),
    ("bom-utf-8.srt", 7, "comment section of YouTube"),
    ("windows-1252.srt", 1332, "ÉVÉNEMENTS"),
    ("captions_with_bom.vtt", 4, "Caption text #1"),
    ("cue_tags.vtt", 3, "When the moon hits your eye"),
])
def test_real_edge_files(name, count, fragment):
    cues, _ = read_subtitles(EDGE / name)
    assert len(cues) == count
    assert any(fragment in c.text for c in cues)


@pytest.mark.skipif(not EDGE.is_dir(), reason="shared media not present")
@pytest.mark.parametrize("name", ["invalid.srt", "no-indexes.srt"])
def test_real_broken_files(name):
    with pytest.raises(SubtitleError):
        read_subtitles(EDGE / name)
