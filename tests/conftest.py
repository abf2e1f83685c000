import os
import sys
from pathlib import Path

import pytest

from vsearch.testing import color_encoder  # noqa: F401  registers "test-colors" through the real registry
from vsearch.testing import tone_encoder  # noqa: F401  registers the sound model "test-tones" likewise
from vsearch.testing.media import colour_video, write_vtt

TESTS = Path(__file__).parent
SHARED_MEDIA = TESTS.parent.parent / "shared" / "media"


@pytest.fixture(autouse=True, scope="session")
def _own_data_folder(tmp_path_factory):
    """The default home (and its cache of exported models) in a temporary folder, never the user's."""
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data"))


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private index and the colour test model, for the library and the CLI alike."""
    home = tmp_path / "home"
    monkeypatch.setenv("VSEARCH_HOME", str(home))
    monkeypatch.setenv("VSEARCH_MODEL", "test-colors")
    # Cue vectors from the colour encoder's own text tower; test_text_model.py loads a real one.
    monkeypatch.setenv("VSEARCH_TEXT_MODEL", "image")
    monkeypatch.setenv("VSEARCH_PLUGINS", "vsearch.testing.color_encoder")
    monkeypatch.setenv("VSEARCH_BUSY_TIMEOUT", "3")
    # Speech and screen text have their own tests (test_senses.py); elsewhere they only cost time.
    monkeypatch.setenv("VSEARCH_ASR_MODE", "off")
    monkeypatch.setenv("VSEARCH_OCR_MODE", "off")
    monkeypatch.setenv("VSEARCH_AUDIO_MODE", "off")  # sounds: test_sounds.py
    return home


@pytest.fixture(scope="session")
def rgb_video(tmp_path_factory):
    """12 s: red 0-4, green 4-8, blue 8-12, with a Chinese and an English sidecar."""
    folder = tmp_path_factory.mktemp("rgb")
    name = "it's \"one\" 讲座"
    video = colour_video(folder / f"{name}.mp4", [("red", 4), ("green", 4), ("blue", 4)], audio=True)
    write_vtt(folder / f"{name}.en.vtt", [(4.5, 6.5, "now the grass appears")])
    write_vtt(folder / f"{name}.zh.vtt", [(9.0, 11.0, "这里讲向量数据库")])
    return video


@pytest.fixture
def settled(env, monkeypatch):
    """`env`, with files indexed however recently they were written."""
    monkeypatch.setenv("VSEARCH_INGEST_SETTLE_SECONDS", "0")
    return env


def ingest_json(*args, code=0) -> dict:
    """The JSON summary of `vsearch ingest --json ARGS`, which must exit with `code`."""
    import json

    result = run_cli("ingest", "--json", *args, ok=False)
    assert result.exit_code == code, result.output + result.stderr
    return json.loads(result.stdout)


def actions(summary) -> dict:
    """File name -> what the run did with it."""
    return {os.path.basename(v["path"]): v["action"] for v in summary["videos"]}


def index_interrupted(video, monkeypatch) -> None:
    """`vsearch index VIDEO` in a process whose model raises KeyboardInterrupt on its second batch
    of frames, as Ctrl-C does: it must say so in one line and exit 130."""
    import subprocess

    monkeypatch.setenv("VSEARCH_MODEL", "test-interrupt")
    monkeypatch.setenv("VSEARCH_EXTRACT_CHUNK", "4")
    monkeypatch.setenv("VSEARCH_EXTRACT_DEDUP_THRESHOLD", "0")
    done = subprocess.run([sys.executable, "-m", "vsearch", "index", str(video)], capture_output=True,
                          text=True, env=os.environ, timeout=120)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (130, "vsearch: interrupted"), done.stderr
    assert "Traceback" not in done.stderr


def free_port() -> int:
    """A TCP port free on loopback now, for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, ok: bool = True):
    """Run the real CLI in-process; returns click's Result."""
    from click.testing import CliRunner

    from vsearch.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


def find_json(*args: str) -> list[dict]:
    """`vsearch find --json ARGS`, each segment checked: 0 <= start <= seek < end <= duration."""
    import json

    found = [json.loads(line) for line in run_cli("find", "--json", *args).stdout.splitlines()]
    if found:
        where = [x for i, a in enumerate(args) if a in ("--home", "--uri", "--token", "--collection")
                 for x in (a, args[i + 1])]  # list the index that was searched
        known = {v["path"]: v["duration"] for v in map(json.loads, run_cli("list", "--json", *where).stdout.splitlines())}
        for seg in found:
            assert 0 <= seg["start"] <= seg["seek"] < seg["end"] <= known[seg["video"]], seg
    return found
