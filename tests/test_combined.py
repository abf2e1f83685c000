"""`find "a red car" --image car.png`: a text query and a picture in one fused ranking, in the
process and through the server alike."""

import json

import pytest
from PIL import Image
from conftest import run_cli

from vsearch.testing.media import colour_video, write_vtt


@pytest.fixture
def scenes(env, tmp_path):
    """Red 0-4 s where "the car" is said, blue 4-8 s, red again 8-12 s with nothing said; a red picture."""
    video = colour_video(tmp_path / "cars.mp4", [("red", 4), ("blue", 4), ("red", 4)])
    write_vtt(tmp_path / "cars.en.vtt", [(1.0, 3.0, "here comes the car")])
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "red.png")
    run_cli("index", str(video))
    return tmp_path / "red.png"


def found(*args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli("find", "--json", *args).stdout.splitlines()]


def test_text_and_picture_rank_together(scenes):
    said = found("car", "-k", "3")
    seen = found("--image", str(scenes), "-k", "3")
    both = found("car", "--image", str(scenes), "-k", "3")
    assert said[0]["cue"] == "here comes the car" and "picture" not in said[0]["signals"]
    assert {(s["start"], s["end"]) for s in seen[:2]} == {(0.0, 4.0), (8.0, 12.0)}  # the picture alone: a tie
    first, second = both[0], both[1]
    assert first["start"] <= 1.0 and first["end"] >= 3.0 and {"bm25", "picture"} <= set(first["signals"])
    assert (second["start"], second["end"]) == (8.0, 12.0) and set(second["signals"]) == {"picture"}
    assert first["score"] > second["score"] and first["best_frame"] is not None


def test_a_picture_weighted_0_leaves_the_text_ranking_as_it_was(scenes, monkeypatch):
    said = found("car", "-k", "3")
    monkeypatch.setenv("VSEARCH_FIND_WEIGHT_PICTURE", "0")
    assert found("car", "--image", str(scenes), "-k", "3") == said


def test_the_server_ranks_text_and_picture_as_find_does(scenes):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    want = found("car", "--image", str(scenes), "-k", "3")
    app = create_app(load_settings())
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        got = client.post("/api/find", data={"q": "car", "k": "3"},
                          files={"image": ("red.png", scenes.read_bytes(), "image/png")}).json()["results"]
        bad = client.post("/api/find", data={"q": "x" * 1001}, files={"image": ("red.png", scenes.read_bytes())})
    app.state.resident.close()
    keys = ("start", "end", "seek", "score", "signals", "source")
    assert [{k: r[k] for k in keys} for r in got] == [{k: r[k] for k in keys} for r in want]
    assert bad.status_code == 400 and "1000 characters" in bad.json()["error"]
