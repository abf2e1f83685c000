"""Chapters of one video from what the index holds (pure functions): where slides change, where
what is said moves to another topic, and where the picture changes for long, each chapter titled
by its slide's title or the words that set what is said in it apart."""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vsearch.index.tokens import HAN, LATIN, STOP_WORDS

from .segments import snap_to

# A slide counts as new when fewer than this share of its words were on the slide before.
_SAME_SLIDE = 0.5


@dataclass(frozen=True)
class Chapter:
    """A stretch of a video with its title; `why` says what began it: "start", "slide", "topic" or "scene"."""

    start: float
    end: float
    title: str
    why: str


def words_of(text: str) -> list[str]:
    """The words of a text for telling chapters apart: spaced-script words and Chinese characters in pairs."""
    low = text.lower()
    found = [w for w in LATIN.findall(low) if len(w) > 2 and w not in STOP_WORDS]
    for run in HAN.findall(low):
        found += [run[i : i + 2] for i in range(max(1, len(run) - 1))]
    return found


def slide_changes(slides: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """(start, text) of each slide that shows new words, not the same slide read again."""
    kept, before = [], set()
    for start, text in sorted(slides):
        now = set(words_of(text))
        if now and len(now & before) < _SAME_SLIDE * len(now):
            kept.append((start, text))
        before = now or before
    return kept


def shifts(times: np.ndarray, vecs: np.ndarray, duration: float, window: float) -> np.ndarray:
    """Per whole second t: how far the mean vector of [t - window, t) lies from that of [t, t + window)
    (1 - cosine; 0 where either side has nothing). `times` are when each vector begins."""
    seconds = max(0, int(duration))
    out = np.zeros(seconds + 1, np.float32)
    if len(vecs) == 0:
        return out
    order = np.argsort(times)
    times, vecs = np.asarray(times, np.float64)[order], np.asarray(vecs, np.float32)[order]
    sums = np.vstack([np.zeros((1, vecs.shape[1]), np.float32), np.cumsum(vecs, axis=0)])
    for t in range(1, seconds):
        lo, mid, hi = np.searchsorted(times, [t - window, t, t + window])
        if mid - lo < 2 or hi - mid < 2:
            continue
        before, after = sums[mid] - sums[lo], sums[hi] - sums[mid]
        norm = float(np.linalg.norm(before) * np.linalg.norm(after))
        out[t] = 1.0 - float(before @ after) / norm if norm > 0 else 0.0
    return out


def chance_level(times: np.ndarray, vecs: np.ndarray, duration: float, window: float, shuffles: int = 20) -> float:
    """The largest shift the same vectors give in a random order (the 95th percentile of `shuffles`
    tries, seeded): what a video without changes shows by chance, whatever the model's scale."""
    if len(vecs) < 4:
        return math.inf
    rng = np.random.default_rng(0)
    tops = [shifts(times, vecs[rng.permutation(len(vecs))], duration, window).max() for _ in range(shuffles)]
    return float(np.quantile(tops, 0.95))


def peaks(values: np.ndarray, radius: int, floor: float = 0.0) -> list[tuple[int, float]]:
    """(second, strength in [0, 1]) of the peaks that stand out: the highest value within `radius`
    seconds either side, above `floor` (chance_level) and above the mean by half a standard
    deviation of the seconds that have a value (TextTiling's cut-off, on distances). Of a run of
    equal values, the last second: every second of it splits the same items apart, and the last
    is where the next one begins."""
    live = values[values > 0]
    if len(live) < 3:
        return []
    cut, top = max(float(live.mean() + 0.5 * live.std()), floor), float(live.max())
    found = []
    for t in range(1, len(values) - 1):
        v = values[t]
        if v > cut and v > values[t + 1] and v >= values[max(0, t - radius) : t + radius + 1].max():
            found.append((t, (v - cut) / (top - cut) if top > cut else 1.0))
    return found


def _changes(times: np.ndarray, vecs: np.ndarray, duration: float, window: float) -> list[tuple[int, float]]:
    return peaks(shifts(times, vecs, duration, window), int(window / 2), chance_level(times, vecs, duration, window))


def boundaries(duration: float, slides: list[float], topics: list[tuple[int, float]],
               scenes: list[tuple[int, float]], min_length: float) -> list[tuple[float, str]]:
    """Chapter starts, strongest first kept where each lies `min_length` from the others and the
    ends: a slide change (strength 1, more where the topic shifts there too), a topic shift, a
    long change of picture (half as strong)."""
    candidates = [(1.0 + max((s for t, s in topics if abs(t - at) <= 5), default=0.0), at, "slide") for at in slides]
    candidates += [(s, float(t), "topic") for t, s in topics]
    candidates += [(0.5 * s, float(t), "scene") for t, s in scenes]
    chosen: list[tuple[float, str]] = []
    for _, at, why in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if min_length <= at <= duration - min_length and all(abs(at - t) >= min_length for t, _ in chosen):
            chosen.append((at, why))
    return sorted(chosen)


def distinctive(texts: list[str], count: int = 3) -> list[str]:
    """For each text, its `count` words most particular to it among the others (tf-idf), joined; "" for none."""
    bags = [Counter(words_of(t)) for t in texts]
    df = Counter(w for bag in bags for w in bag)
    titles = []
    for bag in bags:
        score = {w: n * math.log((1 + len(bags)) / df[w]) for w, n in bag.items()}
        best = sorted(score, key=lambda w: (-score[w], w))[:count]
        titles.append(", ".join(best))
    return titles


def slide_title(text: str, words: int = 6) -> str:
    """A slide's title: its first words (text is read top to bottom, so the title leads)."""
    text = " ".join(text.split())
    if HAN.match(text):
        return re.split(r"\s", text, maxsplit=1)[0][:24]
    return " ".join(text.split(" ")[:words])[:60]


def chapters(duration: float, slides: list[tuple[float, str]], said: list[tuple[float, str, np.ndarray]],
             frames: tuple[np.ndarray, np.ndarray], min_length: float, topic_window: float = 30.0,
             scene_window: float = 10.0, cuts: Sequence[float] = ()) -> list[Chapter]:
    """Chapters of a video `duration` seconds long from its slides ((start, text) read off the
    screen), what is said ((start, text, text-model vector) per cue) and its frames ((times,
    image-model vectors)), none shorter than `min_length` seconds; a chapter found to the second
    starts on the cut between shots (`cuts`) within that second, if there is one."""
    if duration <= 0:
        return []
    changes = slide_changes(slides)
    said_times = np.asarray([s for s, _, _ in said], np.float64)
    said_vecs = np.stack([v for _, _, v in said]).astype(np.float32) if said else np.zeros((0, 1), np.float32)
    topics = _changes(said_times, said_vecs, duration, topic_window)
    scenes = _changes(np.asarray(frames[0], np.float64), np.asarray(frames[1], np.float32), duration, scene_window)
    # A slide is read on the first sampled frame that shows it: it came up within the second before.
    found = boundaries(duration, [float(math.floor(s)) for s, _ in changes], topics, scenes, min_length)
    starts = [(0.0, "start")] + [(snap_to(at, cuts, 1.0), why) for at, why in found]
    ends = [s for s, _ in starts[1:]] + [duration]
    spoken = [" ".join(text for at, text, _ in said if a <= at < b) for (a, _), b in zip(starts, ends)]
    shown = [" ".join(text for at, text in slides if a <= at < b) for (a, _), b in zip(starts, ends)]
    words = distinctive([f"{s} {o}" for s, o in zip(spoken, shown)])
    result = []
    for n, ((start, why), end) in enumerate(zip(starts, ends)):
        slide = next((text for at, text in changes if start - 1.0 <= at < min(end, start + 15.0)), "")
        title = slide_title(slide) if slide else words[n] or f"Chapter {n + 1}"
        result.append(Chapter(round(start, 3), round(end, 3), title, why))
    return result
