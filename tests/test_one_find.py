"""A find means the same in this process and through a server: `--video` and k alike."""

import pytest
from conftest import find_json, run_cli

from vsearch.testing.media import colour_video


@pytest.fixture
def two_folders(env, tmp_path):
    """lib/x/a.mp4 (blue at 2-4 s) and lib/y/b.mp4 (blue throughout), indexed; and a client of a server."""
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    for name, stretches in (("x/a.mp4", [("red", 2), ("blue", 2)]), ("y/b.mp4", [("blue", 3)])):
        (tmp_path / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        colour_video(tmp_path / "lib" / name, stretches)
    run_cli("index", str(tmp_path / "lib" / "x" / "a.mp4"), str(tmp_path / "lib" / "y" / "b.mp4"))
    app = create_app(load_settings())
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        yield tmp_path / "lib", client
    app.state.resident.close()


@pytest.mark.parametrize("limit", ["x", "x/a.mp4", "y", "."])
def test_video_is_a_file_or_a_folder_on_both_roads(two_folders, limit):
    lib, client = two_folders
    path = str(lib / limit)
    served = client.get("/api/find", params={"q": "blue", "video": path, "k": 10}).json()["results"]
    client.app.state.resident.close()  # one process: let Milvus Lite go for the CLI's own opening
    here = find_json("blue", "--video", path, "-k", "10")
    assert [(r["video"], r["start"], r["end"]) for r in served] == [(r["video"], r["start"], r["end"]) for r in here]
    assert here and all(r["video"].startswith(str(lib / limit).removesuffix("/.")) for r in here)


def test_an_unknown_video_is_the_same_error_on_both_roads(two_folders):
    lib, client = two_folders
    answer = client.get("/api/find", params={"q": "blue", "video": str(lib / "nowhere")})
    client.app.state.resident.close()
    here = run_cli("find", "blue", "--video", str(lib / "nowhere"), ok=False)
    assert answer.status_code == 400 and answer.json()["error"] in here.stderr and "not indexed" in here.stderr


def test_as_many_segments_through_a_server_as_here(two_folders):
    _, client = two_folders
    assert client.get("/api/find", params={"q": "blue", "k": 500}).status_code == 200
    assert client.get("/api/find", params={"q": "blue", "k": 1001}).status_code == 400



# Requests as command lines; LIB is the library folder, PIC a blue picture.
TABLE = [
    ["blue"],
    ["blue", "-k", "1"],
    ["green", "-k", "1000"],
    ["blue", "--video", "LIB/x"],
    ["blue", "--video", "LIB/x/a.mp4", "--video", "LIB/y"],
    ["grass", "--source", "subtitle"],
    ["grass", "--lang", "en"],
    ["grass", "--speaker", "Ann"],
    ["grass", "--speaker", "Nobody"],
    ["blue", "--video", ""],
    ["--image", "PIC"],
    ["--image", "PIC", "green"],
    ["--image", "TXT"],
    ["--audio", "HUM"],
    ["zebra xyzzy"],
    ["blue", "--video", "LIB/nowhere"],
    ["blue", "-k", "1001"],
    ["   "],
]


@pytest.mark.slow
def test_the_same_requests_get_the_same_answers_on_both_roads(env, tmp_path, monkeypatch):
    """Each request of the table, answered in this process and then by a real `vsearch serve`
    (a process that alone can load the test model): the same JSON, field by field, or the same
    one-line error with the same exit code."""
    import json
    import os
    import subprocess
    import sys
    import time

    from vsearch.testing.media import colour_video, ffmpeg, sound_video, write_vtt

    monkeypatch.setenv("VSEARCH_PLUGINS", "vsearch.testing.color_encoder,vsearch.testing.tone_encoder")
    monkeypatch.setenv("VSEARCH_AUDIO_MODEL", "test-tones")
    monkeypatch.setenv("VSEARCH_AUDIO_MODE", "on")
    lib = tmp_path / "lib"
    for name, stretches in (("x/a.mp4", [("red", 2), ("blue", 2)]), ("y/b.mp4", [("blue", 3)])):
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        colour_video(lib / name, stretches)
    sound_video(lib / "talk.mp4", [("silence", 2), ("beep", 3), ("noise", 2), ("hum", 3), ("silence", 2)],
                colour="green")
    write_vtt(lib / "talk.en.vtt", [(1, 3, "<v Ann>the grass is green"), (7.5, 9, "<v Bo>more grass here")])
    ffmpeg("-f", "lavfi", "-i", "color=0x0000FF:s=64x48", "-frames:v", "1", str(tmp_path / "blue.png"))
    sound_video(tmp_path / "hum.mp4", [("hum", 2)])
    (tmp_path / "notes.txt").write_text("not a picture")
    run_cli("index", str(lib / "x" / "a.mp4"), str(lib / "y" / "b.mp4"), str(lib / "talk.mp4"))

    def args(row):
        named = {"LIB": lib, "PIC": tmp_path / "blue.png", "TXT": tmp_path / "notes.txt", "HUM": tmp_path / "hum.mp4"}
        return [str(named[a.split("/")[0]]) + a[len(a.split("/")[0]):] if a.split("/")[0] in named else a for a in row]

    def answered(result):
        lines = result.stdout.splitlines()
        if result.returncode:
            return result.returncode, result.stderr.strip().splitlines()[-1]
        return 0, [json.loads(line) for line in lines]

    apart = dict(os.environ, VSEARCH_FIND_USE_SERVER="false")
    here = [answered(subprocess.run([sys.executable, "-m", "vsearch", "find", "--json", *args(row)],
                                    capture_output=True, text=True, env=apart)) for row in TABLE]
    server = subprocess.Popen([sys.executable, "-m", "vsearch", "serve", "--port", "0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (env / "serve.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        alone = dict(os.environ, VSEARCH_PLUGINS="")  # this process cannot load the test model: the server answers
        served = [answered(subprocess.run([sys.executable, "-m", "vsearch", "find", "--json", *args(row)],
                                          capture_output=True, text=True, env=alone)) for row in TABLE]
    finally:
        server.terminate()
        server.wait(20)
    for row, mine, theirs in zip(TABLE, here, served):
        assert mine == theirs, row
    found = dict(zip(map(tuple, TABLE), here))
    assert {s["speaker"] for s in found[("grass", "--speaker", "Ann")][1]} == {"Ann"}
    assert found[("grass", "--speaker", "Nobody")] == (0, [])
    assert len(found[("green", "-k", "1000")][1]) >= 1 and found[("blue", "-k", "1001")][0] == 2
    assert {s["video"] for s in found[("blue", "--video", "LIB/x")][1]} == {str(lib / "x" / "a.mp4")}
    assert "not indexed" in found[("blue", "--video", "LIB/nowhere")][1]
    assert found[("blue", "--video", "")] == found[("blue",)]
    assert "notes.txt" in found[("--image", "TXT")][1]  # the file's own name, on both roads
    heard = found[("--audio", "HUM")][1]
    assert heard and {s["video"] for s in heard} == {str(lib / "talk.mp4")}


def test_every_field_of_a_segment_travels():
    from dataclasses import fields

    from vsearch.query.types import Segment
    from vsearch.wire import segment_json, segment_of

    seg = Segment(video="/v/a'b \udcff.mp4", video_id=(1 << 63) - 1, start=1.0, end=5.0, seek=2.0, score=0.5,
                  best_frame=3.0, cue="hi", source="asr", cue_start=1.5, cue_end=2.5, signals={"frames": 0.4},
                  lang="en", speaker="Ann", best_sound=4.0, notes={"audio": "left out"}, shot_start=0.5, shot_end=6.0)
    assert all(getattr(seg, f.name) != f.default for f in fields(seg))  # a new field must be set here too
    shape = segment_json(seg)
    assert shape["video_id"] == str(seg.video_id) and shape["url"].endswith("#t=1,5")
    assert segment_of(shape) == seg


@pytest.mark.parametrize("params,says", [
    ({"q": "x", "k": "0"}, "k must be between 1 and 1000"), ({"q": "x", "k": "-1"}, "k must be a whole number"),
    ({"q": "x", "offset": "1001"}, "offset must be between 0 and 1000"), ({"q": " "}, "the query is empty"),
    ({"q": "x" * 1001}, "over 1000 characters"), ({"q": "x", "sources": "frames"}, "sources must be among"),
    ({"q": "x", "source": "<b>"}, "source must be one of"), ({"q": "x", "video": "a\0b"}, "NUL"),
])
def test_one_set_of_limits(params, says):
    from starlette.datastructures import QueryParams

    from vsearch.extract.errors import VsearchError
    from vsearch.request import from_params

    with pytest.raises(VsearchError, match=says):
        from_params(QueryParams(params), 10)
