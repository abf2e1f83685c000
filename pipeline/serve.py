"""`vsearch serve`: the search page and its API, with the models loaded once and the index open.

Media, thumbnails and clips are addressed by indexed video id only: a path never comes from a
request. Everything the index holds is sent as JSON and put on the page as text.
"""

import contextlib
import hmac
import ipaddress
import json
import os
import tempfile
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

from vsearch.errors import MediaError, VsearchError
from vsearch.extract.paths import display, escape_json
from vsearch.extract.types import Source

from .api import MAX_UPLOAD_BYTES
from .render import player_line, segment_json
from .resident import Resident
from .settings import Settings

# Containers browsers play from a file URL; others get the mpv/ffplay line on the page.
PLAYABLE = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".ogv"}
SOURCES = {"frames", "audio", *Source}
_COOKIE = "vsearch_token"


class HttpError(Exception):
    """An answer other than 200, with a message safe to show."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def is_loopback(host: str) -> bool:
    """Whether binding `host` exposes the server to this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def create_app(settings: Settings, resident: Resident | None = None):
    """The Starlette application; `resident` holds the models and the index (made here if not given)."""
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    class Json(JSONResponse):
        """JSON whose undecodable file-name bytes travel as \\udcNN escapes, as `find --json` writes them."""

        def render(self, content) -> bytes:
            return escape_json(json.dumps(content, ensure_ascii=False, separators=(",", ":"))).encode("utf-8")

    resident = resident or Resident(settings)
    token = settings["serve.token"]
    static = Path(str(resources.files("vsearch").joinpath("static")))
    thumbs = settings.home / "cache" / "thumbs"
    page_size = settings["serve.page"]

    def result(seg) -> dict:
        name = display(Path(seg.video).name)
        return {**segment_json(seg), "video_id": str(seg.video_id), "name": name,
                "thumb": f"/thumb/{seg.video_id}/{max(seg.best_frame or seg.seek, 0):.1f}",
                "media": f"/media/{seg.video_id}", "clip": f"/clip/{seg.video_id}?start={seg.start:g}&end={seg.end:g}",
                "playable": Path(seg.video).suffix.lower() in PLAYABLE,
                "player": player_line(seg)}

    def record(video_id: int):
        """The indexed, existing video of an id (a URL carries it as digits: a JSON number loses
        a 63-bit id's last digits in a browser); 404 for anything else."""
        found = resident.record(video_id) if 0 <= video_id < 1 << 63 else None
        if found is None or found.state != "done" or not os.path.isfile(found.path):
            raise HttpError(404, "no such video")
        return found

    def asked_record(request):
        """The video of the request's `video_id` parameter (digits), as `record` finds it."""
        given = request.query_params.get("video_id") or ""
        return record(int(given) if given.isascii() and given.isdigit() else -1)

    def find_text(params, picture: bytes | None = None) -> tuple[list, dict[str, str], list[str], int]:
        """(a page of the segments a text query, with a picture (image file bytes) or not, finds,
        why signals were left out, videos gone, the page size)."""
        query = (params.get("q") or "").strip()
        if not query:
            raise HttpError(400, "the query is empty; say what you are looking for")
        if len(query) > 1000:
            raise HttpError(400, "the query is over 1000 characters")
        k = _number(params, "k", page_size, 1, 200, int)
        offset = _number(params, "offset", 0, 0, 1000, int)
        source = params.get("source") or ""
        if source and source not in SOURCES:
            raise HttpError(400, f"source must be one of {', '.join(sorted(SOURCES))}")
        lang, speaker = params.get("lang") or "", params.get("speaker") or ""
        wanted = offset + k
        if source or lang or speaker:  # filters applied after ranking: rank more to fill a page
            wanted *= 4
        options = replace(settings.find_options(), top_k=min(1000, wanted))
        if source in ("frames", "audio"):
            options = replace(options, weights={source: 1.0})
        elif source:
            options = replace(options, sources=(source,))
        elif params.getlist("sources"):  # as `find --source`: text of these sources only, frames too
            sources = tuple(params.getlist("sources"))
            if not set(sources) <= SOURCES - {"frames", "audio"}:
                raise HttpError(400, "sources must be asr, ocr or subtitle")
            options = replace(options, sources=sources)
        found, notes, gone = resident.find(query, options, params.getlist("video"), picture)
        found = [s for s in found if (not source or s.source == source) and (not lang or s.lang == lang)
                 and (not speaker or s.speaker == speaker)]
        return found[offset : offset + k], notes, gone, k

    def answer(fn):
        async def endpoint(request):
            try:
                if token and not _authorised(request, token):
                    raise HttpError(401, "this server needs its token: open the page with ?token=TOKEN, "
                                         "or send Authorization: Bearer TOKEN")
                response = await fn(request)
            except HttpError as exc:
                response = Json({"error": str(exc)}, exc.status)
            except MediaError as exc:
                response = Json({"error": str(exc)}, 400)
            except VsearchError as exc:
                response = Json({"error": str(exc)}, 503)
            if token and request.query_params.get("token") and response.status_code < 400:
                response.set_cookie(_COOKIE, token, httponly=True, samesite="strict")
            return response
        return endpoint

    async def page(request):
        return FileResponse(static / "index.html", headers={"Cache-Control": "no-store"})

    async def favicon(request):
        return FileResponse(static / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "max-age=86400"})

    async def find(request):
        if request.method == "POST":
            if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
                raise HttpError(413, "the upload is over 20 MB")
            form = await request.form(max_files=1, max_fields=64)
            field = "audio" if form.get("audio") is not None else "image"
            upload = form.get(field)
            if upload is None or not hasattr(upload, "read"):
                raise HttpError(400, "send a picture as the multipart field 'image', or a sound as 'audio'")
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise HttpError(413, "the upload is over 20 MB")
            if field == "image" and (form.get("q") or "").strip():  # a text query with the picture: one ranking
                found, notes, gone, k = await run_in_threadpool(find_text, form, data)
                return Json({"results": [result(s) for s in found], "notes": notes, "gone": gone, "k": k})
            k = _number(form, "k", page_size, 1, 200, int)
            search = resident.find_sound if field == "audio" else resident.find_picture
            found, gone = await run_in_threadpool(search, data, k, form.getlist("video"))
            return Json({"results": [result(s) for s in found], "notes": {}, "gone": gone, "k": k})
        found, notes, gone, k = await run_in_threadpool(find_text, request.query_params)
        return Json({"results": [result(s) for s in found], "notes": notes, "gone": gone, "k": k})

    async def export(request):
        """The moments a text query finds (the /api/find parameters) as an edit list to download."""
        from .api import edit_list_text
        from .timeline import FORMATS

        suffix = "." + (request.query_params.get("format") or "otio")
        if suffix not in FORMATS:
            raise HttpError(400, f"format must be one of {', '.join(f[1:] for f in FORMATS)}")
        found, _, _, _ = await run_in_threadpool(find_text, request.query_params)
        if not found:
            raise HttpError(404, "no matching moments to export")
        text = await run_in_threadpool(edit_list_text, found, suffix, request.query_params.get("q", ""))
        return Response(text, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="moments{suffix}"'})

    async def rank(request):
        """One query under several option sets, as `vsearch eval` ranks it (find_many)."""
        from vsearch.query import FindOptions

        try:
            body = await request.json()
            query = str(body["query"])
            variants = [FindOptions(**{**v, "sources": tuple(v.get("sources") or ())}) for v in body["variants"]]
        except (ValueError, KeyError, TypeError):
            raise HttpError(400, "send JSON: {\"query\": ..., \"variants\": [find options, ...]}") from None
        if not query.strip() or len(query) > 1000 or not 1 <= len(variants) <= 16:
            raise HttpError(400, "one query of at most 1000 characters, 1 to 16 variants")
        rankings = await run_in_threadpool(resident.rank, query, variants)
        return Json({"model": resident.encoder.model_id,
                             "rankings": [[result(s) for s in found] for found in rankings]})

    async def similar(request):
        rec = asked_record(request)
        t = _number(request.query_params, "t", 0, 0, max(rec.duration, 0), float)
        k = _number(request.query_params, "k", page_size, 1, 200, int)
        found = await run_in_threadpool(resident.similar, rec, t, k)
        return Json({"results": [result(s) for s in found]})

    async def chapters(request):
        found = await run_in_threadpool(resident.chapters, asked_record(request))
        return Json({"chapters": [{"start": c.start, "end": c.end, "title": c.title, "why": c.why} for c in found]})

    async def videos(request):
        listed = await run_in_threadpool(resident.videos)
        return Json({"videos": [{"video_id": str(r.id), "path": display(r.path),
                                         "name": display(Path(r.path).name), "duration": r.duration}
                                        for r in listed if r.state == "done"]})

    async def media(request):
        rec = record(request.path_params["video_id"])
        # FileResponse answers Range requests (206, and 416 past the end) itself.
        return FileResponse(rec.path, headers={"Cache-Control": "no-cache"})

    async def thumb(request):
        from vsearch.extract.pictures import thumbnail

        rec = record(request.path_params["video_id"])
        t = _number(request.path_params, "t", 0, 0, 1e7, float)
        cached = thumbs / str(rec.id) / f"{round(t * 10)}.jpg"  # made of integers only
        if not cached.is_file():
            data = await run_in_threadpool(thumbnail, Path(rec.path), t)
            if data is None:
                raise HttpError(404, "no frame at that time")
            cached.parent.mkdir(parents=True, exist_ok=True)
            part = cached.with_suffix(f".{os.getpid()}.part")
            part.write_bytes(data)
            part.replace(cached)
        return FileResponse(cached, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})

    async def clip(request):
        from vsearch.extract.export import clip_bounds, export_clip

        rec = record(request.path_params["video_id"])
        start = _number(request.query_params, "start", -1, -1e9, 1e9, float)
        end = _number(request.query_params, "end", -1, -1e9, 1e9, float)
        try:
            start, end = clip_bounds(start, end, rec.duration, settings["serve.max_clip"])
        except MediaError as exc:
            raise HttpError(400, str(exc)) from None
        handle, name = tempfile.mkstemp(prefix="vsearch-clip-", suffix=".mp4")
        os.close(handle)
        out = Path(name)
        await run_in_threadpool(export_clip, Path(rec.path), start, end, out)
        stem = display(Path(rec.path).stem)
        return FileResponse(out, media_type="video/mp4", filename=f"{stem}-{start:g}-{end:g}.mp4",
                            background=BackgroundTask(out.unlink, missing_ok=True))

    async def ping(request):
        return Json({"pid": os.getpid()})

    class NoSniff(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            # When the last request came and how many are running: an idle server ends (run()).
            request.app.state.busy += 1
            try:
                response = await call_next(request)
            finally:
                request.app.state.busy -= 1
                request.app.state.last_request = time.monotonic()
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; "
                                                           "media-src 'self'; object-src 'none'")
            return response

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
        Route("/media/{video_id:int}", answer(media)),
        Route("/thumb/{video_id:int}/{t}", answer(thumb)),
        Route("/clip/{video_id:int}", answer(clip)),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        resident.close()

    app = Starlette(routes=routes, middleware=[Middleware(NoSniff)], lifespan=lifespan)
    app.state.resident = resident
    app.state.busy, app.state.last_request = 0, time.monotonic()
    return app


def _authorised(request, token: str) -> bool:
    """The token from the Authorization header, the page's cookie or ?token=, compared in constant time."""
    given = request.headers.get("authorization", "")
    given = given[7:] if given.lower().startswith("bearer ") else ""
    given = given or request.cookies.get(_COOKIE, "") or request.query_params.get("token", "")
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape"))


class PortInUse(VsearchError):
    """Another process listens on the address `serve` was asked for."""

    exit_code = 3


def listen(host: str, port: int):
    """A socket bound to host:port (0: any free port), before anything is loaded; PortInUse when taken."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise VsearchError(f"cannot listen on {host}: {exc.strerror} (--host)") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is in use: give another with --port (or serve.port), "
                            "or end a vsearch server with `vsearch serve --stop`") from None
        raise VsearchError(f"cannot listen on {host}:{port} ({exc.strerror}); try another --host or --port") from None
    return sock


def run(settings: Settings, host: str | None = None, port: int | None = None, token: str | None = None,
        open_browser: bool = False, idle: float = 0.0, started_by: str = "serve") -> None:
    """Serve until interrupted (or `idle` minutes without a request, when above 0); `find` on this
    index goes through this server meanwhile."""
    import threading
    import time

    import uvicorn

    from . import remote
    from .api import EMPTY, index_meta
    from .settings import load_settings

    flags = {"serve.host": host, "serve.token": token}
    if any(v is not None for v in flags.values()):
        settings = load_settings(None, {**{k: settings[k] for k in settings.explicit}, **flags})
    host, token = settings["serve.host"], settings["serve.token"]
    port = settings["serve.port"] if port is None else port  # 0, a free port, is no setting
    if not is_loopback(host) and not token:
        raise VsearchError(f"serving on {host} exposes the index to the network: give it a token "
                           "(--serve-token or VSEARCH_SERVE_TOKEN, 8 characters or more), or keep 127.0.0.1")
    sock = listen(host, port)
    try:
        meta = None
        if started_by == "find":
            # Nothing to keep loaded for an empty index (`find` says so itself); the meta row read
            # here is the one the models are chosen by, so the index is opened once at start-up.
            meta = index_meta(settings)
            if meta is None:
                raise VsearchError(EMPTY)
        else:
            from .background import retire

            retire(settings)  # one server per home: the one a find started would only hold memory
        app = create_app(settings, Resident(settings, meta))
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    page = url + (f"/?token={token}" if token else "/")

    def watch():
        """Ask the server to end once no request came for `idle` minutes."""
        while not server.should_exit:
            time.sleep(min(5.0, idle * 15))
            if app.state.busy == 0 and time.monotonic() - app.state.last_request > idle * 60:
                server.should_exit = True

    async def started():
        remote.announce(settings, url, started_by, idle)
        print(f"vsearch: serving {settings.store_config().uri} at {page}  (Ctrl-C stops)", flush=True)
        if idle > 0:
            threading.Thread(target=watch, daemon=True, name="vsearch-idle").start()
        if open_browser:
            import webbrowser

            webbrowser.open(page)

    original = server.startup

    async def startup(sockets=None):
        await original(sockets)
        if server.started:
            await started()

    server.startup = startup
    try:
        server.run(sockets=[sock])
    finally:
        remote.withdraw(settings)
        sock.close()
    if not server.started:
        raise VsearchError(f"cannot serve on {host}:{port}; see the lines above")
