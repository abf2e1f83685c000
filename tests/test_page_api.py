"""`vsearch serve`: the API through Starlette's test client, on a real index of generated videos."""

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import find_json, free_port, run_cli

from vsearch.testing.media import colour_video


@pytest.fixture(scope="module")
def served(rgb_video, tmp_path_factory):
    """The rgb video indexed once for the module, and a test client of the app over it (the index
    let go 0.2 s after a request); the environment is the `env` fixture's."""
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"VSEARCH_HOME": str(tmp_path_factory.mktemp("served") / "home"),
                            "VSEARCH_MODEL": "test-colors", "VSEARCH_TEXT_MODEL": "image",
                            "VSEARCH_PLUGINS": "vsearch.testing.color_encoder", "VSEARCH_BUSY_TIMEOUT": "3",
                            "VSEARCH_ASR_MODE": "off", "VSEARCH_OCR_MODE": "off", "VSEARCH_SERVE_HOLD": "0.2"}.items():
            patch.setenv(name, value)
        run_cli("index", str(rgb_video))
        app = create_app(load_settings())
        with TestClient(app, base_url="http://127.0.0.1:8765") as client:
            yield client
        app.state.resident.close()


def _vid(client, query="blue") -> str:
    return client.get("/api/find", params={"q": query}).json()["results"][0]["video_id"]


def test_find_answers_as_the_cli_does_with_urls_for_the_page(served):
    got = served.get("/api/find", params={"q": "blue", "k": 3}).json()["results"]
    # In one process both would share Milvus Lite's in-process server: the app lets the index go first.
    served.app.state.resident.close()
    cli = find_json("blue", "-k", "3")
    keys = ("video", "start", "end", "seek", "score", "cue", "source")
    assert [{k: r[k] for k in keys} for r in got] == [{k: r[k] for k in keys} for r in cli]
    first = got[0]
    assert (first["start"], first["end"]) == (8.0, 12.0) and first["name"].endswith("讲座.mp4")
    assert first["media"] == f"/media/{first['video_id']}" and first["playable"]
    thumb = served.get(first["thumb"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(thumb.content)).convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert pixels[2] > 200 and pixels[0] < 60  # the blue stretch


def test_media_answers_range_requests(served, rgb_video):
    vid = _vid(served)
    size = rgb_video.stat().st_size
    whole = served.get(f"/media/{vid}")
    assert whole.status_code == 200 and whole.content == rgb_video.read_bytes()
    part = served.get(f"/media/{vid}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == rgb_video.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert served.get(f"/media/{vid}", headers={"Range": f"bytes={size + 10}-"}).status_code == 416


@pytest.mark.parametrize("path", [
    "/media/../../etc/passwd", "/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/media/..%2f..%2fetc%2fpasswd",
    "/media//etc/passwd", "/media/12345", "/media/99999999999999999999999", "/media/-1", "/media/1e3", "/media/%00", "/thumb/12345/1.0",
    "/thumb/abc/1", "/clip/12345?start=0&end=1", "/api/similar?video_id=..%2f&t=1", "/static/../serve.py",
    "/static/%2e%2e/serve.py",
])
def test_nothing_but_indexed_ids_reaches_a_file(served, path):
    assert served.get(path).status_code == 404


@pytest.mark.parametrize("start,end,why", [(-1, 2, "at least 0"), (5, 3, "end after start"),
                                          (0, 700, "longer than"), (13, 14, "only"), ("x", 2, "a number")])
def test_clip_bounds_are_checked(served, start, end, why):
    answer = served.get(f"/clip/{_vid(served)}", params={"start": start, "end": end})
    assert answer.status_code == 400 and why in answer.json()["error"]


def test_a_clip_starts_on_the_frame_asked_for(served, tmp_path):
    import av

    answer = served.get(f"/clip/{_vid(served)}", params={"start": 7.5, "end": 9.0})
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    assert "attachment" in answer.headers["content-disposition"]
    out = tmp_path / "clip.mp4"
    out.write_bytes(answer.content)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0) for f in container.decode(video=0)]
    green_then_blue = [int(np.argmax(c)) for c in frames]
    # 0.5 s of green (frames 0-12 at 25 fps), then blue: no frozen keyframe from before 7.5 s
    assert green_then_blue[:12] == [1] * 12 and set(green_then_blue[13:]) == {2} and 36 <= len(frames) <= 38


def test_a_picture_finds_where_it_is_seen(served, tmp_path):
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 255, 0)).save(png, "PNG")
    answer = served.post("/api/find", files={"image": ("shot.png", png.getvalue(), "image/png")})
    first = answer.json()["results"][0]
    assert (first["start"], first["end"], first["source"]) == (4.0, 8.0, "frames")
    bad = served.post("/api/find", files={"image": ("x.png", b"not a picture", "image/png")})
    assert bad.status_code == 400 and "not an image" in bad.json()["error"]


def test_more_like_this_finds_the_same_picture_elsewhere_and_leaves_the_moment_out(env, tmp_path):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    video = colour_video(tmp_path / "twice.mp4", [("blue", 3), ("red", 6), ("blue", 3)])
    run_cli("index", str(video))
    app = create_app(load_settings())
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        vid = client.get("/api/find", params={"q": "blue"}).json()["results"][0]["video_id"]
        similar = client.get("/api/similar", params={"video_id": vid, "t": 1}).json()["results"]
        assert [(r["start"], r["end"]) for r in similar] == [(9.0, 12.0)]
        assert client.get("/api/similar", params={"video_id": vid, "t": 99}).status_code == 400
    app.state.resident.close()


@pytest.mark.parametrize("query", ['"', "'; drop", "..", "<script>", "\udcff", "a" * 1000])
def test_odd_queries_are_answered_or_refused_in_one_line(served, query):
    answer = served.get("/api/find", params={"q": query.encode("utf-8", "surrogateescape").decode("latin-1")})
    assert answer.status_code == 200 and "results" in answer.json()
    assert served.get("/api/find", params={"q": "a" * 1001}).status_code == 400
    assert served.get("/api/find", params={"q": "x", "k": "many"}).status_code == 400


def test_a_video_indexed_while_the_server_runs_shows_up(served, tmp_path):
    assert all(not r["video"].endswith("later.mp4") for r in served.get("/api/find", params={"q": "yellow"}).json()["results"])
    later = colour_video(tmp_path / "later.mp4", [("yellow", 3)])
    time.sleep(0.5)  # the server lets the index go 0.2 s after its last request
    run_cli("index", str(later))
    found = served.get("/api/find", params={"q": "yellow"}).json()["results"]
    assert found[0]["video"] == str(later)


def test_filters_by_source_language_and_speaker(served):
    said = served.get("/api/find", params={"q": "向量数据库", "lang": "zh"}).json()["results"]
    assert said and {r["lang"] for r in said} == {"zh"}
    assert served.get("/api/find", params={"q": "向量数据库", "lang": "fr"}).json()["results"] == []
    seen = served.get("/api/find", params={"q": "blue", "source": "frames"}).json()["results"]
    assert seen and {r["source"] for r in seen} == {"frames"}
    assert served.get("/api/find", params={"q": "x", "source": "radio"}).status_code == 400


def test_a_token_is_checked_on_every_request(env, rgb_video, monkeypatch):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    monkeypatch.setenv("VSEARCH_SERVE_TOKEN", "s3cret-token-0123456")
    run_cli("index", str(rgb_video))
    app = create_app(load_settings())
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        for path in ("/", "/api/find?q=blue", "/api/videos", "/media/1", "/thumb/1/1.0"):
            answer = client.get(path)
            assert answer.status_code == 401 and "token" in answer.json()["error"], path
        assert client.get("/api/find?q=blue", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        vid = client.get("/api/find?q=blue", headers={"Authorization": "Bearer s3cret-token-0123456"}).json()["results"][0]
        assert client.get("/?token=s3cret-token-0123456").status_code == 200  # sets the page's cookie
        assert client.get(f"/media/{vid['video_id']}").status_code == 200
    app.state.resident.close()


def test_serving_beyond_loopback_needs_a_token(env):
    result = run_cli("serve", "--host", "0.0.0.0", ok=False)
    assert result.exit_code == 1 and "give it a token" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_cli_answers_through_a_running_server(env, rgb_video, tmp_path):
    """With a server up, `find` answers without loading a model: here the CLI cannot even load
    the test encoder (no plugin), yet it answers, exactly as without the server."""
    run_cli("index", str(rgb_video))
    expected = find_json("blue", "-k", "2")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "vsearch", "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        announced = env / "serve.json"
        deadline = time.monotonic() + 60
        while not announced.exists() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.2)
        assert announced.exists(), server.stdout.read().decode()
        alone = dict(os.environ, VSEARCH_PLUGINS="")
        done = subprocess.run([sys.executable, "-m", "vsearch", "find", "blue", "-k", "2", "--json"],
                              capture_output=True, text=True, env=alone)
        assert done.returncode == 0, done.stderr
        assert [json.loads(line) for line in done.stdout.splitlines()] == expected
        off = subprocess.run([sys.executable, "-m", "vsearch", "find", "blue"], capture_output=True, text=True,
                             env=dict(alone, VSEARCH_FIND_USE_SERVER="0"))
        assert off.returncode != 0 and "test-colors" in off.stderr
        labelled = tmp_path / "q.jsonl"
        labelled.write_text(json.dumps({"query": "blue", "video": str(rgb_video), "relevant_windows": [[8, 12]]}))
        scored = subprocess.run([sys.executable, "-m", "vsearch", "eval", str(labelled), "--json"],
                                capture_output=True, text=True, env=alone)
        assert scored.returncode == 0, scored.stderr
        report = json.loads(scored.stdout)
        assert report["model"] == "test-colors" and report["metrics"]["fused"]["hit@1"] == 1.0
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert not (env / "serve.json").exists()


def test_find_image_and_clip_from_the_command_line(env, rgb_video, tmp_path):
    from PIL import Image

    run_cli("index", str(rgb_video))
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "red.png")
    [red] = [json.loads(line) for line in run_cli("find", "--image", str(tmp_path / "red.png"), "-k", "1",
                                                  "--json").stdout.splitlines()]
    assert (red["start"], red["end"], red["source"]) == (0.0, 4.0, "frames")
    out = tmp_path / "out.mp4"
    run_cli("clip", str(rgb_video), "3", "5", "-o", str(out), "--pad", "0.5")
    import av

    with av.open(str(out)) as container:
        assert abs(float(container.duration / 1e6) - 3.0) < 0.15
    clips = tmp_path / "clips"
    run_cli("find", "blue", "-k", "2", "--clip-dir", str(clips))
    spans = [(s["start"], s["end"]) for s in find_json("blue", "-k", "2")]
    assert sorted(p.name for p in clips.iterdir()) == [f"{n:02d}-it_s__one__讲座-{a:g}-{b:g}.mp4"
                                                        for n, (a, b) in enumerate(spans, 1)]
    bad = run_cli("find", "--image", str(rgb_video), ok=False)
    assert bad.exit_code == 1 and "not an image" in bad.stderr
    both = run_cli("find", "blue", "--audio", str(out), ok=False)
    assert both.exit_code == 2 and "give a sound alone" in both.stderr


def test_a_file_name_that_is_not_utf8_is_served(env, tmp_path):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9 it's.mp4"))
    colour_video(odd, [("red", 2), ("blue", 2)])
    run_cli("index", str(odd))
    app = create_app(load_settings())
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        answer = client.get("/api/find", params={"q": "blue"})
        assert answer.status_code == 200 and b"\\udce9" in answer.content  # as `find --json` writes it
        first = answer.json()["results"][0]
        assert os.fsencode(first["video"]) == os.fsencode(str(odd)) and first["name"] == "caf\\xe9 it's.mp4"
        assert client.get(first["media"]).content == odd.read_bytes()
        clip = client.get(first["clip"])
        assert clip.status_code == 200 and "caf" in clip.headers["content-disposition"]
    app.state.resident.close()


def test_an_empty_answer_says_why_signals_were_left_out(served):
    body = served.get("/api/find", params={"q": "zebra stampede"}).json()
    assert body["results"] == [] and body["notes"]["cues"].startswith("left out: the text model image")


def test_the_moments_found_download_as_an_edit_list(served):
    import opentimelineio as otio

    shown = served.get("/api/find", params={"q": "green", "k": 2}).json()["results"]
    answer = served.get("/api/export", params={"q": "green", "k": 2, "format": "otio"})
    assert answer.status_code == 200 and 'filename="moments.otio"' in answer.headers["content-disposition"]
    made = otio.adapters.read_from_string(answer.text, "otio_json")  # kept: its tracks go with it
    clips = list(made.video_tracks()[0].find_clips())
    assert [(c.source_range.start_time.to_seconds(), c.source_range.end_time_exclusive().to_seconds())
            for c in clips] == [(r["start"], r["end"]) for r in shown]
    edl = served.get("/api/export", params={"q": "green", "k": 2, "format": "edl"})
    assert edl.status_code == 200 and "00:00:04:00" in edl.text


@pytest.mark.parametrize("params,status", [({"q": "green", "format": "xml"}, 400), ({"q": "", "format": "edl"}, 400),
                                           ({"q": "green", "format": "../../etc/passwd"}, 400),
                                           ({"q": "green", "source": "ocr", "format": "otio"}, 404)])
def test_an_edit_list_that_cannot_be_made_says_why(served, params, status):
    answer = served.get("/api/export", params=params)
    assert answer.status_code == status and answer.json()["error"]


def test_chapters_of_a_video_for_the_players_markers(served):
    vid = _vid(served)
    got = served.get("/api/chapters", params={"video_id": vid}).json()["chapters"]
    assert got[0]["start"] == 0.0 and got[-1]["end"] == 12.0 and all(c["title"] for c in got)
    for bad in ("12345", "../x", "-1", ""):
        assert served.get("/api/chapters", params={"video_id": bad}).status_code == 404


def test_a_picture_as_large_as_a_server_takes_is_answered_with_its_fields(served):
    """The CLI sends a picture of up to MAX_UPLOAD_BYTES to its server (remote.can_send), with its
    fields beside it: the body's limit leaves them room; one byte more is refused."""
    from PIL import Image

    from vsearch.request import MAX_UPLOAD_BYTES

    png = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 255, 0)).save(png, "PNG")
    whole = png.getvalue() + b"\0" * (MAX_UPLOAD_BYTES - len(png.getvalue()))  # after IEND: still the picture
    fields = {"k": "5", "name": "shot.png", "lang": ["x" * 4096] * 8}
    answer = served.post("/api/find", files={"image": ("upload", whole)}, data=fields)
    assert answer.status_code == 200, answer.text
    over = served.post("/api/find", files={"image": ("upload", whole + b"\0")}, data=fields)
    assert over.status_code == 413
