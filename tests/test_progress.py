"""What `index` and `ingest` show on a terminal while they work, and that pipes, cron and --json get none of it."""

import json

import pytest
from test_resident import in_terminal

from vsearch.index.indexer import Advance
from vsearch.render import progress_line
from vsearch.testing.media import colour_video


@pytest.mark.parametrize("advance,elapsed,line", [
    (Advance(30, 600), 10, "talk.mp4  00:00:30/00:10:00 decoded · 00:03:10 left"),
    # Speech behind the frames sets the time left; frames read for text are counted.
    (Advance(300, 600, heard=60, read=4), 60, "talk.mp4  00:05:00/00:10:00 decoded · said 00:01:00 · "
                                               "text read on 4 frames · 00:09:00 left"),
    (Advance(0, 600), 10, "talk.mp4  00:00:00/00:10:00 decoded"),  # no guess before any progress
    (Advance(600, 600, heard=600), 90, "talk.mp4  00:10:00/00:10:00 decoded · said 00:10:00"),
    (Advance(0, 0, heard=5), 3, "talk.mp4  00:00:00/00:00:00 decoded · said 00:00:05"),  # frames were kept
])
def test_the_progress_line(advance, elapsed, line):
    assert progress_line("talk.mp4", advance, elapsed) == line


@pytest.mark.slow
def test_a_terminal_sees_progress_and_json_stays_clean(env, tmp_path):
    import os

    video = colour_video(tmp_path / "long.mp4", [("red", 20), ("blue", 20)])
    session = {k: v for k, v in os.environ.items() if k != "CI"}
    code, said = in_terminal("index", str(video), env=dict(session, VSEARCH_EXTRACT_CHUNK="4"))
    assert code == 0 and "/00:00:40 decoded" in said and "\x1b[K" in said, said
    # The line is erased before the video's result is printed.
    assert said.rstrip().rsplit("\r", 1)[-1].startswith("\x1b[Kindexed  "), said
    code, said = in_terminal("index", "--json", str(video), env=session)
    assert code == 0 and "decoded" not in said and "\x1b" not in said, said
    assert json.loads(said.strip().splitlines()[-1])["state"] == "done"
