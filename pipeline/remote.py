"""`find` through a running `vsearch serve` on the same index, found through a file in the home.

A CLI query otherwise imports torch and loads the models (seconds); a server has them loaded, so
this path imports only the standard library.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .api import absolute
from .settings import Settings

NAME = "serve.json"


def announce(settings: Settings, url: str) -> Path:
    """Write the file `find` looks for: where this server listens, for which index, its token."""
    path = settings.home / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(f".{os.getpid()}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold the token
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"url": url, "pid": os.getpid(), "index": _index(settings), "token": settings["serve.token"]}, out)
    part.replace(path)
    return path


def withdraw(settings: Settings) -> None:
    """Remove the file, if it is still this process's."""
    path = settings.home / NAME
    try:
        if json.loads(path.read_text("utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _index(settings: Settings) -> list[str]:
    config = settings.store_config()
    return [config.uri, config.collection]


def _server(settings: Settings) -> dict | None:
    """The announced server of this index, if its process is alive."""
    try:
        found = json.loads((settings.home / NAME).read_text("utf-8"))
        os.kill(int(found["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if found.get("index") == _index(settings) else None


def _ask(settings: Settings, path: str, body: dict | None = None) -> dict | None:
    """The JSON answer of the announced server to GET `path` (POST `body`), or None without one."""
    server = _server(settings) if settings["find.use_server"] else None
    if server is None:
        return None
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(server["url"] + path, data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    if server.get("token"):
        request.add_header("Authorization", f"Bearer {server['token']}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _segments(results: list[dict]) -> list:
    from vsearch.query.types import Segment

    fields = Segment.__dataclass_fields__
    return [Segment(**{k: int(v) if k == "video_id" else v for k, v in r.items() if k in fields}) for r in results]


def find(settings: Settings, query: str, videos=(), top_k: int | None = None, sources=()) -> tuple | None:
    """(segments, why signals were left out) from the running server, or None when there is none
    to ask (or it did not answer)."""
    params = [("q", query), ("k", str(top_k or settings["find.top_k"]))]
    params += [("video", str(absolute(v))) for v in videos]
    params += [("sources", s) for s in sources]
    body = _ask(settings, f"/api/find?{urllib.parse.urlencode(params)}")
    return None if body is None else (_segments(body.get("results", [])), body.get("notes") or {})


def rank(settings: Settings, query: str, variants: list) -> tuple[str, list[list]] | None:
    """(model, a ranking per option set) from the running server, as `find_many` gives them; None without one."""
    from dataclasses import asdict

    body = _ask(settings, "/api/rank", {"query": query, "variants": [asdict(v) for v in variants]})
    if body is None or "rankings" not in body:
        return None
    return body["model"], [_segments(found) for found in body["rankings"]]
