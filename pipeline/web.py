"""The routes of `vsearch serve`: the search page and its API over a Resident's models and index.

Media, thumbnails and clips are addressed by indexed video id only: a path never comes from a
request, and the file sent or cut is the one indexed (extract/identity.py). Everything the
index holds is sent as JSON and put on the page as text. Who may ask: web_guard.py.
"""

import contextlib
import json
import mimetypes
import os
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vsearch.extract.errors import MediaError, VsearchError
from vsearch.extract.identity import FileGone, NotIndexedFile, open_checked, pinned
from vsearch.extract.paths import display, escape_json

from .render import player_line
from .request import (MAX_FILTERS, MAX_FORM_BYTES, MAX_TOP_K, MAX_UPLOAD_BYTES, FindRequest, NotIndexed,
                      RequestError, checked_query, from_params)
from .resident import Resident
from .settings import Settings, SettingsError, find_options_from
from .thumbs import ThumbCache, slot_of, slot_time
from .web_guard import Guard
from .wire import answer_json, segment_json

# Containers browsers play from a file URL; others get the mpv/ffplay line on the page.
PLAYABLE = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".ogv"}


class HttpError(Exception):
    """An answer other than 200, with a message safe to show."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Served:
    """What every route reads: the settings, the models and index, the thumbnail cache."""

    settings: Settings
    resident: Resident
    thumbs: ThumbCache
    static: Path


def _number(params, name: str, default: float, low: float, high: float, kind=float):
    raw = params.get(name)
    if raw is None or raw == "":
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be a number") from None
    if not low <= value <= high:
        raise HttpError(400, f"{name} must be between {low:g} and {high:g}")
    return value


def page_fields(seg) -> dict:
    """What the page adds to a segment's JSON (wire.py): its name and the routes that show it."""
    return {"name": display(Path(seg.video).name),
            "thumb": f"/thumb/{seg.video_id}/{max(seg.best_frame or seg.seek, 0):.1f}",
            "media": f"/media/{seg.video_id}", "clip": f"/clip/{seg.video_id}?start={seg.start:g}&end={seg.end:g}",
            "playable": Path(seg.video).suffix.lower() in PLAYABLE, "player": player_line(seg)}


def _served(request) -> Served:
    return request.app.state.served


def _record(served: Served, raw: str):
    """The indexed video of an id given as digits (a JSON number loses a 63-bit id's last digits
    in a browser); 404 for anything else. Read without waiting for a search (Resident.record)."""
    vid = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else -1
    found = served.resident.record(vid) if 0 <= vid < 1 << 63 else None
    if found is None or found.state != "done":
        raise HttpError(404, "no such video")
    return found


# The most a /api/rank body may hold: 16 option sets of a few knobs each take a few kB.
RANK_BYTES = 1 << 16


def _declared(request, limit: int) -> int:
    """The body's declared length: 411 without one (a chunked body would be spooled whole before
    any limit applied), 413 over `limit`. The server reads no more than declared."""
    length = request.headers.get("content-length", "")
    if not (length.isascii() and length.isdigit()):
        raise HttpError(411, "send the body with a Content-Length")
    if int(length) > limit:
        raise HttpError(413, f"the body is over {limit // 1000 if limit < 1 << 20 else limit >> 20} "
                             f"{'kB' if limit < 1 << 20 else 'MB'}")
    return int(length)


async def _body(request, limit: int) -> bytes:
    """A request's body, within `limit` bytes."""
    _declared(request, limit)
    return await request.body()


def _json(content, status: int = 200):
    """JSON whose undecodable file-name bytes travel as \\udcNN escapes, as `find --json` writes them."""
    text = escape_json(json.dumps(content, ensure_ascii=False, separators=(",", ":")))
    return Response(text.encode("utf-8"), status, media_type="application/json")


def answer(fn):
    """A route whose errors are JSON answers: 4xx for the request's, 503 for the index's."""
    async def endpoint(request):
        try:
            return await fn(request)
        except HttpError as exc:
            return _json({"error": str(exc)}, exc.status)
        except FileGone:  # an indexed video's file (extract/identity.py)
            return _json({"error": "no such video"}, 404)
        except NotIndexedFile as exc:  # replaced since it was indexed
            return _json({"error": str(exc)}, 409)
        except (MediaError, SettingsError, NotIndexed, RequestError) as exc:
            return _json({"error": str(exc)}, 400)
        except VsearchError as exc:
            return _json({"error": str(exc)}, 503)
    return endpoint


async def page(request):
    return FileResponse(_served(request).static / "index.html", headers={"Cache-Control": "no-store"})


async def favicon(request):
    return FileResponse(_served(request).static / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})


async def _asked(request, served: Served) -> FindRequest:
    """The find request of a GET's parameters, or of a POST's form with a picture or a sound."""
    if request.method == "GET":
        return from_params(request.query_params, served.settings["serve.page"])
    _declared(request, MAX_UPLOAD_BYTES + MAX_FORM_BYTES)
    form = await request.form(max_files=1, max_fields=4 * MAX_FILTERS + 8, max_part_size=MAX_FORM_BYTES)
    field = "audio" if form.get("audio") is not None else "image"
    upload = form.get(field)
    if upload is None or not hasattr(upload, "read"):
        raise HttpError(400, "send a picture as the multipart field 'image', or a sound as 'audio'")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HttpError(413, "the upload is over 20 MB")
    return from_params(form, served.settings["serve.page"], **{"sound" if field == "audio" else "picture": data})


def _answered(served: Served, asked) -> dict:
    """The JSON of a request's answer, each segment with the page's fields and the words it marks."""
    from vsearch.extract.textfold import fold
    from vsearch.query.words import cue_marks, query_terms

    found = served.resident.find(asked)
    terms = query_terms(fold(asked.query)) if asked.query else []  # jieba for Chinese: not on the event loop
    return answer_json(found, asked.k, lambda s: {**page_fields(s), "marks": cue_marks(s.cue or "", terms)})


async def find(request):
    served = _served(request)
    asked = await _asked(request, served)
    return _json(await run_in_threadpool(_answered, served, asked))


async def export(request):
    """The moments a text query finds (the /api/find parameters) as an edit list to download."""
    from .outputs import edit_list_text
    from .timeline import FORMATS

    suffix = "." + (request.query_params.get("format") or "otio")
    if suffix not in FORMATS:
        raise HttpError(400, f"format must be one of {', '.join(f[1:] for f in FORMATS)}")
    served = _served(request)
    asked = from_params(request.query_params, served.settings["serve.page"])
    found = (await run_in_threadpool(served.resident.find, asked)).segments
    if not found:
        raise HttpError(404, "no matching moments to export")
    records = {s.video_id: served.resident.record(s.video_id) for s in found}
    text = await run_in_threadpool(edit_list_text, records, found, suffix, asked.query)
    return Response(text, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="moments{suffix}"'})


async def rank(request):
    """One query under several option sets, as `vsearch eval` ranks it (find_many); each set
    checked as the settings are (settings.find_options_from)."""

    served = _served(request)
    try:
        body = json.loads(await _body(request, RANK_BYTES))
        query, variants = body["query"], body["variants"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise HttpError(400, "send JSON: {\"query\": ..., \"variants\": [find options, ...]}") from None
    if not (isinstance(query, str) and isinstance(variants, list) and 1 <= len(variants) <= 16):
        raise HttpError(400, "one query and 1 to 16 variants")
    query = checked_query(query)
    base = served.settings.find_options()
    options = [find_options_from(v, f"variant {n}", base) for n, v in enumerate(variants, 1)]
    rankings = await run_in_threadpool(served.resident.rank, query, options)
    return _json({"model": served.resident.encoder.model_id,
                  "rankings": [[{**segment_json(s), **page_fields(s)} for s in found] for found in rankings]})


async def similar(request):
    served = _served(request)
    rec = _record(served, request.query_params.get("video_id") or "")
    t = _number(request.query_params, "t", 0, 0, max(rec.duration, 0), float)
    k = _number(request.query_params, "k", served.settings["serve.page"], 1, MAX_TOP_K, int)
    found = await run_in_threadpool(served.resident.similar, rec, t, k)
    return _json({"results": [{**segment_json(s), **page_fields(s)} for s in found]})


async def chapters(request):
    served = _served(request)
    rec = _record(served, request.query_params.get("video_id") or "")
    found = await run_in_threadpool(served.resident.chapters, rec)
    return _json({"chapters": [{"start": c.start, "end": c.end, "title": c.title, "why": c.why} for c in found]})


async def videos(request):
    listed = await run_in_threadpool(_served(request).resident.videos)
    # The path travels whole (the page sends it back as a filter); the name is shown.
    return _json({"videos": [{"video_id": str(r.id), "path": r.path, "name": display(Path(r.path).name),
                              "duration": r.duration} for r in listed if r.state == "done"]})


async def media(request):
    rec = _record(_served(request), request.path_params["video_id"])
    held = await run_in_threadpool(open_checked, rec.path, rec.fingerprint, rec.file)
    # FileResponse answers Range requests (206, and 416 past the end) itself.
    kind = mimetypes.guess_type(rec.path)[0] or ""  # from /etc/mime.types too: .ts may be "text/..."
    return HeldFile(held, media_type=kind if kind.startswith(("video/", "audio/")) else "application/octet-stream",
                    headers={"Cache-Control": "no-cache"})


def _thumbnail(served: Served, rec, slot: int) -> bytes | None:
    from vsearch.extract.pictures import thumbnail

    with pinned(rec.path, rec.fingerprint, rec.file) as held:
        return served.thumbs.get(rec.id, rec.fingerprint, slot,
                                 lambda: thumbnail(Path(held.path), slot_time(slot, rec.fps or 1.0, rec.duration)))


async def thumb(request):
    served = _served(request)
    rec = _record(served, request.path_params["video_id"])
    t = _number(request.path_params, "t", 0, 0, max(rec.duration, 0), float)
    data = await run_in_threadpool(_thumbnail, served, rec, slot_of(t, rec.fps or 1.0, rec.duration))
    if data is None:
        raise HttpError(404, "no frame at that time")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


def _cut(rec, start: float, end: float) -> Path:
    from vsearch.extract.export import export_clip

    handle, name = tempfile.mkstemp(prefix="vsearch-clip-", suffix=".mp4")
    os.close(handle)
    out = Path(name)
    try:
        with pinned(rec.path, rec.fingerprint, rec.file) as held:
            return export_clip(Path(held.path), start, end, out, name=rec.path)
    except BaseException:
        out.unlink(missing_ok=True)
        raise


async def clip(request):
    from vsearch.extract.export import clip_bounds

    served = _served(request)
    rec = _record(served, request.path_params["video_id"])
    start = _number(request.query_params, "start", -1, -1e9, 1e9, float)
    end = _number(request.query_params, "end", -1, -1e9, 1e9, float)
    start, end = clip_bounds(start, end, rec.duration, served.settings["serve.max_clip"])
    out = await run_in_threadpool(_cut, rec, start, end)
    return FileResponse(out, media_type="video/mp4", filename=f"{display(Path(rec.path).stem)}-{start:g}-{end:g}.mp4",
                        background=BackgroundTask(out.unlink, missing_ok=True))


async def ping(request):
    return _json({"pid": os.getpid()})


class HeldFile(FileResponse):
    """A FileResponse of an indexed file held open, closed once sent or the client has gone."""

    def __init__(self, held, **kwargs):
        super().__init__(held.path, **kwargs)
        self.fd = held.fd

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            os.close(self.fd)


def create_app(settings: Settings, resident: Resident | None = None, runtime: Path | None = None):
    """The Starlette application; `resident` holds the models and the index (made here if not
    given); `runtime` is where thumbnails are kept (the home's cache unless given)."""
    resident = resident or Resident(settings)
    static = Path(str(resources.files("vsearch").joinpath("static")))
    thumbs = ThumbCache((runtime or settings.home / "cache") / "thumbs", settings["serve.thumb_cache_mb"] << 20)
    routes = [
        Route("/", answer(page)),
        Route("/api/find", answer(find), methods=["GET", "POST"]),
        Route("/api/rank", answer(rank), methods=["POST"]),
        Route("/api/similar", answer(similar)),
        Route("/api/export", answer(export)),
        Route("/api/chapters", answer(chapters)),
        Route("/api/videos", answer(videos)),
        Route("/api/ping", answer(ping)),
        Route("/favicon.ico", answer(favicon)),
        Route("/media/{video_id}", answer(media)),
        Route("/thumb/{video_id}/{t}", answer(thumb)),
        Route("/clip/{video_id}", answer(clip)),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        resident.close()

    state = SimpleNamespace(busy=0, last_request=time.monotonic())  # requests running, the last one's time
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[
        Middleware(Guard, token=settings["serve.token"], host=settings["serve.host"],
                   extra_hosts=settings["serve.allowed_hosts"], state=state)])
    app.state.served = Served(settings, resident, thumbs, static)
    app.state.resident = resident
    app.state.activity = state
    return app
