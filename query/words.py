"""The query's distinctive words: how much of them a cue holds, and where it says them (pure functions)."""

import math

from vsearch.extract.textfold import fold
from vsearch.index.tokens import HAN, LATIN, stem, words


def script_of(text: str) -> str:
    """"han" for text with Han or kana, "latin" for text whose letters are all Latin, else "other"."""
    import unicodedata

    if HAN.search(text):
        return "han"
    letters = [c for c in text if c.isalpha()]
    return "latin" if all(unicodedata.name(c, "").startswith("LATIN") for c in letters) else "other"


def query_terms(query: str) -> list[str]:
    """The distinctive words of a query in the form the index stores text (Store.folded), lower-cased
    and each once (index/tokens.py)."""
    return list(dict.fromkeys(words(query)))


def cue_marks(cue: str, terms: list[str]) -> list[str]:
    """The words of `cue`, as it writes them, that hold one of the query's distinctive `terms`
    (query_terms): what the page marks. Stop words never; plurals by their stem; Chinese where
    the folded cue holds the term, in the cue's own characters where folding kept its length."""
    low = cue.lower()
    stems = {stem(t) for t in terms if not HAN.match(t)}
    marks = [w for w in LATIN.findall(low) if stem(w) in stems]
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
    return stem(term) in latin


def _present(text: str, terms: list[str]) -> list[bool]:
    folded = fold(text).lower()
    latin = {stem(w) for w in LATIN.findall(folded)}
    return [_found(folded, latin, t) for t in terms]


def coverages(texts: list[str], terms: list[str], total: int) -> list[float]:
    """How much of the query each of `texts` says: the IDF of the query words it holds over that
    of all of them (1.0 holds every word; a cue sharing only stop words with the query holds 0).

    `texts` are the cues BM25 returned for the query, which hold every cue containing a query
    word as long as fewer than the candidate limit do, so a word's document frequency is counted
    among them, over `total` cues; a word found in none gets the highest weight. The weights are
    the same for every cue, whichever video it is in.
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
