"""Where in a timed cue the query's words are said (pure functions)."""

import re

from vsearch.extract.textfold import fold

# Words too common to say where a match is; seeking to the first "the" helps no one.
_COMMON = frozenset(
    "a an and are as at be but by for from has have how i in is it its of on or our so that the their "
    "them then there these they this to was we were what when where which who why will with you your "
    "的 了 是 在 和 与 也 就 都 而 及 着 吗 呢 吧 啊 这 那 我 你 他 她 它 们 部分 讲 讲到 说 关于".split()
)
_LATIN = re.compile(r"[0-9a-z]+(?:['’][a-z]+)?")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]+")


def query_terms(query: str) -> list[str]:
    """The query's distinctive words, folded and lower-cased: Latin words and Chinese words."""
    text = fold(query).lower()
    terms = [w for w in _LATIN.findall(text) if len(w) > 1]
    han = _HAN.findall(text)
    if han:
        import jieba

        terms += [w for run in han for w in jieba.lcut(run)]
    return [t for t in dict.fromkeys(terms) if t not in _COMMON]


def matched_at(text: str, words: tuple[tuple[int, float], ...], terms: list[str]) -> float | None:
    """Start time of the first timed word where one of `terms` occurs in `text`, or None."""
    if not words or not terms:
        return None
    folded = fold(text).lower()
    hits = [i for term in terms for i in [folded.find(term)] if i >= 0]
    if not hits:
        return None
    first = min(hits)
    starts = [t for offset, t in words if offset <= first]
    return starts[-1] if starts else words[0][1]
