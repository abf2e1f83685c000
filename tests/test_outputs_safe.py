"""An output is never an input: clip, supercut, --clip-dir and --export refuse to write over the
videos they read or any indexed video, and a failure removes only what vsearch made.

Each test indexes a library of its own, so most are `slow`: the default suite keeps to its minutes."""

import hashlib
import os

import pytest
from conftest import run_cli

from vsearch.testing.media import colour_video


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def lib(env, tmp_path):
    """Two indexed videos of our own in lib/."""
    folder = tmp_path / "lib"
    folder.mkdir()
    a = colour_video(folder / "a.mp4", [("red", 2), ("green", 2)], audio=True)
    b = colour_video(folder / "b.mp4", [("green", 2), ("blue", 2)])
    run_cli("index", str(a), str(b))
    return folder


def _refused(result, *kept) -> None:
    assert result.exit_code == 2 and "write to another file" in result.stderr, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize("how", ["same", pytest.param("symlink", marks=pytest.mark.slow), "hardlink",
                                 pytest.param("dotted", marks=pytest.mark.slow)])
def test_a_clip_never_replaces_its_source(lib, tmp_path, how):
    src = lib / "a.mp4"
    before = _digest(src)
    out = {"same": src, "dotted": lib / "." / ".." / "lib" / "a.mp4", "symlink": tmp_path / "link.mp4",
           "hardlink": tmp_path / "hard.mp4"}[how]
    if how == "symlink":
        out.symlink_to(src)
    elif how == "hardlink":
        os.link(src, out)
    _refused(run_cli("clip", str(src), "0", "1", "-o", str(out), ok=False))
    assert _digest(src) == before


@pytest.mark.slow
def test_a_clip_never_replaces_another_indexed_video(lib):
    before = _digest(lib / "b.mp4")
    _refused(run_cli("clip", str(lib / "a.mp4"), "0", "1", "-o", str(lib / "b.mp4"), ok=False))
    assert _digest(lib / "b.mp4") == before


@pytest.mark.slow
def test_a_clip_of_an_unindexed_video_still_replaces_an_old_output(lib, tmp_path):
    old = tmp_path / "old.mp4"
    old.write_bytes(b"an earlier clip")
    run_cli("clip", str(lib / "a.mp4"), "0", "1", "-o", str(old))
    assert old.read_bytes()[4:8] == b"ftyp" and not list(tmp_path.glob(".*vsearch-part*"))


def test_a_supercut_onto_a_matched_video_is_refused_and_the_video_kept(lib):
    before = _digest(lib / "a.mp4")
    _refused(run_cli("supercut", "green", "-k", "2", "-o", str(lib / "a.mp4"), ok=False))
    assert _digest(lib / "a.mp4") == before


def test_a_failed_write_removes_only_its_own_file(tmp_path):
    """What the old supercut did on a failure was remove the path it was given, whatever it was."""
    from vsearch.extract.outputs import written

    out = tmp_path / "moments.mp4"
    out.write_bytes(b"yesterday's supercut")
    with pytest.raises(RuntimeError), written(out) as part:
        part.write_bytes(b"half a supercut")
        raise RuntimeError("ffmpeg failed")
    assert out.read_bytes() == b"yesterday's supercut" and os.listdir(tmp_path) == ["moments.mp4"]
    with written(out) as part:
        part.write_bytes(b"today's")
    assert out.read_bytes() == b"today's" and os.listdir(tmp_path) == ["moments.mp4"]


def test_writing_through_a_link_replaces_the_link_not_its_target(tmp_path):
    from vsearch.extract.outputs import written

    target, link = tmp_path / "someone_elses.txt", tmp_path / "out.edl"
    target.write_text("keep me")
    link.symlink_to(target)
    with written(link) as part:
        part.write_text("edit list")
    assert target.read_text() == "keep me" and not link.is_symlink() and link.read_text() == "edit list"


@pytest.mark.slow
def test_clip_dir_never_writes_over_an_indexed_video(lib, env):
    """A clip named like a video of the library, written into the library."""
    victim = colour_video(lib / "01-b-0-2.mp4", [("green", 2)])
    run_cli("index", str(victim))
    before = _digest(victim)
    result = run_cli("find", "green", "-k", "1", "--video", str(lib / "b.mp4"), "--clip-dir", str(lib))
    assert _digest(victim) == before and "an indexed video" in result.stderr


@pytest.mark.slow
def test_an_edit_list_never_replaces_the_query_picture(lib, tmp_path):
    picture = tmp_path / "query.otio"
    picture.write_bytes(b"not really a picture")
    result = run_cli("find", "--image", str(picture), "--export", str(picture), ok=False)
    _refused(result)
    assert picture.read_bytes() == b"not really a picture"


@pytest.mark.slow
def test_an_edit_list_never_replaces_an_indexed_video(lib, tmp_path):
    """A video named like an edit list (a .otio that is really an MP4) is still not overwritten."""
    named = colour_video(tmp_path / "cut.otio.mp4", [("green", 2)])
    run_cli("index", str(named))
    link = tmp_path / "cut.otio"
    link.symlink_to(named)
    before = _digest(named)
    _refused(run_cli("find", "green", "--export", str(link), ok=False))
    assert _digest(named) == before


@pytest.mark.slow
def test_an_output_inside_the_index_is_refused(lib, env):
    parts = [p for p in (env / "index.db").rglob("*") if p.is_file()]
    assert parts
    before = _digest(parts[0])
    _refused(run_cli("clip", str(lib / "a.mp4"), "0", "1", "-o", str(parts[0]), ok=False))
    assert _digest(parts[0]) == before


@pytest.mark.slow
def test_an_empty_output_name_is_one_line(lib):
    result = run_cli("clip", str(lib / "a.mp4"), "0", "1", "-o", "", ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output and "internal error" not in result.stderr
