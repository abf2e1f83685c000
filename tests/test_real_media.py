"""Smoke test on real files made by others (../shared/media); skipped when absent."""

import shutil
import subprocess

import numpy as np
import pytest
from conftest import SHARED_MEDIA, find_json, run_cli

VIDEOS = SHARED_MEDIA / "video"
pytestmark = pytest.mark.skipif(not VIDEOS.is_dir(), reason="shared media not present")

# name, container duration (s): every codec and container in the folder
FILES = [("friday.mp4", 6.2), ("flower_2997.mp4", 5.1), ("flipping_a_pancake.mkv", 10.4),
         ("Megamind.avi", 11.3), ("city.mpg", 7.6), ("oa4_launch.webm", 8.1), ("bikes.mp4", 10.0)]


@pytest.mark.slow
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


def test_shared_eval_set_points_at_real_media_and_cue_times():
    """evals/shared_media.jsonl: every video exists (or is a carrier) and every window is inside it."""
    import json
    from pathlib import Path

    from vsearch.extract.subtitles import read_subtitles

    evals = Path(__file__).resolve().parent.parent / "evals"
    films = json.loads((evals / "carriers.json").read_text("utf-8"))

    lengths = {f"{{media}}/video/{n}": d for n, d in FILES + [("big_buck_bunny.mp4", 596.5)]}
    for name, (seconds, subs) in films.items():
        ends = [c.end for s in subs for c in read_subtitles(SHARED_MEDIA / "subtitles" / s)[0]]
        assert max(ends) <= seconds, name
        lengths[f"carriers/{name}.mp4"] = seconds
    rows = [json.loads(line) for line in (evals / "shared_media.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) >= 30 and any("吃" in r["query"] for r in rows)
    for row in rows:
        assert row["video"] in lengths, row
        assert all(0 <= a < b <= lengths[row["video"]] for a, b in row["relevant_windows"]), row


def test_divx_avi_gives_the_frames_ffmpeg_decodes_at_each_second():
    """Megamind.avi packs B-frames and has no presentation times; decord alone sought seconds off."""
    from vsearch.extract import FrameStream
    from vsearch.extract.ffmpeg import ffmpeg_exe

    video = VIDEOS / "Megamind.avi"
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-map", "0:v:0", "-fps_mode",
                          "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True).stdout
    decoded = np.frombuffer(raw, np.uint8).reshape(-1, 528, 720, 3)
    stream = FrameStream(video, 1.0, chunk=4)
    frames = [f for chunk in stream for f in chunk]
    assert len(decoded) == 270 and len(frames) == 11 and stream.clipped == 3
    assert all(np.array_equal(f.pixels, decoded[index]) for f, (_, index) in zip(frames, stream.plan))


@pytest.mark.slow
def test_real_dialogue_is_transcribed_and_found_by_a_paraphrase(env, tmp_path, monkeypatch):
    """friday.mp4 without its captions: tiny.en hears the dialogue, and a query that shares a word
    with the line finds it, seeking to that word rather than to the line's start."""
    from test_senses import tiny_en

    monkeypatch.setenv("VSEARCH_ASR_MODE", "on")
    monkeypatch.setenv("VSEARCH_ASR_MODEL", tiny_en())
    video = tmp_path / "friday.mp4"
    shutil.copy(VIDEOS / "friday.mp4", video)
    run_cli("index", str(video))
    [hit] = find_json("who took the jewels of the crown", "-k", "1")
    assert hit["source"] == "asr" and "stolen the crown" in hit["cue"].lower()  # tiny.en: "crown, Jewell."
    assert hit["cue_start"] < hit["seek"] < 6.0  # on "crown", inside the caption's 4.3-6.0 s
