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
from urllib.parse import parse_qs, urlsplit

COOKIE = "vsearch_token"
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
    """The name in a Host header, without its port: `[::1]:8765` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


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
    return origin == "null" or urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


def token_given(scope, headers) -> tuple[str, bool]:
    """(the token a request carries, whether it came as ?token=), from the Authorization header,
    the page's cookie or the query string."""
    given = headers.get("authorization", "")
    if given.lower().startswith("bearer "):
        return given[7:], False
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value, False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("token") or [""])[0], True


def token_ok(given: str, token: str) -> bool:
    """Compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape"))


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
            given, in_url = token_given(scope, headers)
            if not token_ok(given, self.token):
                refusal = 401, ("this server needs its token: open the page with ?token=TOKEN, "
                                "or send Authorization: Bearer TOKEN")
            elif in_url:
                cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
        if refusal is not None:
            return await JSONResponse({"error": refusal[1]}, refusal[0])(scope, receive, sending)
        self.state.busy += 1
        try:
            await self.app(scope, receive, sending)
        finally:
            self.state.busy -= 1
            self.state.last_request = time.monotonic()
