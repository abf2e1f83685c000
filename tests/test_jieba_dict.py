"""jieba's dictionary kept in SQLite cuts every text as jieba's own dictionary in memory does."""

import jieba
import pytest

from vsearch.index import jieba_dict

TEXTS = [
    "讲到向量数据库的部分", "我们在北京大学讨论机器学习和深度学习", "手机号码是多少", "iPhone的IT部门在QQ群里",
    "The part about vector databases", "A股和B超", "ベクトルデータベースの話", "我來到台灣的資料庫課程",
    "", "  ", "1999年12月31日", "C++ 和 C# 的区别", "'; DROP TABLE freq; --", "<script>alert(1)</script>",
]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """(jieba's own tokenizer, one with the SQLite dictionary)."""
    own, kept = jieba.Tokenizer(), jieba.Tokenizer()
    own.initialize()
    assert jieba_dict.install(tmp_path_factory.mktemp("cache"), kept)
    return own, kept


@pytest.mark.parametrize("text", TEXTS)
def test_every_cut_is_jiebas_own(both, text):
    own, kept = both
    assert list(kept.cut_for_search(text)) == list(own.cut_for_search(text))
    assert list(kept.cut(text)) == list(own.cut(text))
    assert list(kept.cut(text, HMM=False)) == list(own.cut(text, HMM=False))
    assert kept.total == own.total


def test_the_copy_is_made_once_and_read_by_later_processes(tmp_path):
    first, later = jieba.Tokenizer(), jieba.Tokenizer()
    assert jieba_dict.install(tmp_path, first)
    [made] = tmp_path.iterdir()
    stamp = made.stat().st_mtime_ns
    assert jieba_dict.install(tmp_path, later) and made.stat().st_mtime_ns == stamp
    assert list(tmp_path.iterdir()) == [made]  # no half-written copy left beside it
    assert len(later.FREQ) > 300_000 and "数据库" in later.FREQ and "no such word" not in later.FREQ


def test_where_no_copy_can_be_made_jieba_loads_its_own(tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    tokenizer = jieba.Tokenizer()
    assert not jieba_dict.install(blocked, tokenizer)
    assert not tokenizer.initialized and list(tokenizer.cut("向量数据库")) == ["向量", "数据库"]


def test_a_damaged_copy_is_made_again(tmp_path):
    jieba_dict.install(tmp_path, jieba.Tokenizer())
    [made] = tmp_path.iterdir()
    made.write_bytes(b"not a database")
    tokenizer = jieba.Tokenizer()
    assert jieba_dict.install(tmp_path, tokenizer)
    assert list(tokenizer.cut("向量数据库")) == ["向量", "数据库"] and made.stat().st_size > 1_000_000
