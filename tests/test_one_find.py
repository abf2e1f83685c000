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

