"""What a new user meets first: a mistyped name said at once."""

from conftest import run_cli


def test_a_missing_video_is_said_before_any_model_loads(env, tmp_path, monkeypatch):
    """The model named cannot be loaded at all: a run that reached it would say so instead."""
    monkeypatch.setenv("VSEARCH_MODEL", "no-such/model-anywhere")
    result = run_cli("index", str(tmp_path / "lecture.mp4"), ok=False)
    assert result.exit_code == 1 and "lecture.mp4: no such file" in result.stderr, result.stderr
    assert "model" not in result.stderr and "Traceback" not in result.output
