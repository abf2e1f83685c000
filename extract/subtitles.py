"""Read subtitle files (WebVTT, SubRip) in any common encoding into `Cue`s."""

import codecs
import html
import io
import re
from pathlib import Path

from .errors import SubtitleError
from .types import Cue

SUBTITLE_EXTENSIONS = (".vtt", ".srt")

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


def decode_text(data: bytes, name: str = "", encoding: str = "auto") -> str:
    """Decode subtitle bytes: BOM first, then UTF-16 without BOM, UTF-8, then detection."""
    if encoding != "auto":
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise SubtitleError(f"{name}: cannot decode as {encoding} ({exc})") from None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    if len(data) >= 4 and data.count(0) > len(data) // 4:
        # UTF-16 without a BOM (NULs are valid UTF-8, so check first); little-endian puts them odd.
        odd_zeros = data[1::2].count(0)
        return data.decode("utf-16-le" if odd_zeros >= data[0::2].count(0) else "utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "cp1252", "shift_jis", "euc_kr", "cp1251", "latin_1"]).best()
    if best is None:
        raise SubtitleError(
            f"{name}: unknown text encoding; convert it to UTF-8 or set subtitle_encoding"
        )
    return str(best)


def clean_text(raw: str) -> tuple[str, str]:
    """Cue text without markup, lines joined, and the speaker a `<v Name>` tag names."""
    voice = _VOICE.search(raw)
    speaker = voice.group(1).strip() if voice else ""
    text = _ASS_OVERRIDE.sub("", _TAG.sub("", raw))
    return _SPACE.sub(" ", html.unescape(text)).strip(), speaker


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
            cues.append(Cue(float(start), float(end), body, lang, speaker, source))
    return cues


def read_subtitles(path: Path, lang: str = "", encoding: str = "auto") -> list[Cue]:
    """Read one .vtt or .srt file into cues."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("vtt", "srt"):
        raise SubtitleError(f"{path}: unsupported subtitle format (use .vtt or .srt)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(f"{path}: cannot read ({exc.strerror})") from None
    text = decode_text(data, str(path), encoding)
    cues = parse_subtitles(text, fmt, lang, str(path))
    if not cues and text.strip(" \ufeff\r\n").upper() not in ("", "WEBVTT"):
        raise SubtitleError(f"{path}: no readable cues; check its timing lines")
    return cues


def sidecar_language(sub: Path, video: Path) -> str | None:
    """`lecture.zh.vtt` beside `lecture.mp4` gives "zh", `lecture.vtt` gives ""; others None."""
    if sub.suffix.lower() not in SUBTITLE_EXTENSIONS:
        return None
    stem = sub.name[: -len(sub.suffix)]
    if stem == video.stem:
        return ""
    if stem.startswith(video.stem + "."):
        tag = stem[len(video.stem) + 1 :]
        return tag if _LANG.match(tag) else None
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
