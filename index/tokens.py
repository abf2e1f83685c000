"""What a word is, for matching queries to cues: the one tokenizer of stored cue text and of queries.

Every backend matches words the same way because vsearch, not Milvus, cuts them: words of spaced
scripts between spaces and punctuation (plurals by their stem), and jieba's search-mode words of
Chinese and Japanese runs (手机号码 also gives 手机 and 号码). A cue row stores its words as
integer ids (`ids`), so a filter holds only integers we compute, never a user's text.
"""

import hashlib
import re

# Function words of English and Chinese (and the commonest of Spanish, French and German), and the
# words people frame a query with ("the part that talks about", "讲到…的部分"): a cue sharing only
# these with a query shares nothing with it.
STOP_WORDS = frozenset(
    # English function words
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has have "
    "having he her here hers herself him himself his how i if in into is it its itself just me more most "
    "my myself no nor not now of off on once only or other our ours ourselves out over own same she should "
    "so some such than that the their theirs them themselves then there these they this those through to "
    "too under until up very was we were what when where which while who whom why will with would you "
    "your yours yourself yourselves i'm it's he's she's that's there's what's let's don't isn't "
    # Spanish, French and German function words that are no English word ("die", "son", "con", "pour" are)
    "el la los las una unos unas del al que es su sus se lo le les por para ha muy más pero como "
    "todo toda todos todas est une des du et ou qui il elle nous vous ils elles ne sur avec dans au aux "
    "der das dem des ein eine einen einem und oder ist sind nicht mit von zu im auf für sich auch "
    # how people frame a query
    "part parts moment moments scene scenes section bit clip video videos segment where's talk talks "
    "talking said says mention mentions mentioned discuss discusses discussed show shows shown "
    "explain explains explained explaining "
    # Chinese function words and framing
    "的 了 是 在 和 与 也 就 都 而 及 着 吗 呢 吧 啊 呀 这 那 这个 那个 这里 那里 我 你 他 她 它 我们 你们 他们 "
    "们 有 没有 一个 一 把 被 让 给 对 从 到 向 以 为 之 所 其 或 还 又 很 不 要 会 能 可以 "
    "部分 讲 讲到 说 说到 提到 谈到 关于 片段 那段 这段 地方 时候 画面 视频 解释 讲解 介绍".split()
)
# Scripts written without spaces (Han, kana) are cut by jieba; the rest are words between spaces
# and punctuation, in any alphabet.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
HAN = re.compile(f"[{_CJK}]+")
LATIN = re.compile(f"(?:(?![{_CJK}])[^\\W_])+(?:['’](?:(?![{_CJK}])[^\\W_])+)?")
# Milvus's largest ARRAY capacity: a cue's words past it are not matched (8 KB of text holds fewer).
MAX_WORDS = 4096


def stem(word: str) -> str:
    """A word's plural cut to its stem: "databases" finds "database"; anything bolder needs a language's stemmer."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words(text: str) -> list[str]:
    """The words of `text` (folded, extract/textfold.py), lower-cased and in order, stop words
    and one-letter words of spaced scripts left out."""
    low = text.lower()
    found = [w for w in LATIN.findall(low) if len(w) > 1]
    runs = HAN.findall(low)
    if runs:
        import jieba

        found += [w for run in runs for w in jieba.lcut_for_search(run)]
    return [w for w in found if w not in STOP_WORDS]


def word_id(word: str) -> int:
    """A word's id as stored: a 63-bit hash of its stem (the same in every process and version)."""
    key = word if HAN.match(word) else stem(word)
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") >> 1


def ids(text: str) -> list[int]:
    """The ids of a folded text's words, repeats kept (how often a cue says a word counts)."""
    return [word_id(w) for w in words(text)][:MAX_WORDS]
