"""`find` through a running `vsearch serve` on the same index, found through a file in the home.

A CLI query otherwise imports the model runtimes and loads the models (seconds); a server has
them loaded, so this path imports only the standard library. A server answers only queries made
with its own settings (models, engine, ranking): another `--config` is answered in the process.
"""

import hashlib
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from vsearch.extract.errors import VsearchError

from .request import MAX_UPLOAD_BYTES, FindRequest
from .settings import NOT_RANKING, Settings
from .wire import Answer, answer_of, segment_of

NAME = "serve.json"
# The settings a server's answers depend on besides the query; top_k travels with each request.
_RANKING = ("model", "text_model", "audio.model", "picture_model", "device", "dtype", "engine", "engine_precision",
            "audio.query_seconds")
_PER_REQUEST = ("find.top_k", *NOT_RANKING)


# The server is on this machine: an http_proxy in the environment must never see its token or
# the queries, nor answer in its place.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerRefused(VsearchError):
    """The server answered the query with an error (a picture it cannot read, no sounds indexed)."""


def fingerprint(settings: Settings) -> str:
    """What a server's rankings depend on: the same for a `find` whose settings rank the same."""
    keys = [k for k in settings.values if k in _RANKING or (k.startswith("find.") and k not in _PER_REQUEST)]
    # An explicit model outranks the index's own (api.load_models), so being set counts too.
    shown = [(k, settings[k], k in settings.explicit) for k in sorted(keys)]
    return hashlib.sha256(json.dumps(shown, default=str).encode("utf-8")).hexdigest()[:16]


def announce(settings: Settings, url: str, started_by: str = "serve", idle: float = 0.0) -> Path:
    """Write the file `find` looks for: where this server listens, for which index and settings, its token."""
    path = settings.home / NAME
    make_home(settings.home)
    part = path.with_suffix(f".{os.getpid()}.part")
    part.unlink(missing_ok=True)  # one this pid left before; EXCL and NOFOLLOW: never through a link
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)  # it holds the token
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"url": url, "pid": os.getpid(), "index": _index(settings), "settings": fingerprint(settings),
                   "token": settings["serve.token"], "started_by": started_by, "idle": idle}, out)
    part.replace(path)
    return path


def make_home(home: Path) -> None:
    """The home, made readable by its owner only where vsearch makes it: it holds the index and
    files with the server's token."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)


def withdraw(settings: Settings, pid: int | None = None) -> None:
    """Remove the file, if it is still this process's (or `pid`'s)."""
    path = settings.home / NAME
    try:
        if json.loads(path.read_text("utf-8")).get("pid") == (pid or os.getpid()):
            path.unlink()
    except (OSError, ValueError):
        pass


def _index(settings: Settings) -> list[str]:
    config = settings.store_config()
    return [config.uri, config.collection]


def announced(settings: Settings) -> dict | None:
    """The server announced in this home, whatever its index, if its process is alive."""
    try:
        found = json.loads((settings.home / NAME).read_text("utf-8"))
        os.kill(int(found["pid"]), 0)
    except PermissionError:  # alive, another user's
        return found
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found


def usable(settings: Settings, server: dict | None) -> bool:
    """Whether `server` answers this process's queries: the same index, ranked with the same settings."""
    return (server is not None and settings["find.use_server"] and server.get("index") == _index(settings)
            and server.get("settings") == fingerprint(settings))


def request(server: dict, path: str, body: bytes | None = None, content_type: str = "", timeout: float = 60):
    """The JSON answer of `server` to GET `path` (POST `body`); ServerRefused for an answer with an
    error, OSError or ValueError when it cannot be reached or is not a vsearch server."""
    req = urllib.request.Request(server["url"] + path, data=body,
                                 headers={"Content-Type": content_type} if content_type else {})
    if server.get("token"):
        req.add_header("Authorization", f"Bearer {server['token']}")
    try:
        with _DIRECT.open(req, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode("utf-8"))["error"]
        except (OSError, ValueError, KeyError, TypeError):
            raise OSError(f"HTTP {exc.code}") from None
        raise ServerRefused(message) from None


def answers(server: dict) -> bool:
    """Whether the process announced is a vsearch server that answers (its pid may have been reused)."""
    try:
        return request(server, "/api/ping", timeout=5).get("pid") == server.get("pid")
    except (OSError, ValueError, AttributeError, ServerRefused):
        return False


def _ask(settings: Settings, path: str, body: bytes | None = None, content_type: str = "") -> dict | None:
    """The usable server's JSON answer, or None without one (or when it did not answer)."""
    server = announced(settings)
    if not usable(settings, server):
        return None
    try:
        return request(server, path, body, content_type)
    except (OSError, ValueError):
        return None


def _multipart(field: str, data: bytes, params: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body of one file (under a fixed name: the real one stays here) and fields."""
    boundary = secrets.token_hex(16)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode(
        "utf-8", "surrogateescape") + b"\r\n" for name, value in params]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="upload"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def can_send(request: FindRequest) -> bool:
    """Whether a server can be sent the request: its picture or sound within what a server takes."""
    return request.sound_file is None and len(request.picture or request.sound or b"") <= MAX_UPLOAD_BYTES


def find(settings: Settings, request: FindRequest) -> Answer | None:
    """The running server's answer to a request (FindRequest.params, its picture or sound as a
    file); None when there is no server to ask (or it did not answer)."""
    params = request.params()
    upload = ("audio", request.sound) if request.sound is not None else ("image", request.picture)
    if upload[1] is None:
        body = _ask(settings, "/api/find?" + urllib.parse.urlencode(params, errors="surrogateescape"))
    else:
        body = _ask(settings, "/api/find", *_multipart(upload[0], upload[1], params))
    return None if body is None else answer_of(body)


def rank(settings: Settings, query: str, variants: list) -> tuple[str, list[list]] | None:
    """(model, a ranking per option set) from the running server, as `find_many` gives them; None without one."""
    from dataclasses import asdict

    body = _ask(settings, "/api/rank", json.dumps({"query": query, "variants": [asdict(v) for v in variants]})
                .encode("utf-8"), "application/json")
    if body is None or "rankings" not in body:
        return None
    return body["model"], [[segment_of(r) for r in found] for found in body["rankings"]]
