"""What a new user meets first: a mistyped name said at once."""

from conftest import run_cli


def test_a_missing_video_is_said_before_any_model_loads(env, tmp_path, monkeypatch):
    """The model named cannot be loaded at all: a run that reached it would say so instead."""
    monkeypatch.setenv("VSEARCH_MODEL", "no-such/model-anywhere")
    result = run_cli("index", str(tmp_path / "lecture.mp4"), ok=False)
    assert result.exit_code == 1 and "lecture.mp4: no such file" in result.stderr, result.stderr
    assert "model" not in result.stderr and "Traceback" not in result.output


def test_a_clip_cut_short_at_the_end_says_so(env, tmp_path):
    from vsearch.testing.media import colour_video

    video = colour_video(tmp_path / "short.mp4", [("red", 3)])
    result = run_cli("clip", str(video), "1", "20", "-o", str(tmp_path / "c.mp4"))
    assert "the video ends at 3 s, so the clip is 1-3 s" in result.stderr, result.stderr
    assert "note" not in run_cli("clip", str(video), "1", "2", "-o", str(tmp_path / "d.mp4")).stderr
