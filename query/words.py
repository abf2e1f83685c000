"""The query's distinctive words: how much of them a cue holds, and where it says them (pure functions)."""

import math
import re

from vsearch.extract.textfold import fold

# Function words of English and Chinese, and the words people frame a query with ("the part
# that talks about", "讲到…的部分"): a cue sharing only these with a query shares nothing with it.
STOP_WORDS = frozenset(
    # English function words
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has have "
    "having he her here hers herself him himself his how i if in into is it its itself just me more most "
    "my myself no nor not now of off on once only or other our ours ourselves out over own same she should "
    "so some such than that the their theirs them themselves then there these they this those through to "
    "too under until up very was we were what when where which while who whom why will with would you "
    "your yours yourself yourselves i'm it's he's she's that's there's what's let's don't isn't "
    # how people frame a query
    "part parts moment moments scene scenes section bit clip video videos segment where's talk talks "
    "talking said says mention mentions mentioned discuss discusses discussed show shows shown "
    # Chinese function words and framing
    "的 了 是 在 和 与 也 就 都 而 及 着 吗 呢 吧 啊 呀 这 那 这个 那个 这里 那里 我 你 他 她 它 我们 你们 他们 "
    "们 有 没有 一个 一 把 被 让 给 对 从 到 向 以 为 之 所 其 或 还 又 很 不 要 会 能 可以 "
    "部分 讲 讲到 说 说到 提到 谈到 关于 片段 那段 这段 地方 时候 画面 视频".split()
)
# Scripts written without spaces (Han, kana) are cut by jieba and matched as substrings; the
# rest are words between spaces and punctuation, in any alphabet.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
HAN = re.compile(f"[{_CJK}]+")
LATIN = re.compile(f"(?:(?![{_CJK}])[^\\W_])+(?:['’](?:(?![{_CJK}])[^\\W_])+)?")


def script_of(text: str) -> str:
    """"han" for text with Han or kana, "latin" for text whose letters are all Latin, else "other"."""
    import unicodedata

    if HAN.search(text):
        return "han"
    letters = [c for c in text if c.isalpha()]
    return "latin" if all(unicodedata.name(c, "").startswith("LATIN") for c in letters) else "other"


def _stem(word: str) -> str:
    # Plurals only: "databases" finds "database"; anything bolder needs a language's stemmer.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def query_terms(words: str) -> list[str]:
    """The distinctive words of a query in the form the index stores text (Store.folded), lower-cased:
    words of spaced scripts, and jieba's search-mode words of Chinese and Japanese runs (手机号码
    also gives 手机 and 号码)."""
    text = words.lower()
    terms = [w for w in LATIN.findall(text) if len(w) > 1]
    han = HAN.findall(text)
    if han:
        import jieba

        terms += [w for run in han for w in jieba.lcut_for_search(run)]
    return [t for t in dict.fromkeys(terms) if t not in STOP_WORDS]


def cue_marks(cue: str, terms: list[str]) -> list[str]:
    """The words of `cue`, as it writes them, that hold one of the query's distinctive `terms`
    (query_terms): what the page marks. Stop words never; plurals by their stem; Chinese where
    the folded cue holds the term, in the cue's own characters where folding kept its length."""
    low = cue.lower()
    stems = {_stem(t) for t in terms if not HAN.match(t)}
    marks = [w for w in LATIN.findall(low) if _stem(w) in stems]
    folded = fold(low)
    for term in (t for t in terms if HAN.match(t)):
        at = folded.find(term)
        while at >= 0:
            marks.append(low[at : at + len(term)] if len(folded) == len(low) else term)
            at = folded.find(term, at + 1)
    return list(dict.fromkeys(marks))


def _found(folded: str, latin: set[str], term: str) -> bool:
    if HAN.match(term):
        return term in folded
    return _stem(term) in latin


def _present(text: str, terms: list[str]) -> list[bool]:
    folded = fold(text).lower()
    latin = {_stem(w) for w in LATIN.findall(folded)}
    return [_found(folded, latin, t) for t in terms]


def coverages(texts: list[str], terms: list[str], total: int) -> list[float]:
    """How much of the query each of `texts` says: the IDF of the query words it holds over that
    of all of them (1.0 holds every word; a cue sharing only stop words with the query holds 0).

    `texts` are the cues BM25 returned for the query, which hold every cue containing a query
    word as long as fewer than the candidate limit do, so a word's document frequency is counted
    among them, over `total` cues; a word found in none gets the highest weight. Milvus Lite keeps
    BM25 statistics per segment, so its own scores are not comparable between videos indexed at
    different times; these weights are the same for every cue.
    """
    found = [_present(text, terms) for text in texts]
    n = max(total, len(texts), 1)
    weights = [math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for df in map(sum, zip(*found))] if found else []
    whole = sum(weights)
    if whole <= 0:
        return [0.0] * len(texts)
    return [sum(w for w, hit in zip(weights, row) if hit) / whole for row in found]


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
