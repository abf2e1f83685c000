"""The tools `vsearch mcp` gives an assistant: names, descriptions and argument schemas, and what each does.

Arguments are untrusted: each is checked here for its type only, and for its range by the code
the CLI and the server use (request.py's FindRequest, export.clip_bounds). A video is named by the
path the index holds or by its id, looked up, never opened by the name given; clips are written
only into mcp.output_dir. The MCP SDK is mcp_server.py's alone: these run and test without it.
"""

import math
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import absolute, display, encodable, file_url

from .render import gone_note, hms, note_lines, player_line, record_json, segment_lines, status_line
from .request import FindRequest, MAX_QUERY, MAX_TOP_K, NotIndexed
from .settings import Settings
from .wire import answer_json, cue_json

# The assistant's words for how a moment was found, and the index's.
SOURCES = {"seen": "frames", "said": "asr", "subtitles": "subtitle", "shown": "ocr", "heard": "audio"}
TEXTS = ("said", "subtitles", "shown")  # the sources with a transcript
WRITES = ("cut_clip",)  # the one tool that changes anything: it adds a file to mcp.output_dir
MAX_CUES = 1000  # cues one get_transcript answers: a long lecture's whole transcript floods a model's context
MAX_NAME = 4096  # characters of a video argument, as FindRequest bounds its filters

_VIDEO = {"type": "string", "maxLength": MAX_NAME,
          "description": "The video: its path exactly as list_videos or find_moments gave it, or its video_id."}
_SPAN = "Seconds from the video's start"


class ArgumentError(VsearchError):
    """A tool's argument missing, unknown, or of the wrong type."""

    exit_code = 2


@dataclass(frozen=True)
class Reply:
    """A tool's answer: structured content, and the same as readable text."""

    data: dict
    text: str


def schemas(settings: Settings) -> dict[str, tuple[str, dict]]:
    """{tool name: (its description, the JSON schema of its arguments)}."""
    def obj(properties: dict, *required: str) -> dict:
        return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}

    return {
        "find_moments": (
            "Find the moments in the indexed videos that match a query in any language: what is said, shown on "
            "screen, seen or heard. Answers ranked moments, each with its video's path and video_id, start and end "
            "seconds, the second to seek to, its score, what matched (the cue's text and its source), a player "
            "command and a media-fragment URL. Nothing found is an empty list, not an error.",
            obj({"query": {"type": "string", "description": f"What to find, in any language (at most {MAX_QUERY} "
                           "characters): \"where she explains HNSW\", \"讲到向量数据库的部分\", \"applause\"."},
                 "k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K, "default": settings["find.top_k"],
                       "description": "How many moments, best first."},
                 "video": {**_VIDEO, "description": "Only moments of this video (its path or video_id), or of "
                                                    "the videos under this folder (an absolute path)."},
                 "source": {"type": "string", "enum": list(SOURCES),
                            "description": "Only moments found this way: seen (the picture), said (speech), "
                                           "subtitles, shown (text on screen) or heard (sounds)."},
                 "all": {"type": "boolean", "default": False,
                         "description": "Also the moments under the bar, that do not stand out from the rest: "
                                        "when nothing was found and the closest one is worth a look."}}, "query")),
        "get_transcript": (
            "What was said in a video, with times in seconds: its speech transcript, else its subtitles; or "
            "source=shown for the text shown on screen. Give start and end to read only around a moment.",
            obj({"video": _VIDEO,
                 "start": {"type": "number", "minimum": 0, "description": f"{_SPAN}: cues ending after it."},
                 "end": {"type": "number", "minimum": 0, "description": f"{_SPAN}: cues starting before it."},
                 "source": {"type": "string", "enum": list(TEXTS),
                            "description": "said (speech; the default, or the subtitles where none was "
                                           "transcribed), subtitles, or shown (on screen)."}}, "video")),
        "list_chapters": (
            "A video's chapters, with titles and start and end seconds: where the slides change, what is said "
            "moves on, or the picture changes for long.",
            obj({"video": _VIDEO}, "video")),
        "list_videos": (
            "The videos indexed: each one's path, video_id, duration in seconds, state (done, gone: the file is "
            "no longer there, partial, failed) and what was said and shown in it.",
            obj({})),
        "cut_clip": (
            f"Cut start-end seconds of a video into a new MP4 file (at most {settings['serve.max_clip']:g} s) "
            "and answer its path. Clips are written only into vsearch's clip folder (mcp.output_dir); no file "
            f"is ever replaced. The folder takes at most {settings['mcp.max_clips']} clips and "
            f"{settings['mcp.max_clips_gb']:g} GB; past that the user deletes some.",
            obj({"video": _VIDEO, "start": {"type": "number", "minimum": 0, "description": f"{_SPAN}."},
                 "end": {"type": "number", "minimum": 0, "description": f"{_SPAN}, after start."}},
                "video", "start", "end")),
    }


def arguments(schema: dict, given) -> dict:
    """The call's arguments, each named by the schema and of its type and enum (a null is one not
    given); an ArgumentError naming the first that is not. Ranges are the tools' own to check."""
    if not isinstance(given, dict):
        raise ArgumentError("the arguments must be a JSON object")
    known = schema["properties"]
    for name in given:
        if name not in known:
            raise ArgumentError(f"unknown argument {display(name[:100])!r}: this tool takes "
                                + (", ".join(known) or "none"))
    kept = {name: value for name, value in given.items() if value is not None}
    for name in schema["required"]:
        if name not in kept:
            raise ArgumentError(f"{name} is required")
    for name, value in kept.items():
        spec = known[name]
        kind = {"string": str, "integer": int, "number": (int, float), "boolean": bool}[spec["type"]]
        finite = not isinstance(value, float) or math.isfinite(value)
        if kind is int and finite and isinstance(value, float) and value.is_integer():
            value = kept[name] = int(value)  # JSON has one number type: 5.0 is the integer 5 (JSON Schema too)
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind) or not finite:
            raise ArgumentError(f"{name} must be {'an' if spec['type'] == 'integer' else 'a'} {spec['type']}")
        if spec["type"] == "number" and isinstance(value, int):
            try:  # seconds: a float, which 10**400 is not
                value = kept[name] = float(value)
            except OverflowError:
                raise ArgumentError(f"{name} is out of range") from None
        if "enum" in spec and value not in spec["enum"]:
            raise ArgumentError(f"{name} must be one of {', '.join(spec['enum'])}")
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no file, video or word is named so
                raise ArgumentError(f"{name} must be text (it holds a lone surrogate)") from None
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            raise ArgumentError(f"{name} must be at most {spec['maxLength']} characters")
    return kept


class Tools:
    """The tools over one index, its models loaded once: on the first call, or by `warm` beforehand."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.schemas = schemas(settings)
        self._resident = None
        self._lock = threading.Lock()

    def resident(self):
        """The Resident of this index: made on first use; an error while nothing is indexed."""
        from .resident import Resident
        from .session import EMPTY, index_meta

        with self._lock:
            if self._resident is None:
                meta = index_meta(self.settings)
                if meta is None:  # no models to choose yet: the next call looks again
                    raise VsearchError(EMPTY)
                self._resident = Resident(self.settings, meta)
            return self._resident

    def warm(self) -> None:
        """Load the models now, so that the first call answers at once; a failure is that call's to say."""
        try:
            self.resident()
        except Exception:  # said, as a tool error, by the first call that needs them
            pass

    def close(self) -> None:
        if self._resident is not None:
            self._resident.close()

    def call(self, name: str, given) -> Reply:
        """Run tool `name` on arguments as the assistant sent them."""
        if name not in self.schemas:
            raise ArgumentError(f"no tool {display(name[:100])!r}: the tools are {', '.join(self.schemas)}")
        reply = getattr(self, name)(**arguments(self.schemas[name][1], given if given is not None else {}))
        return Reply(_encodable(reply.data), encodable(reply.text))

    def _record(self, video: str):
        """The record of a video named by its indexed path or its id; NotIndexed otherwise."""
        from vsearch.index import video_id

        vid = int(video) if video.isascii() and video.isdigit() and len(video) <= 19 else video_id(video)
        found = self.resident().record(vid) if vid < 1 << 63 else None
        if found is None or found.state != "done":
            raise NotIndexed(f"not indexed: {display(video[:300])} (see list_videos)")
        return found

    def find_moments(self, query: str, k: int | None = None, video: str | None = None,
                     source: str | None = None, all: bool = False) -> Reply:
        if video is not None and not Path(video).is_absolute():
            # A relative path would mean the folder the assistant started this server in.
            video = self._record(video).path
        request = FindRequest(query=query, k=self.settings["find.top_k"] if k is None else k,
                              videos=(video,) if video else (), shown=SOURCES[source] if source else "",
                              all=all).checked()
        found = self.resident().find(request)
        data = answer_json(found, request.k, lambda seg: {"player": player_line(seg)})
        # The terminal's lines, and what a model passes on to the other tools: the id and exact seconds.
        lines = [f"{segment_lines(n, s)}\n    video_id {s.video_id}, {s.start:g}-{s.end:g} s, seek {s.seek:g} s"
                 for n, s in enumerate(found.segments, 1)]
        if not found.segments:
            data["note"] = "no matching moments: try other words, another source, or no video"
            if (c := found.closest) is not None:
                data["note"] += (f"; the closest under the bar is {display(Path(c.video).name)} "
                                 f"{c.start:g}-{c.end:g} s: all=true shows the moments under it")
            lines.append(data["note"])
        lines += note_lines(found.notes) + ([gone_note(found.gone)] if found.gone else [])
        return Reply(data, "\n".join(lines))

    def get_transcript(self, video: str, start: float = 0.0, end: float | None = None,
                       source: str | None = None) -> Reply:
        if start < 0:
            raise ArgumentError("start must be at least 0 seconds")
        if end is not None and end <= start:
            raise ArgumentError(f"end must be after start ({start:g} s)")
        record = self._record(video)
        said = source in (None, "said")  # speech, else the subtitles, as `vsearch transcript` reads it
        cues, used = self.resident().transcript(record, None if said else SOURCES[source])
        inside = [c for c in cues if c.end > start and (end is None or c.start < end)]
        notes = ["no speech was transcribed; these are its subtitles"] if said and used != SOURCES["said"] else []
        if len(inside) > MAX_CUES:
            notes.append(f"the first {MAX_CUES} of {len(inside)} cues: give start and end for the rest")
        kept = inside[:MAX_CUES]
        data = {"video": record.path, "video_id": str(record.id), "source": used,
                "cues": [cue_json(c, words=False) for c in kept], "notes": notes}
        lines = [f"{hms(c.start)}  {c.start:g}-{c.end:g} s  {display(c.text)}" for c in kept]
        return Reply(data, "\n".join([*(f"note: {n}" for n in notes), *lines] or ["no cues in that span"]))

    def list_chapters(self, video: str) -> Reply:
        from .chapter_formats import format_chapters

        record = self._record(video)
        found = self.resident().chapters(record) or []
        data = {"video": record.path, "video_id": str(record.id), "chapters": [asdict(c) for c in found]}
        return Reply(data, format_chapters(found, "youtube") or "no chapters")

    def list_videos(self) -> Reply:
        records = self.resident().videos()
        data = {"videos": [{"video_id": str(r.id), **record_json(r)} for r in records]}
        lines = [f"{status_line(r)}  video_id {r.id}, {r.duration:g} s" for r in records]
        return Reply(data, "\n".join(lines) or "no videos indexed")

    def cut_clip(self, video: str, start: float, end: float) -> Reply:
        from .outputs import clip_into

        record = self._record(video)
        _room_for_a_clip(self.output_dir, self.settings["mcp.max_clips"], self.settings["mcp.max_clips_gb"])
        out, first, last = clip_into(self.output_dir, record, start, end, self.settings["serve.max_clip"])
        data = {"path": str(out), "url": file_url(str(out)), "video": record.path, "video_id": str(record.id),
                "start": first, "end": last}
        return Reply(data, f"wrote {display(str(out))} ({first:g}-{last:g} s of {display(Path(record.path).name)})")

    @property
    def output_dir(self) -> Path:
        """Where clips are written: mcp.output_dir, else the home's clips folder."""
        return absolute(self.settings["mcp.output_dir"] or self.settings.home / "clips")


def _room_for_a_clip(folder: Path, most: int, most_gb: float) -> None:
    """A VsearchError where `folder` already holds `most` clips or `most_gb` of them: its visible
    MP4 files (a cut's hidden part file and the user's other files are not clips)."""
    sizes = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".mp4") and not entry.name.startswith(".") \
                        and entry.is_file(follow_symlinks=False):
                    sizes.append(entry.stat(follow_symlinks=False).st_size)
                    if len(sizes) >= most:
                        break
    except FileNotFoundError:
        return
    except OSError as exc:
        raise VsearchError(f"{display(str(folder))}: cannot read the clip folder ({exc.strerror})") from None
    if len(sizes) >= most:
        raise VsearchError(f"the clip folder {display(str(folder))} holds {most} clips (mcp.max_clips): "
                           "delete some there, or raise mcp.max_clips")
    if sum(sizes) >= most_gb * 1e9:
        raise VsearchError(f"the clip folder {display(str(folder))} holds {most_gb:g} GB of clips "
                           "(mcp.max_clips_gb): delete some there, or raise mcp.max_clips_gb")


def _encodable(value):
    """`value` with its file names' undecodable bytes as \\xNN: JSON-RPC's UTF-8 cannot carry them
    (the video_id still names such a file)."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {k: _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value
