"""Each vector signal's bar for one query: its model's probe levels, raised to the query's own background.

A model's probe levels (index/calibration.py) say where its similarities lie for right and wrong
pairs in general; the background (index/background.py) says where this query's similarities to
this index's rows lie. A hit counts only above both: where the query's chance level in the
index sits above the probes' unrelated level, both levels move up by the difference, so a share
keeps the model's own scale and a hit must stand out of what the query scores against anything.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from vsearch.index.background import MIN_ROWS, chance, kept, sample

from .words import script_of

# Per signal: which model it is, and what its probes ask of it (index/calibration.py).
_PROBED = {"frames": ("image", "match {script} text to pictures"), "cues": ("text", "tell {script} paraphrases apart"),
           "audio": ("sound", "match {script} text to sounds")}
# The collection each signal's hits come from; a picture's are frames, the picture model's its own.
KIND = {"frames": "frames", "picture": "frames", "cues": "cues", "audio": "sounds", "pictures": "pictures"}
_ROWS = {"frames": "frames", "cues": "cues", "sounds": "seconds of sound", "pictures": "frames"}


@dataclass(frozen=True)
class Bar:
    """A signal's (unrelated, match) levels for this query, or None where never measured (shares
    scaled per query); `floor`, the query's chance level in this index, or None without one."""

    pair: tuple[float, float] | None = None
    floor: float | None = None

    def raised(self) -> "Bar":
        """The bar with both levels moved up to the floor where the floor lies above the unrelated
        level, by at most half the way to the match level: where most of a library is like the
        query (a library of slides, asked for "slides"), the floor lies among the matches, and a
        hit that matches as well as the probes' right pairs still counts."""
        if self.pair is None or self.floor is None or self.floor <= self.pair[0]:
            return self
        unrelated, match = self.pair
        lift = min(self.floor - unrelated, (match - unrelated) / 2)
        return Bar((unrelated + lift, match + lift), self.floor)


def probe_levels(model, query: str, signal: str) -> tuple[tuple[float, float] | None, str | None]:
    """A model's (unrelated, match) levels for the query's script, with no note; where they were
    measured and it cannot tell this script's pairs apart, (1, 1), which gives nothing, and a note
    saying so; where they were never measured, None (scale per query)."""
    levels = model.levels if model is not None else None
    if not levels:
        return None, None
    script = script_of(query)
    script = script if script in levels else "latin"  # a script with no probes of its own (Cyrillic): Latin's
    if levels.get(script):
        return levels[script], None
    kind, fails = _PROBED[signal]
    return (1.0, 1.0), f"left out: the {kind} model {model.model_id} does not {fails.format(script=script)} (measured)"


def read_levels(query: str, encoder, text, audio, weights: Mapping[str, float]) -> tuple[dict, dict[str, str]]:
    """Each signal's probe levels for this query, and notes for the signals left out by them."""
    levels, notes = {}, {}
    for signal, model in {"frames": encoder, "cues": text, "audio": audio}.items():
        levels[signal], note = probe_levels(model, query, signal)
        if note and weights.get(signal, 0) > 0:
            notes[signal] = note
    return levels, notes


def bars(store, vectors: Mapping[str, object], pairs: Mapping[str, tuple | None],
         strength: float) -> tuple[dict[str, Bar], dict[str, str]]:
    """Each searched signal's Bar from its query vector (`vectors`: signal -> vector) against its
    collection's sample, and a note for each signal whose collection is too small for one.
    `strength` 0 leaves every floor out (find.background)."""
    found, notes = {}, {}
    entries = kept(store) if strength > 0 and vectors else {}
    for signal, vector in vectors.items():
        floor = None
        if strength > 0:
            drawn = sample(store, KIND[signal], entries)
            if drawn.vectors is not None:
                floor = chance(drawn.vectors @ vector, drawn.rows, strength)
            elif pairs.get(signal) != (1.0, 1.0):  # a signal left out needs no second note
                how = "measured by the model's probe levels alone" if pairs.get(signal) else "scaled among its hits"
                notes[signal] = (f"{drawn.rows} {_ROWS[KIND[signal]]} are too few to tell this query's background "
                                 f"(it takes {MIN_ROWS}): {how}")
        found[signal] = Bar(pairs.get(signal), floor).raised()
    return found, notes
