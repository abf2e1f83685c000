"""`vsearch serve` answers only its own name and page, serves only the files indexed, and bounds
each request's work (docs/security.md); through Starlette's test client on a real index."""

import json
import os
import shutil
import threading

import pytest
from conftest import run_cli

from vsearch.testing.media import colour_video

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """A folder of two videos of our own, indexed into a private home; (folder, home)."""
    folder = tmp_path_factory.mktemp("lib")
    colour_video(folder / "a.mp4", [("red", 2), ("blue", 2)], audio=True)
    colour_video(folder / "b.mp4", [("green", 3)])
    home = tmp_path_factory.mktemp("guard") / "home"
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, home)
        run_cli("index", str(folder / "a.mp4"), str(folder / "b.mp4"))
    return folder, home


def _environment(patch, home, **more) -> None:
    for name, value in {"VSEARCH_HOME": str(home), "VSEARCH_MODEL": "test-colors", "VSEARCH_TEXT_MODEL": "image",
                        "VSEARCH_PLUGINS": "vsearch.testing.color_encoder", "VSEARCH_BUSY_TIMEOUT": "3",
                        "VSEARCH_ASR_MODE": "off", "VSEARCH_OCR_MODE": "off", "VSEARCH_AUDIO_MODE": "off",
                        "VSEARCH_SERVE_HOLD": "0.2", **more}.items():
        patch.setenv(name, value)


@pytest.fixture
def client(lib, monkeypatch):
    """A test client of a fresh app over `lib`, asking as the page on 127.0.0.1 does."""
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    _environment(monkeypatch, lib[1])
    app = create_app(load_settings())
    with TestClient(app, base_url=LOCAL) as c:
        yield c
    app.state.resident.close()


def _ids(client) -> dict[str, str]:
    return {os.path.basename(v["path"]): v["video_id"] for v in client.get("/api/videos").json()["videos"]}


@pytest.mark.parametrize("route", ["/api/videos", "/api/find?q=blue", "/api/export?q=blue", "/", "/static/app.js"])
def test_a_request_for_another_host_is_refused(client, route):
    """DNS rebinding: a page whose name now points at 127.0.0.1 sends its own name as Host."""
    answer = client.get(route, headers={"Host": "evil.example:8765"})
    assert answer.status_code == 421 and "serve.allowed_hosts" in answer.json()["error"]
    assert "a.mp4" not in answer.text


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST"])
def test_the_loopback_names_are_answered(client, host):
    assert client.get("/api/videos", headers={"Host": host}).status_code == 200


def test_allowed_hosts_adds_names(lib, monkeypatch):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    _environment(monkeypatch, lib[1], VSEARCH_SERVE_ALLOWED_HOSTS="vsearch.lan")
    app = create_app(load_settings())
    with TestClient(app, base_url="http://vsearch.lan") as c:
        assert c.get("/api/videos").status_code == 200
        assert c.get("/api/videos", headers={"Host": "other.lan"}).status_code == 421
    app.state.resident.close()


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "null"}, {"Sec-Fetch-Site": "same-site"}])
def test_other_sites_pages_are_refused(client, headers):
    """A form's blind POST of a picture, or a script's fetch, from a page elsewhere."""
    post = client.post("/api/find", files={"image": ("x.png", b"\x89PNG")}, headers=headers)
    assert post.status_code == 403
    assert client.get("/api/videos", headers=headers).status_code == 403
    assert client.post("/api/rank", json={"query": "blue", "variants": [{}]}, headers=headers).status_code == 403


def test_the_page_itself_opens_from_a_link_and_asks_same_origin(client):
    assert client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}).status_code == 200
    same = {"Sec-Fetch-Site": "same-origin", "Origin": LOCAL}
    assert client.get("/api/videos", headers=same).status_code == 200


@pytest.mark.parametrize("route", ["/", "/api/videos", "/static/app.css", "/api/find?q=", "/nowhere"])
def test_every_answer_forbids_framing_and_sniffing(client, route):
    headers = client.get(route).headers
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_token_guards_static_files_too(lib, monkeypatch):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    token = "0123456789abcdef-token"
    _environment(monkeypatch, lib[1], VSEARCH_SERVE_TOKEN=token)
    app = create_app(load_settings())
    with TestClient(app, base_url=LOCAL) as c:
        assert c.get("/static/app.js").status_code == 401
        assert c.get("/static/app.js", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app.state.resident.close()


@pytest.mark.parametrize("token", ["short-token", " " * 20, "sixteen chars ok", "x" * 15])
def test_weak_tokens_are_refused_at_start(lib, monkeypatch, token):
    _environment(monkeypatch, lib[1])
    monkeypatch.setenv("VSEARCH_SERVE_TOKEN", token)
    result = run_cli("serve", "--port", "0", ok=False)
    assert result.exit_code == 2 and "16 characters" in result.stderr and "Traceback" not in result.output


@pytest.fixture
def swapped(lib):
    """a.mp4 moved aside and a symlink to /etc/passwd (or another file) put in its place, for the
    length of a test."""
    folder = lib[0]
    real, aside = folder / "a.mp4", folder / "a.real"
    real.rename(aside)

    def put(target) -> None:
        if real.is_symlink() or real.exists():
            real.unlink()
        if target == "copy":
            shutil.copyfile(aside, real)  # the same bytes, another file
        else:
            real.symlink_to(target)

    yield put
    if real.is_symlink() or real.exists():
        real.unlink()
    aside.rename(real)


@pytest.mark.parametrize("target", ["/etc/passwd", "a.real", "copy"])
def test_only_the_file_indexed_is_served(client, swapped, target):
    vid = _ids(client)["a.mp4"]
    swapped(target)
    for route in (f"/media/{vid}", f"/thumb/{vid}/1.0", f"/clip/{vid}?start=0&end=1"):
        answer = client.get(route)
        assert answer.status_code == 409 and "changed since it was indexed" in answer.json()["error"], route
        assert b"root:" not in answer.content


def test_the_file_indexed_is_served_with_ranges(client):
    vid = _ids(client)["a.mp4"]
    whole = client.get(f"/media/{vid}")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = client.get(f"/media/{vid}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]
    assert client.get(f"/media/{vid}", headers={"Range": "bytes=999999999-"}).status_code == 416


@pytest.mark.parametrize("t", ["-1", "4.5", "1e7", "nan", "inf", "0x10"])
def test_thumbnails_only_within_the_video(client, t):
    vid = _ids(client)["a.mp4"]
    assert client.get(f"/thumb/{vid}/{t}").status_code == 400


def test_thumbnails_are_one_per_sampled_second(client, lib):
    vid = _ids(client)["a.mp4"]
    for t in ("1.0", "1.2", "1.9", "1.5"):
        assert client.get(f"/thumb/{vid}/{t}").status_code == 200
    assert client.get(f"/thumb/{vid}/4.0").status_code == 200  # the end: the last slot
    kept = sorted(p.name.split(".")[0] for p in (lib[1] / "cache" / "thumbs" / vid).glob("*.jpg"))
    assert kept == ["1", "3"]


def test_the_thumbnail_cache_keeps_to_its_size(tmp_path):
    from vsearch.thumbs import ThumbCache

    cache = ThumbCache(tmp_path, 2500)
    for slot in range(10):
        assert cache.get(7, "v1", slot, lambda: b"j" * 1000) == b"j" * 1000
    kept = sorted(tmp_path.glob("7/*.jpg"))
    assert len(kept) == 2 and sum(p.stat().st_size for p in kept) <= 2500
    assert cache.get(7, "v1", 9, lambda: pytest.fail("made again")) == b"j" * 1000  # the newest stays
    assert len(list(ThumbCache(tmp_path, 1000).folder.glob("7/*.jpg"))) == 1  # a restart trims too


def test_media_and_ping_do_not_wait_for_a_search(client):
    """A slow rank holds the index's lock: lookups and files are served all the same."""
    vid = _ids(client)["a.mp4"]
    resident = client.app.state.resident
    done = {}

    def ask():
        done["media"] = client.get(f"/media/{vid}").status_code
        done["thumb"] = client.get(f"/thumb/{vid}/2.0").status_code
        done["ping"] = client.get("/api/ping").status_code

    with resident._lock:  # as find_many does while it ranks
        asking = threading.Thread(target=ask)
        asking.start()
        asking.join(30)
        held = asking.is_alive()
    asking.join()
    assert not held and done == {"media": 200, "thumb": 200, "ping": 200}


@pytest.mark.parametrize("variant, field", [
    ({"weights": "abc"}, "weights"), ({"fusion": "nope"}, "fusion"), ({"top_k": "7"}, "top_k"),
    ({"pad": -1e308}, "pad"), ({"pad": 1e308}, "pad"), ({"candidates": 100_000_000}, "candidates"),
    ({"weights": {"frames": float("inf")}}, "weight_frames"), ({"sources": ["radio"]}, "sources"),
    ({"nope": 1}, "nope"), ({"top_k": True}, "top_k"), ([1, 2], "variant 1")])
def test_rank_variants_are_checked_as_settings_are(client, variant, field):
    body = json.dumps({"query": "blue", "variants": [variant]})  # Infinity too, as Python's json reads it
    answer = client.post("/api/rank", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and field in answer.json()["error"], answer.text


def test_a_good_rank_variant_still_ranks(client):
    got = client.post("/api/rank", json={"query": "blue", "variants": [{"top_k": 1, "pad": 0.5}, {}]}).json()
    assert len(got["rankings"]) == 2 and len(got["rankings"][0]) == 1


def test_a_fifo_in_place_of_a_video_is_refused_not_waited_on(client, lib):
    vid = _ids(client)["b.mp4"]
    real, aside = lib[0] / "b.mp4", lib[0] / "b.real"
    real.rename(aside)
    os.mkfifo(real)
    try:
        for route in (f"/media/{vid}", "/api/export?q=green&format=edl&video=" + str(real)):
            answer = client.get(route)
            assert answer.status_code == 409 and "changed since it was indexed" in answer.json()["error"], route
    finally:
        real.unlink()
        aside.rename(real)


@pytest.mark.parametrize("host", ["localhost:evil.example", "[::1].evil.example", "[127.0.0.1]x", "127.0.0.1:80a"])
def test_malformed_hosts_are_refused(client, host):
    assert client.get("/api/videos", headers={"Host": host}).status_code == 421


def test_an_origin_of_another_scheme_is_refused(client):
    assert client.get("/api/videos", headers={"Origin": "https://127.0.0.1:8765"}).status_code == 403


@pytest.mark.parametrize("body, status", [(b"[" * 50_000, 400), (b" " * 70_000, 413),
                                          (b'{"query": "blue", "variants": [{"sources": [[1]]}]}', 400),
                                          (b'{"query": "blue", "variants": [{"rrf_k": 1' + b"0" * 400 + b"}]}", 400)])
def test_rank_bodies_are_bounded_and_checked(client, body, status):
    answer = client.post("/api/rank", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status and "error" in answer.json()


def test_a_body_without_its_length_is_refused(client):
    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
        yield b"\0" * 1000

    answer = client.post("/api/find", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 411


def test_odd_paths_and_queries_are_answered_in_json(client):
    assert client.get("/api/find", params={"q": "blue", "video": "a\0b"}).status_code == 400
    edit = client.get("/api/export", params={"q": "blue\x1b\x01", "format": "fcpxml"})
    assert edit.status_code == 200 and b"\x1b" not in edit.content


def test_the_token_cookie_is_per_port_and_not_the_token(lib, monkeypatch):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    token = "plus+slash/equals=0123"
    _environment(monkeypatch, lib[1], VSEARCH_SERVE_TOKEN=token)
    app = create_app(load_settings())
    with TestClient(app, base_url=LOCAL) as c:
        c.cookies.set("vsearch_8765", "stale")  # another server's, or an old one: the URL's token still counts
        opened = c.get("/", params={"token": token})
        assert opened.status_code == 200
        cookie = opened.headers["set-cookie"]
        assert token not in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/api/videos").status_code == 200  # with the cookie just set
    app.state.resident.close()


def test_the_finds_road_to_its_server_ignores_proxies(monkeypatch):
    """http_proxy would see the token and could answer in the server's place."""
    import http.server

    from vsearch import remote

    class Pid(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps({"pid": 7, "auth": self.headers.get("Authorization")}).encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Pid)
    threading.Thread(target=server.handle_request, daemon=True).start()
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # the discard port: nothing answers there
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    got = remote.request({"url": f"http://127.0.0.1:{server.server_port}", "token": "t" * 20}, "/api/ping")
    server.server_close()
    assert got == {"pid": 7, "auth": "Bearer " + "t" * 20}
