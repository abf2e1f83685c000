"""Smoke test on real files made by others (../shared/media); skipped when absent."""

import shutil

import pytest

from conftest import SHARED_MEDIA, find_json, run_cli

VIDEOS = SHARED_MEDIA / "video"
pytestmark = pytest.mark.skipif(not VIDEOS.is_dir(), reason="shared media not present")

# name, container duration (s): every codec and container in the folder
FILES = [("friday.mp4", 6.2), ("flower_2997.mp4", 5.1), ("flipping_a_pancake.mkv", 10.4),
         ("Megamind.avi", 11.3), ("city.mpg", 7.6), ("oa4_launch.webm", 8.1), ("bikes.mp4", 10.0)]


def test_every_real_file_indexes_with_the_right_length(env, tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    for name, _ in FILES:
        shutil.copy(VIDEOS / name, folder / name)
    shutil.copy(VIDEOS / "friday.vtt", folder / "friday.vtt")
    out = run_cli("index", *[str(folder / n) for n, _ in FILES]).stdout
    assert out.count("indexed") == len(FILES)
    listing = {row.split()[-1].split("/")[-1]: row for row in run_cli("list").stdout.splitlines()}
    for name, duration in FILES:
        frames = int(listing[name].split("frames")[0].split()[-1])
        assert abs(frames - duration) <= 1.5, (name, frames)
    assert " 5 cues" in listing["friday.mp4"]
    [hit] = find_json("lord of the universe", "-k", "1")
    assert hit["video"].endswith("friday.mp4") and hit["cue"] == "Tell me, is the lord of the universe in?"
    assert hit["start"] <= 1.5 <= hit["end"]
