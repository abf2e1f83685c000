"""One find request, built and checked once, whichever road it takes to the index.

The CLI, the page, /api/find, /api/export, supercut and the background server all describe a
find as a FindRequest: one set of limits, one meaning of each field. It travels to a server as
query parameters (`params`) and is read back there by `from_params`, so both ends share the code.
No model runtime is imported here: a `find` answered by a server loads none.
"""

from dataclasses import dataclass, replace
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import absolute, display

MAX_TOP_K = 1000  # segments one request may ask for (find.top_k's bound too)
MAX_OFFSET = 1000  # how deep the page may page
MAX_QUERY = 1000  # characters
MAX_UPLOAD_BYTES = 20 << 20  # a picture or sound a server takes; a larger sound is heard in the process
MAX_FORM_BYTES = 1 << 20  # room for the fields sent beside an upload (64 paths of 4096 bytes...)
MAX_NAME = 255  # characters of a picture's or sound's name, said in messages
MAX_FILTERS = 64  # --video, --lang, --speaker values in one request
TEXT_SOURCES = ("asr", "ocr", "subtitle")
# The page's "source": segments a signal alone found (frames, audio), or whose cue is of a source.
SHOWN = ("frames", "audio", *TEXT_SOURCES)
# Ranking more than a page when segments are dropped after ranking, so that the page stays full.
_FILTERED_DEPTH = 4


class RequestError(VsearchError):
    """A find request that cannot be answered as asked: a usage error, said the same on every road."""

    exit_code = 2


class NotIndexed(VsearchError):
    """A video or folder named is not in the index."""


@dataclass(frozen=True, kw_only=True)
class FindRequest:
    """What to find and where: a text query, a picture (file bytes), both, or a sound alone."""

    k: int  # segments per answer: find.top_k on the command line, serve.page on the page
    query: str = ""
    offset: int = 0
    videos: tuple[str, ...] = ()  # an indexed file, or a folder meaning the files under it
    sources: tuple[str, ...] = ()  # text of these sources only (frames and sounds still count)
    shown: str = ""  # one of SHOWN: only segments found that way
    languages: tuple[str, ...] = ()  # only segments whose cue is in one of these languages
    speakers: tuple[str, ...] = ()
    picture: bytes | None = None
    sound: bytes | None = None
    sound_file: Path | None = None  # a sound too large to send, heard from its file in this process
    name: str = ""  # the picture's or sound's name, for messages
    all: bool = False  # every moment found, under the bar too (find.min_score, find.background, find.min_coverage)

    def checked(self) -> "FindRequest":
        """This request with its query stripped, or a RequestError saying what to change."""
        query = checked_query(self.query, empty_ok=self.picture is not None or self.heard)
        if self.heard and (query or self.picture is not None):
            raise RequestError("give a sound alone: a sound is not searched together with text or a picture")
        _within("k", self.k, 1, MAX_TOP_K)
        _within("offset", self.offset, 0, MAX_OFFSET)
        if not set(self.sources) <= set(TEXT_SOURCES):
            raise RequestError(f"sources must be among {', '.join(TEXT_SOURCES)}")
        if self.shown and self.shown not in SHOWN:
            raise RequestError(f"source must be one of {', '.join(SHOWN)}")
        for name, values in (("video", self.videos), ("lang", self.languages), ("speaker", self.speakers),
                             ("sources", self.sources)):
            if len(values) > MAX_FILTERS or any(len(v) > 4096 for v in values):
                raise RequestError(f"at most {MAX_FILTERS} {name} values of at most 4096 characters each")
        if any("\0" in v for v in self.videos):  # no file is named so (and a path cannot hold one)
            raise NotIndexed("not indexed: a video path with a NUL character (see `vsearch list`)")
        return replace(self, query=query, name=self.name[:MAX_NAME], videos=tuple(v for v in self.videos if v),
                       languages=tuple(v for v in self.languages if v), speakers=tuple(v for v in self.speakers if v),
                       sources=tuple(dict.fromkeys(self.sources)))

    @property
    def heard(self) -> bool:
        """Whether the request is a sound (its bytes, or its file where too large to send)."""
        return self.sound is not None or self.sound_file is not None

    @property
    def filtered(self) -> bool:
        return bool(self.shown or self.languages or self.speakers)

    def options(self, base):
        """The find options (query/search.py FindOptions) of this request over the settings' `base`."""
        wanted = (self.offset + self.k) * (_FILTERED_DEPTH if self.filtered else 1)
        options = replace(base.bare() if self.all else base, top_k=min(MAX_TOP_K, wanted))
        if self.shown in ("frames", "audio"):
            return replace(options, weights={self.shown: 1.0})
        if self.shown or self.sources:
            return replace(options, sources=(self.shown,) if self.shown else self.sources)
        return options

    def select(self, found: list) -> list:
        """The page of ranked segments this request asks for, its filters applied."""
        kept = [s for s in found if (not self.shown or s.source == self.shown)
                and (not self.languages or s.lang in self.languages)
                and (not self.speakers or s.speaker in self.speakers)]
        return kept[self.offset : self.offset + self.k]

    def params(self) -> list[tuple[str, str]]:
        """The request as query parameters (its picture or sound travels beside them)."""
        pairs = [("q", self.query), ("k", str(self.k)), ("offset", str(self.offset)), ("source", self.shown),
                 ("name", self.name), ("all", "1" if self.all else "")]
        pairs += [(name, v) for name, values in (("video", self.videos), ("sources", self.sources),
                                                 ("lang", self.languages), ("speaker", self.speakers)) for v in values]
        return [(name, value) for name, value in pairs if value]


def from_params(params, default_k: int, picture: bytes | None = None, sound: bytes | None = None) -> FindRequest:
    """The checked request that query parameters or form fields (`get`, `getlist`) describe."""
    return FindRequest(query=params.get("q") or "", k=_integer(params, "k", default_k),
                       offset=_integer(params, "offset", 0), videos=tuple(params.getlist("video")),
                       sources=tuple(params.getlist("sources")), shown=params.get("source") or "",
                       languages=tuple(params.getlist("lang")), speakers=tuple(params.getlist("speaker")),
                       picture=picture, sound=sound, name=params.get("name") or "",
                       all=_integer(params, "all", 0) == 1).checked()


def checked_query(text: str, empty_ok: bool = False) -> str:
    """A query's text, stripped; a RequestError for one empty (unless `empty_ok`) or too long."""
    query = text.strip()
    if not (query or empty_ok):
        raise RequestError("the query is empty; say what you are looking for")
    if len(query) > MAX_QUERY:
        raise RequestError(f"the query is over {MAX_QUERY} characters")
    return query


def _integer(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise RequestError(f"{name} must be a whole number")
    return int(raw)


def _within(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(f"{name} must be between {low} and {high}")


def read_file(path: Path, what: str, whole: bool = False) -> bytes | None:
    """The bytes of a query's picture or sound file, or None for one too large to send a server
    (unless `whole`); an error naming a file that cannot be read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read() if whole else fh.read(MAX_UPLOAD_BYTES + 1)
    except OSError as exc:
        raise VsearchError(f"{display(str(path))}: cannot read the {what} ({exc.strerror})") from None
    return data if whole or len(data) <= MAX_UPLOAD_BYTES else None


def from_files(query: str = "", picture: Path | None = None, sound: Path | None = None, **fields) -> FindRequest:
    """The checked request of a command line: checked before any file is read; the picture read
    whole, the sound unless too large to send a server (then heard from its file here)."""
    named = picture if picture is not None else sound
    # A server runs in another folder: paths travel absolute.
    videos = tuple(str(absolute(v)) if v and "\0" not in v else v for v in fields.pop("videos", ()))
    request = FindRequest(query=query, picture=b"" if picture else None, sound=b"" if sound else None,
                          name=display(named.name) if named is not None else "", videos=videos, **fields).checked()
    if picture is not None:
        return replace(request, picture=read_file(picture, "picture", whole=True))
    if sound is not None:
        data = read_file(sound, "sound")
        return replace(request, sound=data, sound_file=None if data is not None else sound)
    return request
