"""Chapters written as players and sites read them: WebVTT chapters, FFmpeg's metadata file,
YouTube's description lines, JSON lines."""

import json

FORMATS = ("vtt", "ffmetadata", "youtube", "json")


def _clock(seconds: float, fraction: bool = True) -> str:
    whole = int(seconds)
    h, m, s = whole // 3600, whole % 3600 // 60, whole % 60
    if fraction:
        return f"{h:02d}:{m:02d}:{s:02d}.{round((seconds - whole) * 1000):03d}"
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _one_line(title: str) -> str:
    return " ".join(title.split())


def format_chapters(chapters, fmt: str) -> str:
    """The chapters as the text of format `fmt` (one of FORMATS); titles from a video's own text
    are escaped for each, never able to start a cue, a section or a line of their own."""
    if fmt == "json":
        return "".join(json.dumps({"start": c.start, "end": c.end, "title": c.title, "why": c.why},
                                  ensure_ascii=False) + "\n" for c in chapters)
    if fmt == "youtube":  # the first at 0:00, as YouTube asks
        return "".join(f"{_clock(c.start, False)} {_one_line(c.title)}\n" for c in chapters)
    if fmt == "ffmetadata":
        def escaped(text: str) -> str:
            return "".join("\\" + ch if ch in "=;#\\" else ch for ch in _one_line(text))

        return ";FFMETADATA1\n" + "".join(
            f"\n[CHAPTER]\nTIMEBASE=1/1000\nSTART={round(c.start * 1000)}\nEND={round(c.end * 1000)}\n"
            f"title={escaped(c.title)}\n" for c in chapters)
    if fmt == "vtt":
        def text(title: str) -> str:
            return _one_line(title).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        return "WEBVTT\n" + "".join(f"\n{n}\n{_clock(c.start)} --> {_clock(c.end)}\n{text(c.title)}\n"
                                    for n, c in enumerate(chapters, 1))
    raise ValueError(f"unknown chapter format {fmt!r}: use {', '.join(FORMATS)}")
