"""The server `find` starts for a terminal session, so every find after the first answers at once.

A `find` typed at a terminal with no server for its index starts `vsearch serve` detached from
the terminal (its log in the home's serve.log), waits for it to listen and asks it. That server
exits after `serve.idle` minutes without a request. Scripts, pipes, cron and CI never start one:
their stdin or stdout is not a terminal, or CI is set.
"""

import fcntl
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable

from vsearch.extract.errors import VsearchError

from . import remote
from .settings import Settings, env_name

LOG = "serve.log"
_WAIT_SECONDS = 600  # a first run may export the models to ONNX (minutes for the largest)
# `python -m vsearch` would put the current folder first on the path, and the folder holding a
# clone has a vsearch/ folder that is not the package: the server imports the installed one.
_ENTRY = "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; from vsearch.cli import main; main()"


def wanted(settings: Settings) -> bool:
    """Whether this `find` may start a server: interactive, allowed by settings, none running."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")
    if not (interactive and settings["find.resident"] == "auto" and settings["find.use_server"]):
        return False
    server = remote.announced(settings)
    return server is None or not remote.answers(server)


def _environment(settings: Settings) -> dict[str, str]:
    """The child's environment: every setting this process was given, as VSEARCH_* variables, so
    it opens the same index with the same models; loopback only, with a token of its own."""
    env = dict(os.environ)
    for key in settings.explicit:
        value = settings[key]
        env[env_name(key)] = ",".join(value) if isinstance(value, list) else str(value).lower() \
            if isinstance(value, bool) else str(value)
    env[env_name("home")] = str(settings.home.absolute())
    env[env_name("serve.host")] = "127.0.0.1"
    env[env_name("serve.token")] = settings["serve.token"] or secrets.token_urlsafe(18)
    return env


def start(settings: Settings, say: Callable[[str], None]) -> bool:
    """Start a background server for this index and wait until it listens; False (with a line
    said) when it could not start, and the caller answers the query itself."""
    home = settings.home
    remote.make_home(home)
    with open(home / "serve.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two terminals asking at once start one server
        server = remote.announced(settings)
        if server is not None and remote.answers(server):
            return remote.usable(settings, server)
        say(f"vsearch: starting a server for this index, so the next finds answer at once "
            f"(it exits after {settings['serve.idle']:g} min idle; `vsearch serve --stop` ends it now)")
        log = os.fdopen(os.open(home / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        os.fchmod(log.fileno(), 0o600)  # one an older vsearch made readable by all
        try:
            child = subprocess.Popen([sys.executable, "-c", _ENTRY, "serve", "--port", "0", "--idle",
                                      str(settings["serve.idle"]), "--started-by", "find"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_environment(settings),
                                     start_new_session=True)  # Ctrl-C or closing the terminal leaves it be
        finally:
            log.close()
        deadline = time.monotonic() + _WAIT_SECONDS
        while time.monotonic() < deadline:
            if child.poll() is not None:
                say(f"vsearch: no server started ({_last_line(home / LOG)}); answering here")
                return False
            server = remote.announced(settings)
            if server is not None and server.get("pid") == child.pid:
                return True
            time.sleep(0.1)
        say(f"vsearch: the server is still starting (see {home / LOG}); answering here")
        return False


def _last_line(log) -> str:
    """The log's last line, where a server that could not start said why."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
            lines = fh.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1].removeprefix("vsearch: error: ") if lines else f"see {log}"


def retire(settings: Settings) -> None:
    """Stop the server a `find` started in this home, if one runs: a `vsearch serve` takes its place."""
    server = remote.announced(settings)
    if server is not None and server.get("started_by") == "find":
        stop(settings)


def stop(settings: Settings) -> str:
    """Stop the server of this home; what was done, as a line."""
    import signal

    server = remote.announced(settings)
    if server is None:
        return f"no server is running for {settings.home}"
    pid = int(server["pid"])
    if not remote.answers(server):
        remote.withdraw(settings, pid)  # a server killed outright left its file; the pid is someone else's now
        return f"no server is running for {settings.home} (removed the file of one that was killed)"
    try:
        os.kill(pid, signal.SIGTERM)
    except PermissionError:
        raise VsearchError(f"the server (pid {pid}) belongs to another user: stop it as that user") from None
    except ProcessLookupError:
        return f"no server is running for {settings.home}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"stopped the server at {server['url']} (pid {pid})"
        time.sleep(0.1)
    raise VsearchError(f"the server (pid {pid}) did not stop within 20 s; `kill {pid}` stops it")


def describe(settings: Settings) -> str | None:
    """`status`'s line of the server running for this home, or None."""
    server = remote.announced(settings)
    if server is None:
        return None
    by = "started by find, " if server.get("started_by") == "find" else ""
    idle = f"exits after {server['idle']:g} min without a request" if server.get("idle") else "runs until stopped"
    other = "" if remote.usable(settings, server) else "; its index or settings differ from these, so finds are answered in this process"
    return f"server: {server['url']} (pid {server['pid']}, {by}{idle}; `vsearch serve --stop` ends it){other}"
