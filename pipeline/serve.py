"""`vsearch serve`: the search page and its API (web.py), with the models loaded once and the index open.

This module starts and stops the server: the socket, the file `find` finds it by (remote.py),
the idle timer, and a private folder for its runtime files where the home cannot be written.
"""

import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from vsearch.extract.errors import VsearchError

from .settings import Settings
from .web_guard import is_loopback


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


def _runtime(settings: Settings) -> Path:
    """Where the server keeps its thumbnails: the home's cache, else (a read-only home, which is
    still searchable) a private temporary folder, removed when the process ends."""
    cache = settings.home / "cache"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=cache).close()
        return cache
    except OSError:
        import atexit
        import shutil

        private = Path(tempfile.mkdtemp(prefix="vsearch-serve-"))  # 0700
        atexit.register(shutil.rmtree, private, ignore_errors=True)
        return private


def run(settings: Settings, host: str | None = None, port: int | None = None, token: str | None = None,
        open_browser: bool = False, idle: float = 0.0, started_by: str = "serve") -> None:
    """Serve until interrupted (or `idle` minutes without a request, when above 0); `find` on this
    index goes through this server meanwhile."""
    import threading
    import time

    import uvicorn

    from . import remote
    from .session import EMPTY, index_meta
    from .resident import Resident
    from .settings import load_settings
    from .web import create_app

    flags = {"serve.host": host, "serve.token": token}
    if any(v is not None for v in flags.values()):
        settings = load_settings(None, {**{k: settings[k] for k in settings.explicit}, **flags})
    host, token = settings["serve.host"], settings["serve.token"]
    port = settings["serve.port"] if port is None else port  # 0, a free port, is no setting
    if not is_loopback(host) and not token:
        raise VsearchError(f"serving on {host} exposes the index to the network: give it a token "
                           "(VSEARCH_SERVE_TOKEN or --serve-token, 16 characters or more), or keep 127.0.0.1")
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
        app = create_app(settings, Resident(settings, meta), _runtime(settings))
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    # The token goes to a terminal only: never into a log (a background server's serve.log).
    page = url + (f"/?token={quote(token, safe='')}" if token and sys.stdout.isatty() else "/")
    activity = app.state.activity

    def watch():
        """Ask the server to end once no request came for `idle` minutes."""
        while not server.should_exit:
            time.sleep(min(5.0, idle * 15))
            if activity.busy == 0 and time.monotonic() - activity.last_request > idle * 60:
                server.should_exit = True

    async def started():
        try:
            remote.announce(settings, url, started_by, idle)
        except OSError as exc:  # a read-only home is searchable: served, but `find` cannot find it
            print(f"vsearch: cannot write {settings.home / remote.NAME} ({exc.strerror}): finds answer in "
                  "their own process", flush=True)
        print(f"vsearch: serving {settings.store_config().uri} at {page}  (Ctrl-C stops)"
              + (f"; open it with ?token=TOKEN (the token is in {settings.home / remote.NAME})"
                 if token and "token=" not in page else ""), flush=True)
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
