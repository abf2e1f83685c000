"""Read subtitle files (WebVTT, SubRip, ASS/SSA) in any common encoding into `Cue`s."""

import codecs
import html
import io
import re
from dataclasses import replace
from pathlib import Path

from vsearch.extract.errors import SubtitleError

from .types import Cue

SUBTITLE_EXTENSIONS = (".vtt", ".srt", ".ass", ".ssa")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>", re.IGNORECASE)
_TAG = re.compile(r"</?[^<>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")
_SPACE = re.compile(r"\s+")
_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
# Control characters other than whitespace, and U+FFFD left by undecodable bytes: never stored.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# Tags after the language in sidecar names (`x.en.forced.srt`, `x.English.SDH.srt`).
_FLAGS = {"forced", "sdh", "cc", "default", "full", "signs", "songs", "hi"}
# Language names people put in file names, and the common Chinese script tags.
_NAMES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "cantonese": "yue", "french": "fr", "german": "de",
    "spanish": "es", "italian": "it", "portuguese": "pt", "brazilian": "pt-BR", "russian": "ru",
    "japanese": "ja", "korean": "ko", "arabic": "ar", "hindi": "hi", "dutch": "nl", "swedish": "sv",
    "norwegian": "no", "danish": "da", "finnish": "fi", "polish": "pl", "turkish": "tr", "greek": "el",
    "hebrew": "he", "thai": "th", "vietnamese": "vi", "indonesian": "id", "czech": "cs",
    "hungarian": "hu", "romanian": "ro", "ukrainian": "uk", "persian": "fa",
    "chs": "zh-Hans", "sc": "zh-Hans", "cht": "zh-Hant", "tc": "zh-Hant",
    "中文": "zh", "简体": "zh-Hans", "繁體": "zh-Hant", "繁体": "zh-Hant", "日本語": "ja", "한국어": "ko",
}


def _damaged_utf8(data: bytes) -> int:
    """Undecodable bytes of what is otherwise UTF-8 (more valid multibyte characters than bad
    bytes, or no other high bytes at all), or 0 when the bytes look like another encoding."""
    text = data.decode("utf-8", "surrogateescape")
    bad = sum(1 for c in text if "\udc80" <= c <= "\udcff")
    good = sum(1 for c in text if ord(c) > 127 and not "\udc80" <= c <= "\udcff")
    if bad and good >= bad:
        return bad
    return 0


def decode_text(data: bytes, name: str = "", encoding: str = "auto") -> tuple[str, str]:
    """Decode subtitle bytes: BOM first, then UTF-16 without BOM, UTF-8, then detection.

    Returns the text and a warning ("" when there is none): UTF-8 with a few damaged bytes keeps
    the rest of its text rather than being read as some legacy encoding.
    """
    if encoding != "auto":
        try:
            return data.decode(encoding), ""
        except (LookupError, UnicodeDecodeError) as exc:
            raise SubtitleError(f"{name}: cannot decode as {encoding} ({exc})") from None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace"), ""
    if len(data) >= 4 and data.count(0) > len(data) // 4:
        # UTF-16 without a BOM (NULs are valid UTF-8, so check first); little-endian puts them odd.
        odd_zeros = data[1::2].count(0)
        return data.decode("utf-16-le" if odd_zeros >= data[0::2].count(0) else "utf-16-be", "replace"), ""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    bad = _damaged_utf8(data)
    if bad:
        return data.decode("utf-8", "replace"), f"{name}: {bad} bytes are not valid UTF-8 and were dropped"
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "cp1252", "shift_jis", "euc_kr", "cp1251", "latin_1"]).best()
    if best is None:
        raise SubtitleError(
            f"{name}: unknown text encoding; convert it to UTF-8 or set subtitle_encoding"
        )
    return str(best), ""


def clean_text(raw: str) -> tuple[str, str]:
    """Cue text without markup, lines joined, and the speaker a `<v Name>` tag names."""
    voice = _VOICE.search(raw)
    speaker = voice.group(1).strip() if voice else ""
    text = _ASS_OVERRIDE.sub("", _TAG.sub("", raw))
    return _SPACE.sub(" ", _CONTROL.sub("", html.unescape(text))).strip(), _CONTROL.sub("", speaker)


def parse_subtitles(text: str, fmt: str, lang: str = "", source: str = "") -> list[Cue]:
    """Parse WebVTT or SubRip text; cues without text or with no duration are dropped."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    text = text.lstrip("\ufeff")
    if not text.strip():
        return []
    if fmt == "vtt" and not text.lstrip().startswith("WEBVTT"):
        raise SubtitleError(f"{source or 'subtitles'}: not WebVTT (missing WEBVTT header)")
    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError, ValueError, IndexError) as exc:
        raise SubtitleError(f"{source or 'subtitles'}: malformed {fmt.upper()} ({exc})") from None
    cues = []
    for caption in captions:
        body, speaker = clean_text(caption.raw_text)
        # start_in_seconds drops the milliseconds; a cue's time must keep them.
        start = caption.start_time.in_milliseconds() / 1000
        end = caption.end_time.in_milliseconds() / 1000
        if body and end > start:
            cues.append(Cue(float(start), float(end), body, lang, speaker, origin=source))
    return cues


def _ass_time(value: str) -> float:
    hours, minutes, seconds = value.strip().split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_ass(text: str, lang: str = "", source: str = "") -> list[Cue]:
    """Parse the [Events] of an ASS/SSA script: Dialogue lines by their Format line."""
    fields: list[str] = []
    cues = []
    in_events = False
    for line in text.lstrip("\ufeff").splitlines():
        line = line.strip()
        if line.startswith("["):
            in_events = line.lower() == "[events]"
            continue
        key, _, value = line.partition(":")
        if not in_events or not value:
            continue
        if key.lower() == "format":
            fields = [f.strip().lower() for f in value.split(",")]
        elif key.lower() == "dialogue" and "text" in fields:
            parts = dict(zip(fields, value.split(",", len(fields) - 1)))
            try:
                start, end = _ass_time(parts["start"]), _ass_time(parts["end"])
            except (KeyError, ValueError):
                continue
            raw = re.sub(r"\\[Nnh]", " ", parts.get("text", ""))
            body, _ = clean_text(raw)
            if body and end > start:
                cues.append(Cue(start, end, body, lang, clean_text(parts.get("name", ""))[0], origin=source))
    if not fields:
        raise SubtitleError(f"{source or 'subtitles'}: malformed ASS/SSA (no [Events] Format line)")
    return cues


def read_subtitles(path: Path, lang: str = "", encoding: str = "auto") -> tuple[list[Cue], list[str]]:
    """Read one .vtt, .srt, .ass or .ssa file into cues, with warnings about damaged text."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("vtt", "srt", "ass", "ssa"):
        raise SubtitleError(f"{path}: unsupported subtitle format (use .vtt, .srt, .ass or .ssa)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(f"{path}: cannot read ({exc.strerror})") from None
    text, note = decode_text(data, str(path), encoding)
    warnings = [note] if note else []
    if _CONTROL.search(text.replace("\ufffd", "")):
        warnings.append(f"{path}: control characters removed from its text")
    if fmt in ("ass", "ssa"):
        return parse_ass(text, lang, str(path)), warnings
    cues = parse_subtitles(text, fmt, lang, str(path))
    if not cues and text.strip(" \ufeff\r\n").upper() not in ("", "WEBVTT"):
        raise SubtitleError(f"{path}: no readable cues; check its timing lines")
    return cues, warnings


def fit_to(cues: list[Cue], duration: float) -> tuple[list[Cue], list[str]]:
    """Cues cut to the video's [0, duration]; those starting after it dropped, with a warning per
    file that runs far past the video (probably the subtitles of another video)."""
    if duration <= 0:
        return cues, []
    kept, late = [], {}
    for cue in cues:
        if cue.end > duration:
            late[cue.origin] = max(late.get(cue.origin, 0.0), cue.end)
        if cue.start < duration:
            kept.append(cue if cue.end <= duration else replace(cue, end=duration))
    warnings = [f"{origin or 'subtitles'}: cues run to {last:.0f} s but the video lasts {duration:.0f} s; "
                "probably the subtitles of another video (cues past the end were dropped)"
                for origin, last in late.items() if last > duration * 1.2 + 10]
    return kept, warnings


def language_tag(tag: str) -> str | None:
    """The language a sidecar's name tag gives: `zh-Hans`, `English` -> "en", `en.forced` -> "en",
    `forced` alone -> ""; None when the tag names no language (`talk.notes.srt`)."""
    parts = [p for p in tag.split(".") if p]
    langs = [p for p in parts if p.lower() not in _FLAGS]
    if not langs and parts:  # only flags; a lone "hi" is Hindi
        langs = [p for p in parts if p.lower() == "hi"]
        return langs[0].lower() if langs else ""
    if len(langs) != 1:
        return None
    word = langs[0]
    named = _NAMES.get(word.lower()) or _NAMES.get(word)
    if named:
        return named
    return word if _LANG.match(word) else None


def sidecar_language(sub: Path, video: Path) -> str | None:
    """`lecture.zh.vtt` beside `lecture.mp4` gives "zh", `lecture.vtt` gives ""; others None."""
    if sub.suffix.lower() not in SUBTITLE_EXTENSIONS:
        return None
    stem = sub.name[: -len(sub.suffix)]
    if stem == video.stem:
        return ""
    if stem.startswith(video.stem + "."):
        return language_tag(stem[len(video.stem) + 1 :])
    return None


def find_sidecars(video: Path) -> list[tuple[Path, str]]:
    """Subtitle files next to a video, each with the language its name carries."""
    try:
        siblings = sorted(video.parent.iterdir())
    except OSError:
        return []
    found = []
    for sub in siblings:
        lang = sidecar_language(sub, video)
        if lang is not None and sub.is_file():
            found.append((sub, lang))
    return found


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def write_subtitles(cues: list[Cue], fmt: str) -> str:
    """Cues as a WebVTT ("vtt") or SubRip ("srt") file; text that looks like markup stays text."""
    blocks = []
    for n, cue in enumerate(cues, 1):
        # "-->" would end a cue's timing line, a blank line the cue; "<" and "&" start markup in VTT.
        text = _SPACE.sub(" ", cue.text).replace("-->", "->").strip()
        if fmt == "vtt":
            text = html.escape(text, quote=False)
            blocks.append(f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n{text}\n")
        else:
            blocks.append(f"{n}\n{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}\n{text}\n")
    return ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(blocks)
