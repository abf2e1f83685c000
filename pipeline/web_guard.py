"""Whom `vsearch serve` answers: requests to its own name, from its own page, with its token.

A web page the user visits elsewhere can make the browser send requests to 127.0.0.1 (a form's
blind POST, an <img>), or rebind its own name to 127.0.0.1 and read the answers (DNS rebinding).
So every request must name this server in `Host`, must not come from another site's page
(`Sec-Fetch-Site`, `Origin`), and with a token set must carry it; every answer forbids framing
and sniffing. docs/security.md says what each covers.
"""

import hmac
import ipaddress
import socket
import time
import hashlib
from urllib.parse import parse_qs

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a page opened with ?token= must not hand it to a link's site
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
}
# What another site may still open in a tab: the page itself (its scripts then ask same-origin).
_NAVIGABLE = {"/", "/favicon.ico"}


def is_loopback(host: str) -> bool:
    """Whether binding `host` exposes the server to this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def allowed_hosts(host: str, extra: list[str]) -> frozenset[str]:
    """The names a request's Host may give for a server bound to `host`; for a wildcard bind
    (0.0.0.0, ::) this machine's own names, IP literals being checked apart (`host_allowed`)."""
    names = {h.lower().strip("[]") for h in extra}
    if is_loopback(host):
        names |= {"localhost", "127.0.0.1", "::1", host.lower()}
    elif host in ("0.0.0.0", "::"):
        names |= {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
    else:
        names.add(host.lower().strip("[]"))
    return frozenset(names)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8765` -> `::1`; "" for a malformed one."""
    header = header.strip().lower()
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
    elif header.count(":") > 1:
        return ""  # an IPv6 address without brackets
    else:
        name, colon, port = header.partition(":")
        rest = colon + port
    return name if rest == "" or (rest[0] == ":" and rest[1:].isascii() and rest[1:].isdigit()) else ""


def host_allowed(header: str, allowed: frozenset[str], wildcard: bool) -> bool:
    """Whether a request's Host names this server: one of `allowed`, or under a wildcard bind any
    IP address (a rebinding attack needs a name)."""
    name = host_name(header)
    return bool(name) and (name in allowed or (wildcard and _is_ip(name)))


def cross_site(method: str, path: str, headers) -> bool:
    """Whether a request comes from another site's page: refused, but for opening the page itself."""
    site = headers.get("sec-fetch-site", "")
    origin = headers.get("origin")
    if method == "GET" and path in _NAVIGABLE and headers.get("sec-fetch-mode", "navigate") == "navigate":
        return False
    if site in ("cross-site", "same-site"):
        return True
    if origin is None:
        return False
    # "null" is a sandboxed frame, a file:// page or a redirect: no origin this server can trust.
    return origin.lower() != "http://" + headers.get("host", "").lower()


def cookie_name(scope) -> str:
    """One cookie per port: a browser sends 127.0.0.1's cookies to every port there."""
    server = scope.get("server") or ("", 0)
    return f"vsearch_{server[1]}"


def cookie_value(token: str) -> str:
    """What the page's cookie holds: derived from the token, so a cookie read elsewhere is not it."""
    return hmac.new(token.encode("utf-8", "surrogateescape"), b"vsearch page cookie", hashlib.sha256).hexdigest()


def _same(given: str, wanted: str) -> bool:
    """Compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), wanted.encode("utf-8", "surrogateescape"))


def authorised(scope, headers, token: str) -> tuple[bool, bool]:
    """(whether the request carries the token, whether as ?token=, to be kept in the cookie): any of
    the Authorization header, the page's cookie or the query string that matches counts."""
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and _same(bearer[7:], token):
        return True, False
    name = cookie_name(scope)
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and _same(value, cookie_value(token)):
            return True, False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(_same(given, token) for given in query.get("token", [])[:1]), True


class Guard:
    """ASGI middleware: the checks above on every request, the headers on every answer, and when
    the last request came and how many run (an idle server ends: serve.run)."""

    def __init__(self, app, token: str, host: str, extra_hosts: list[str], state):
        self.app, self.token, self.state = app, token, state
        self.allowed, self.wildcard = allowed_hosts(host, extra_hosts), host in ("0.0.0.0", "::")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.datastructures import Headers, MutableHeaders
        from starlette.responses import JSONResponse

        headers = Headers(scope=scope)
        cookie = None

        async def sending(message):
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    out[name] = value
                if cookie and message["status"] < 400:
                    out.append("set-cookie", cookie)
            await send(message)

        refusal = None
        if not host_allowed(headers.get("host", ""), self.allowed, self.wildcard):
            refusal = 421, ("this server answers only to its own address; add the name you use to "
                            "serve.allowed_hosts")
        elif cross_site(scope["method"], scope["path"], headers):
            refusal = 403, "requests from other sites' pages are refused"
        elif self.token:
            ok, in_url = authorised(scope, headers, self.token)
            if not ok:
                refusal = 401, ("this server needs its token: open the page with ?token=TOKEN, "
                                "or send Authorization: Bearer TOKEN")
            elif in_url:
                cookie = f"{cookie_name(scope)}={cookie_value(self.token)}; HttpOnly; SameSite=Strict; Path=/"
        if refusal is not None:
            return await JSONResponse({"error": refusal[1]}, refusal[0])(scope, receive, sending)
        self.state.busy += 1
        try:
            await self.app(scope, receive, sending)
        finally:
            self.state.busy -= 1
            self.state.last_request = time.monotonic()
