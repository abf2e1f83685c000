"""`vsearch copy` between Milvus Lite folders (tests/test_real_milvus.py copies to a real server):
the same answers after it, nothing copied twice, a copy stopped midway finished by the next."""

import json

import pytest
from conftest import find_json, run_cli

from vsearch.testing.media import colour_video, write_vtt


@pytest.fixture
def two_videos(env, tmp_path):
    first = colour_video(tmp_path / "a.mp4", [("red", 3), ("blue", 3)])
    write_vtt(tmp_path / "a.vtt", [(0.5, 2.5, "the lighthouse keeper")])
    second = colour_video(tmp_path / "b.mp4", [("green", 4)])
    write_vtt(tmp_path / "b.zh.vtt", [(1.0, 3.0, "这里讲向量数据库")])
    run_cli("index", str(first), str(second))
    return first, second


def test_a_copy_answers_as_the_original_and_is_not_done_twice(two_videos, tmp_path):
    queries = ["blue", "lighthouse", "向量数据库", "green keeper"]
    before = [find_json(q) for q in queries]
    target = tmp_path / "other home"
    first = json.loads(run_cli("copy", str(target), "--json").stdout)
    assert (first["copied"], first["kept"]) == (2, 0) and first["rows"] == 6 + 4 + 2
    assert [find_json(q, "--home", str(target)) for q in queries] == before
    assert json.loads(run_cli("copy", str(target), "--json").stdout) == {"copied": 0, "kept": 2, "rows": 0}
    listed = run_cli("list", "--json", "--home", str(target)).stdout.splitlines()
    assert [json.loads(line)["state"] for line in listed] == ["done", "done"]


def test_a_copy_stopped_midway_is_finished_by_the_next(two_videos, tmp_path):
    from vsearch.library import copy_to
    from vsearch.settings import load_settings

    target = tmp_path / "half.db"

    def stop(record, copied):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_to(load_settings(), str(target), "", None, stop)
    done = json.loads(run_cli("copy", str(target), "--json").stdout)
    assert (done["copied"], done["kept"]) == (1, 1)
    assert find_json("lighthouse", "--uri", str(target)) == find_json("lighthouse")


@pytest.mark.slow
def test_copy_refusals_are_one_line(two_videos, env, tmp_path):
    same = run_cli("copy", str(env), ok=False)
    assert same.exit_code == 1 and "is the index being copied" in same.stderr
    other = tmp_path / "other.db"
    run_cli("copy", str(other))
    from vsearch.testing.checkpoints import tiny_clip

    model = str(tiny_clip(tmp_path / "clip"))
    empty = run_cli("copy", str(other), "--home", str(tmp_path / "empty"), ok=False)
    assert empty.exit_code == 1 and "nothing is indexed" in empty.stderr
    run_cli("index", str(tmp_path / "a.mp4"), "--home", str(tmp_path / "clip home"), "--model", model)
    refused = run_cli("copy", str(other), "--home", str(tmp_path / "clip home"), ok=False)
    assert refused.exit_code == 1 and "holds test-colors vectors" in refused.stderr
    for result in (same, empty, refused):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
