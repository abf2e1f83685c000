"""A query opens the index once: its models are chosen from the copy of the meta row that a
Milvus Lite folder keeps (index/meta_copy.py), and a copy that is missing, damaged or behind the
row never changes an answer."""

import json
import os
import shutil

import pytest
from conftest import run_cli

from vsearch.index import Store, meta_copy
from vsearch.index import store as store_module
from vsearch.settings import load_settings


@pytest.fixture
def indexed(env, rgb_video):
    run_cli("index", str(rgb_video))
    config = load_settings().store_config()
    return config, os.path.join(config.uri, f"vsearch.{config.collection}.meta.json")


def find_counting_opens(monkeypatch, query: str) -> tuple[list[dict], int]:
    """(`vsearch find --json QUERY -k 1`'s segments, how many index connections it opened)."""
    made = []
    real = store_module.Connection

    def counted(*args, **kwargs):
        made.append(args)
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store_module, "Connection", counted)
        out = run_cli("find", "--json", query, "-k", "1").stdout
    return [json.loads(line) for line in out.splitlines()], len(made)


def test_index_keeps_a_copy_of_its_meta_row(indexed):
    config, path = indexed
    with Store(config, write=False) as store:
        assert meta_copy.read(config) == store.peek() == json.loads(open(path, encoding="utf-8").read())


def test_a_find_opens_the_index_once(indexed, monkeypatch):
    [hit], opened = find_counting_opens(monkeypatch, "green")
    assert hit["start"] <= 5 < hit["end"] and opened == 1


@pytest.mark.parametrize("copy", ["gone", "{not json", '["a list"]', "behind"])
def test_a_missing_damaged_or_stale_copy_gives_the_same_answer(indexed, monkeypatch, copy):
    config, path = indexed
    want, _ = find_counting_opens(monkeypatch, "green")
    if copy == "gone":
        os.unlink(path)
    elif copy == "behind":  # a writer died between the row and its copy: the levels not copied yet
        kept = meta_copy.read(config)
        meta_copy.keep(config, {k: v for k, v in kept.items() if not k.endswith("_levels")})
    else:
        open(path, "w", encoding="utf-8").write(copy)
    got, opened = find_counting_opens(monkeypatch, "green")
    assert got == want
    assert opened == (1 if copy == "behind" else 2)  # with no usable copy the row is read first


def test_a_copy_left_in_an_emptied_folder_misleads_no_one(indexed):
    config, path = indexed
    kept = open(path, encoding="utf-8").read()
    shutil.rmtree(config.uri)
    os.makedirs(config.uri)
    open(path, "w", encoding="utf-8").write(kept)
    result = run_cli("find", "green", ok=False)
    assert result.exit_code == 1 and "vsearch index" in result.stderr and "Traceback" not in result.output
