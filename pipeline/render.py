"""How results look: on a terminal (times, player lines, progress bars) and as JSON lines.

A segment's JSON shape is wire.py's, shared by `find --json` and `vsearch serve`.
"""

import json
import os
import sys
from pathlib import Path

import click

from vsearch.extract.paths import display, escape_json, shell_quote
from vsearch.extract.types import Source

from .wire import fragment_url


def hms(seconds: float) -> str:
    """Seconds as HH:MM:SS."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def count(n: int, one: str, many: str | None = None) -> str:
    """`1 video`, `2 videos`: a number and its noun in the right form."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def echo_json(value) -> None:
    """One JSON line on stdout; undecodable file-name bytes as \\udcNN escapes (valid UTF-8)."""
    click.echo(escape_json(json.dumps(value, ensure_ascii=False)))


SENSES = {Source.ASR: "said", Source.OCR: "shown", Source.SUBTITLE: "subtitle"}


def progress_for(path):
    """A line on a terminal that follows one video (seconds decoded, speech transcribed, frames
    read for text, time left), erased when it is done; nothing when stderr is a pipe or a log."""
    if not sys.stderr.isatty():
        return None
    import time

    name, began, shown = display(Path(path).name), time.monotonic(), [0.0]

    def update(advance) -> None:
        now = time.monotonic()
        if advance.over:
            sys.stderr.write("\r\x1b[K")
        elif now - shown[0] >= 0.2:  # a slow terminal (ssh) is not written to for every chunk
            shown[0] = now
            sys.stderr.write("\r\x1b[K" + progress_line(name, advance, now - began)[: _columns() - 1])
        sys.stderr.flush()

    return update


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def progress_line(name: str, advance, elapsed: float) -> str:
    """`lecture.mp4  00:01:20/00:58:00 decoded · said 00:00:45 · text read on 12 frames · 00:06:10 left`."""
    parts = [f"{name[:40]}  {hms(advance.decoded)}/{hms(advance.total)} decoded"]
    if advance.heard is not None:
        parts.append(f"said {hms(advance.heard)}")
    if advance.read is not None:
        parts.append(f"text read on {count(advance.read, 'frame')}")
    # The slowest of decoding and speech sets the time left: each runs through the whole video.
    done = [advance.decoded / advance.total] if advance.total else []
    if advance.heard is not None and advance.total:
        done.append(min(1.0, advance.heard / advance.total))
    share = min(done) if done else 0.0
    if 0.02 <= share < 1.0 and elapsed >= 2:
        parts.append(f"{hms(elapsed * (1 - share) / share)} left")
    return " · ".join(parts)


def naming(path, message: str) -> str:
    """`message` about `path`, naming it once: the pipeline's errors already start with it."""
    if message.startswith((str(path), str(Path(path).resolve()))):
        return display(message)
    return display(f"{path}: {message}")


def shown_state(rec) -> str:
    """A record's state: "gone" for an indexed video whose file is no longer there, "partial" for
    one indexed while a sense's model could not run (the next `ingest` adds it)."""
    from vsearch.index.senses import failed

    if rec.state != "done":
        return rec.state
    return "gone" if not os.path.exists(rec.path) else "partial" if failed(rec.info) else "done"


def senses(rec) -> str:
    """What encoded a video's frames and what speech, screen text, sounds and a picture model gave
    it, for `status`: " (frames int8, said 12 en, shown 3, sounds 40, pictures)"."""
    info = rec.info or {}
    asr, ocr, audio = info.get("asr") or {}, info.get("ocr") or {}, info.get("audio") or {}
    parts = []
    if precisions := info.get("precisions"):  # "frames int8", or "frames fp32 64 + int8 530" for a switch midway
        parts.append("frames " + (" + ".join(f"{p} {n}" for p, n in precisions.items()) if len(precisions) > 1
                                  else next(iter(precisions))))
    parts += [f"said {asr['cues']} {asr.get('language', '')}".rstrip()] if "cues" in asr else []
    parts += [f"shown {ocr['cues']}"] if ocr.get("state") in ("read", "cached") else []
    parts += [f"sounds {rec.sounds}" if "windows" in audio else f"sounds: {audio['skipped']}"] \
        if audio and audio.get("skipped") != "audio.mode is off" else []
    parts += ["pictures"] if info.get("pictures") else []
    return f" ({', '.join(parts)})" if parts else ""


def record_json(rec) -> dict:
    """The --json shape of a video record, for `list` and `status`."""
    from vsearch.index.senses import failed

    info = rec.info or {}
    return {"path": rec.path, "state": shown_state(rec), "duration": round(rec.duration, 3),
            "declared_duration": info.get("declared_duration"), "frames": rec.frames, "cues": rec.cues,
            "model": rec.model, "error": rec.error or None, "warnings": info.get("warnings", []),
            "sounds": rec.sounds, "asr": info.get("asr"), "ocr": info.get("ocr"), "audio": info.get("audio"),
            "partial": failed(info) or None, "precisions": info.get("precisions"), "pictures": info.get("pictures"),
            "indexed_at": rec.indexed_at or None, "attempts": rec.attempts, "retry_at": rec.retry_at or None}


METRIC_COLUMNS = [("hit@1", "Hit@1"), ("hit@5", "Hit@5"), ("r@1@0.3", "R1@.3"), ("r@1@0.5", "R1@.5"),
                  ("r@1@0.7", "R1@.7"), ("r@5@0.3", "R5@.3"), ("r@5@0.5", "R5@.5"), ("r@5@0.7", "R5@.7"),
                  ("map", "mAP"), ("mrr", "MRR")]


def player_line(seg) -> str:
    """The shell line that plays a segment from its seek offset."""
    return f"mpv --start={seg.seek:g} {shell_quote(seg.video)}"


def segment_lines(n: int, seg) -> str:
    """A segment as `find` prints it: what matched (said, shown, subtitle, seen or heard), player lines, a URL."""
    cue = f'  {SENSES.get(seg.source, seg.source)}: "{seg.cue[:70]}"' if seg.cue else (
        "  heard" if seg.source == "audio" else "  seen")
    return (f"{n:>2}. {display(Path(seg.video).name)}  {hms(seg.start)}–{hms(seg.end)}  score {seg.score:.3f}{cue}\n"
            f"    {player_line(seg)}   |   ffplay -ss {seg.seek:g} {shell_quote(seg.video)}\n"
            f"    {fragment_url(seg.video, seg.start, seg.end)}")


def closest_line(seg) -> str:
    """What `find` says of the closest moment under the bar when nothing passed it."""
    said = f' "{seg.cue[:70]}"' if seg.cue else ""
    # No score: the closest one's is what it scores with the bar left out, which says nothing of the bar.
    return (f"note: closest under the bar: {display(Path(seg.video).name)} {hms(seg.start)}–{hms(seg.end)}{said}; "
            "`--all` shows the moments under it")


def note_lines(notes: dict[str, str]) -> list[str]:
    """Why signals were left out of the query, a `note:` line each."""
    return [f"note: {signal} {why}" for signal, why in notes.items()]


def gone_note(gone: list[str]) -> str:
    """What `find` says of indexed videos whose files (these paths) are gone."""
    names = ", ".join(display(path) for path in gone[:3]) + (" ..." if len(gone) > 3 else "")
    return (f"note: {len(gone)} indexed videos are gone from disk and were left out ({names}); "
            "`vsearch ingest --prune` or `vsearch remove` forgets them")


def metrics_table(metrics: dict) -> str:
    """`vsearch eval`'s table: a row per signal, a column per metric (NoAns where a query has no answer)."""
    columns = METRIC_COLUMNS + ([("no_result", "NoAns")] if any("no_result" in m for m in metrics.values()) else [])
    lines = [f"{'signal':<16}" + "".join(f"{title:>7}" for _, title in columns)]
    lines += [f"{name:<16}" + "".join(f"{row[key]:>7.3f}" if key in row else f"{'-':>7}" for key, _ in columns)
              for name, row in metrics.items()]
    return "\n".join(lines)


def status_line(rec) -> str:
    """A video's `status` line: state, counts, what speech and screen text gave, when, errors."""
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(rec.indexed_at, timezone.utc).strftime("%Y-%m-%d %H:%M") if rec.indexed_at else "-"
    error = f"  error: {rec.error}" if rec.error else ""
    warnings = "".join(f"  warning: {w}" for w in (rec.info or {}).get("warnings", []))
    return display(f"{shown_state(rec):<9} {rec.frames:>6} frames {rec.cues:>5} cues{senses(rec)}  {when}  "
                   f"{rec.path}{error}{warnings}")


def outcome_line(o) -> str:
    """One video's outcome as `ingest` prints it."""
    if o.action in ("indexed", "completed"):
        return (f"{o.action:<8} {display(o.path)}  {count(o.frames, 'frame')} ({o.encoded} encoded), "
                f"{count(o.cues, 'cue')}, {o.seconds:.1f}s")
    if o.action == "skipped":
        return f"skipped  {display(o.path)}  unchanged"
    return f"{o.action:<8} " + (naming(o.path, o.error) if o.error else display(o.path))


def ingest_line(counts: dict, seconds: float) -> str:
    """`ingest`'s last line: how many videos it did what with, and in how long."""
    order = ["indexed", "skipped", "failed", "completed", "waiting", "backoff", "gone", "pruned"]
    parts = ", ".join(f"{counts.get(k, 0)} {k}" for k in order if counts.get(k) or k in order[:3])
    return f"ingest: {parts} in {seconds:.1f}s"


def models_line(meta: dict) -> str:
    """`status`'s models line: each model the index was written with, and the scripts its
    measured levels read (docs/ranking.md); a script not read gives that signal nothing."""
    def reads(levels: dict | None) -> str:
        if levels is None:
            return "not measured yet"
        told = [script for script, pair in levels.items() if pair]
        return f"reads {', '.join(told)}" if told else "tells no script apart"

    parts = [f"image {display(meta['model'])} ({reads(meta.get('image_levels'))})",
             f"text {display(meta.get('text_model', 'image'))} ({reads(meta.get('text_levels'))})"]
    if meta.get("audio_model"):
        parts.append(f"sound {display(meta['audio_model'])}")
    if meta.get("picture_model"):
        parts.append(f"picture {display(meta['picture_model'])} (reads pictures only: --image, more like this)")
    return "models: " + "; ".join(parts)


def engine_line(model_id: str, settings) -> str:
    """`status`'s engine line: what runs the image model's towers here, and at what precision."""
    from vsearch.index import ModelError
    from vsearch.index.fidelity import engine_line as line

    try:
        return line(model_id, settings.encoder_options())
    except ModelError:  # a device named that is not here: every command that loads a model says so
        return ""


def status_summary(records: list) -> str:
    """`status`'s last line: videos by state, frames, cues and how many have errors."""
    from collections import Counter

    states = Counter(shown_state(r) for r in records)
    errors = sum(1 for r in records if r.error)
    return (f"{count(len(records), 'video')}: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
            + f"; {count(sum(r.frames for r in records), 'frame')}, {count(sum(r.cues for r in records), 'cue')}, "
            f"{errors} with errors")
