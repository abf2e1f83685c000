"""The reads of an open index: a video's stored rows, and the searches of every signal.

A mixin of Store (index/store.py), which holds the connection, the collections' names and the
one way to query them (`query`, `rows`, `count`).
"""

from collections.abc import Iterable

import numpy as np

from vsearch.extract import Cue
from vsearch.extract.textfold import fold
from vsearch.extract.types import Source

from . import lexical, tokens
from .records import written
from .schema import search_breadth
from .types import Hit


def ids_filter(video_ids: Iterable[int] | None) -> str:
    """A filter keeping the given video ids (integers only), or "" for all."""
    if video_ids is None:
        return ""
    return f"video_id in [{', '.join(str(int(v)) for v in video_ids)}]"


class Reads:
    """What Store reads: stored rows by video, and nearest or best-matching rows by signal."""

    def frames_of(self, vid: int, kind: str = "frames") -> tuple[list[int], list[float], np.ndarray]:
        """A video's stored frames (or, `kind` "pictures", their picture-model vectors): slots, times
        and vectors in slot order, so a video whose speech or screen text is added later keeps
        them without being encoded again."""
        rows = sorted(self.rows(self.names[kind], f"video_id == {int(vid)}", ["slot", "t", "vec"])
                      if self._ready() else [], key=lambda r: r["slot"])
        vecs = np.asarray([r["vec"] for r in rows], dtype=np.float32).reshape(len(rows), -1 if rows else self.dim)
        return [int(r["slot"]) for r in rows], [float(r["t"]) for r in rows], vecs

    def pictures_of(self, vid: int) -> np.ndarray | None:
        """A video's picture-model vectors in slot order; None where it has none (or the index no picture model)."""
        vecs = self.frames_of(vid, "pictures")[2] if self._ready() and self.picture else None
        return vecs if vecs is not None and len(vecs) else None

    def sounds_of(self, vid: int):
        """A video's stored sound hops (index/sounds.py's Sounds), in time order; None without a sound model."""
        from .sounds import Sounds

        if not self._ready() or not self.audio:
            return None
        rows = sorted(self.rows(self.names["sounds"], f"video_id == {int(vid)}", ["start", "end", "vec"]),
                      key=lambda r: r["start"])
        hop = {"hop": rows[0]["end"] - rows[0]["start"]} if rows else {}
        vecs = tuple(np.asarray(r["vec"], np.float32) for r in rows)
        return Sounds(tuple(float(r["start"]) for r in rows), vecs, **hop)

    # --- search ---------------------------------------------------------------------------

    def _search(self, kind: str, vec, limit: int, video_ids, fields: list[str]) -> list[dict]:
        res = self.call("search", self.client.search, self.names[kind], data=[vec.tolist()], anns_field="vec",
                        limit=limit, filter=ids_filter(video_ids), output_fields=fields,
                        search_params=search_breadth(self, limit), **self.level(self.names[kind]))
        return res[0]

    def search_frames(self, vec: np.ndarray, limit: int, video_ids: Iterable[int] | None = None,
                      kind: str = "frames") -> list[Hit]:
        """Frames nearest the query vector: by the image model's vectors, or (`kind` "pictures",
        hits of the "pictures" signal) the picture model's; none where the index has no such."""
        if not self._ready() or (kind == "pictures" and not self.picture):
            return []
        return [
            Hit(kind, int(h["entity"]["video_id"]), rank, float(h["distance"]),
                float(h["entity"]["t"]), float(h["entity"]["t"]), slot=int(h["entity"]["slot"]))
            for rank, h in enumerate(self._search(kind, vec, limit, video_ids, ["video_id", "slot", "t"]))
        ]

    def frame_vector(self, vid: int, t: float, kind: str = "frames") -> np.ndarray | None:
        """The stored vector (of `kind`: frames, or pictures) of a video's frame nearest second `t`, or None."""
        if not self._ready() or (kind == "pictures" and not self.picture):
            return None
        rows = self.query(self.names[kind], f"video_id == {int(vid)} and t >= {float(t) - 1.0:.3f} "
                          f"and t <= {float(t) + 1.0:.3f}", ["t", "vec"], 64)
        if not rows:
            return None
        return np.asarray(min(rows, key=lambda r: abs(r["t"] - t))["vec"], dtype=np.float32)

    def search_sounds(self, vec: np.ndarray, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Hops of soundtrack whose sound vectors are nearest the query vector; none without a sound model."""
        if not self._ready() or not self.audio:
            return []
        return [Hit("audio", int(h["entity"]["video_id"]), rank, float(h["distance"]),
                    float(h["entity"]["start"]), float(h["entity"]["end"]))
                for rank, h in enumerate(self._search("sounds", vec, limit, video_ids, ["video_id", "start", "end"]))]

    def _cue_fields(self) -> list[str]:
        sources = [] if self.legacy == 1 else ["source", "extra"]  # version 1's cues had neither
        return ["video_id", "start", "end", "text", "lang", "speaker", *sources]

    def _cue_hit(self, signal: str, rank: int, score: float, e: dict) -> Hit:
        shown = written(e) if self.legacy != 1 else {"text": e["text"], "words": ()}
        return Hit(signal, int(e["video_id"]), rank, score, float(e["start"]), float(e["end"]), text=shown["text"],
                   lang=e["lang"], speaker=e["speaker"], source=e.get("source") or Source.SUBTITLE,
                   words=shown.get("words", ()))

    def search_cues(self, vec: np.ndarray, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Cues whose vectors are nearest the query vector."""
        if not self._ready():
            return []
        found = self._search("cues", vec, limit, video_ids, self._cue_fields())
        return [self._cue_hit("cues", rank, float(h["distance"]), h["entity"]) for rank, h in enumerate(found)]

    def folded(self, query: str) -> str:
        """A query's text in the form this index stores cue text: folded (extract/textfold.py)."""
        return fold(query)

    def search_words(self, words: str, limit: int, video_ids: Iterable[int] | None = None) -> list[Hit]:
        """Cues best by BM25 for the distinctive words of `words`, a query as `folded` gives it
        (index/tokens.py; none for none), scored by index/lexical.py; none in an older index read
        as it is (its words were never counted)."""
        terms = tokens.words(words)
        if not terms or not self._ready() or self.legacy:
            return []
        name = self.names["cues"]
        ids = list(dict.fromkeys(tokens.word_id(t) for t in terms))[: lexical.MAX_QUERY_WORDS]
        cue_ids, vids, starts, ends, words_of, lengths, frequencies, read = self._candidates(name, ids, video_ids)
        scores = lexical.bm25(words_of, lengths, ids, self.cue_count(), frequencies)
        best = lexical.ranked(scores, vids, starts, ends, limit)
        if not len(best):
            return []
        if read is not None:
            rows = read(best, self._cue_fields())
        else:
            rows = self.query(name, "", self._cue_fields(), ids=[int(cue_ids[i]) for i in best])
        found = {r["id"]: r for r in rows}
        return [self._cue_hit("bm25", rank, float(scores[i]), found[int(cue_ids[i])])
                for rank, i in enumerate(best) if int(cue_ids[i]) in found]

    def _candidates(self, name: str, ids: list[int], video_ids: Iterable[int] | None):
        """The cues holding any of the word `ids`: their ids, video ids, starts, ends, word ids end
        to end and counts of them, the words' frequencies where counted apart (index/lexical.py),
        and a reader of their rows by index; read in Milvus Lite's own process where this process
        runs it (index/lite/words.py; else the reader is None and rows are asked by key)."""
        from . import lite

        wanted = [int(v) for v in video_ids] if video_ids is not None else None
        if self.config.is_lite and lite.installed():
            from .lite import words

            found = words.candidates(self.opened, name, ids, wanted)
            if found is not None:
                *columns, read = found
                return (*columns, None, read)
        rows, frequencies = lexical.candidates(self, name, ids, ids_filter(wanted))
        columns = [np.array([r[k] for r in rows], dtype=np.float64 if k in ("start", "end") else np.int64)
                   for k in ("id", "video_id", "start", "end")]
        return (*columns, *lexical.flat([r["terms"] for r in rows]), frequencies, None)

    def cue_count(self) -> int:
        """Cue rows in the index, for the query words' IDF: counted once a connection that only
        reads (an IDF a few writes old ranks the same), at every call where this one writes."""
        if not self._ready():
            return 0
        if self.write or self._cue_total is None:
            self._cue_total = self.count(self.names["cues"])
        return self._cue_total

    def cues_of(self, vid: int, source: str) -> list[Cue]:
        """A video's cues of one source ("subtitle", "asr", "ocr"), in time order."""
        return [cue for cue, _ in self.cue_vectors_of(vid, source, vectors=False)]

    def cue_vectors_of(self, vid: int, source: str, vectors: bool = True) -> list[tuple[Cue, np.ndarray | None]]:
        """A video's cues of one source in time order, each with its text-model vector (None without `vectors`)."""
        if not self._ready() or self.legacy == 1:
            return []
        if source not in set(Source):
            raise ValueError(f"unknown cue source {source!r}")
        fields = ["start", "end", "text", "lang", "speaker", "extra"] + (["vec"] if vectors else [])
        rows = self.rows(self.names["cues"], f'video_id == {int(vid)} and source == "{source}"', fields)
        found = [(Cue(r["start"], r["end"], lang=r["lang"], speaker=r["speaker"], source=source, **written(r)),
                  np.asarray(r["vec"], np.float32) if vectors else None) for r in rows]
        return sorted(found, key=lambda c: (c[0].start, c[0].end))
