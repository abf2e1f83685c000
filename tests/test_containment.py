"""`ingest` stays inside the folder it is given, and no file name can forge a line of its output."""

import json
import os
import subprocess

import pytest
from conftest import actions, find_json, ingest_json, run_cli

from vsearch.extract.paths import display, shell_quote
from vsearch.testing.media import colour_video


def skipped(link, target, root) -> str:
    """The problem line of a link out of `root`."""
    return f"{link}: a symlink to {target}, outside {root}; skipped (ingest.follow_links = true follows it)"


@pytest.fixture
def outside(tmp_path):
    """A folder holding the library `lib` and, beside it, `elsewhere` with a video."""
    top = tmp_path.resolve()  # problems name resolved paths
    (top / "lib").mkdir()
    (top / "elsewhere").mkdir()
    colour_video(top / "elsewhere" / "secret.mp4", [("blue", 1)])
    return top


def test_a_folder_link_out_of_the_library_is_skipped_unless_followed(settled, outside, monkeypatch):
    lib, elsewhere = outside / "lib", outside / "elsewhere"
    colour_video(lib / "here.mp4", [("red", 1)])
    (lib / "all").symlink_to(elsewhere)
    summary = ingest_json(str(lib))
    assert actions(summary) == {"here.mp4": "indexed"}
    assert summary["problems"] == [skipped(lib / "all", elsewhere, lib)]
    assert run_cli("ingest", str(lib)).stderr.count("/all") == 1

    monkeypatch.setenv("VSEARCH_INGEST_FOLLOW_LINKS", "true")
    summary = ingest_json(str(lib))
    assert actions(summary) == {"here.mp4": "skipped", "secret.mp4": "indexed"}
    assert summary["problems"] == []


def test_a_file_link_out_of_the_library_is_skipped_unless_followed(settled, outside, monkeypatch):
    lib, secret = outside / "lib", outside / "elsewhere" / "secret.mp4"
    (lib / "x.mp4").symlink_to(secret)
    summary = ingest_json(str(lib))
    assert summary["videos"] == [] and summary["problems"] == [skipped(lib / "x.mp4", secret, lib)]

    monkeypatch.setenv("VSEARCH_INGEST_FOLLOW_LINKS", "true")
    [video] = ingest_json(str(lib))["videos"]
    assert (video["path"], video["action"]) == (str(secret), "indexed")


def test_links_inside_the_library_are_followed_and_the_way_out_is_not(settled, outside):
    lib = outside / "lib"
    (lib / "talks").mkdir()
    colour_video(lib / "talks" / "talk.mp4", [("red", 1)])
    (lib / "here").symlink_to("talks")  # relative, inside
    (lib / "up").symlink_to("..")  # relative, the folder holding lib and elsewhere
    (outside / "alias").symlink_to(lib)  # the root itself given through a link
    summary = ingest_json(str(outside / "alias"))
    assert [(v["path"], v["action"]) for v in summary["videos"]] == [(str(lib / "talks" / "talk.mp4"), "indexed")]
    assert [p for p in summary["problems"] if "loop" not in p] == [skipped(lib / "up", outside, lib)]


def test_control_characters_in_a_name_are_escaped_for_people_and_kept_for_programs(settled, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    video = colour_video(lib / "a\nindexed  x\x1b[2J.mp4", [("red", 1)])
    shown = str(lib) + "/a\\nindexed  x\\x1b[2J.mp4"
    for command in (["ingest", str(lib)], ["list"], ["status"], ["find", "red", "-k", "1"]):
        output = run_cli(*command).output
        assert shown in output and "\x1b" not in output, command
        assert not any(line.startswith("indexed  x") for line in output.splitlines()), command
    [listed] = map(json.loads, run_cli("list", "--json").stdout.splitlines())
    [found] = find_json("red", "-k", "1")
    assert listed["path"] == found["video"] == str(video)


@pytest.mark.parametrize("name, shown", [
    ("talk.mp4", "talk.mp4"),
    ("it's \"one\".mp4", "it's \"one\".mp4"),
    ("讲座 第一讲.mp4", "讲座 第一讲.mp4"),
    ("a\nb.mp4", "a\\nb.mp4"),
    ("a\r\tb", "a\\r\\tb"),
    ("x\x1b[2J", "x\\x1b[2J"),
    ("del\x7f", "del\\x7f"),
    ("nel\x85", "nel\\u0085"),  # a character; \x85 would be the undecodable byte below
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    (os.fsdecode(b"caf\xe9\x85.mp4"), "caf\\xe9\\x85.mp4"),
])
def test_display(name, shown):
    assert display(name) == shown
    assert display(shown) == shown  # shown twice (a problem line of shown names) changes nothing


def test_a_shell_word_with_control_characters_is_one_line_and_reads_back():
    name = os.fsdecode(b"a\nb\x1b\xe9 it's") + "\x85\u2028"
    word = shell_quote(name)
    assert word == "$'a\\nb\\x1b\\xe9 it\\'s\\u0085\\u2028'"
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], check=True, capture_output=True,
                            env={**os.environ, "LC_ALL": "C.UTF-8"}).stdout
    assert echoed == os.fsencode(name)
