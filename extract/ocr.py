"""What is shown as text: RapidOCR reads frames whose picture changed (`source = "ocr"`).

The frame loop decides which seconds to read (`ScreenPlan`) by the change measure it already
applies to skip re-encoding static frames (extract/change.py); a worker thread reads them at
full width (`ScreenReader`) and merges text that stays on screen into one cue from when it
appeared to when the picture changed.
"""

import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsearch.configs import default
from vsearch.extract.errors import VsearchError

from .change import Look, Scene, shift
from .stills import Stills
from .types import Cue, Source

_SPACE = re.compile(r"\s+")
# A frame is first searched for text, detection only, on the frame loop's own decoded picture (224
# px or more; no larger than this), and decoded again at ocr.max_side and read in full only where
# some is found: most frames of a film hold none, and slide text is found there.
_GATE_SIDE = 640
# Frames a read looks back over for when its picture first appeared.
_LOOK_BACK = 8


@dataclass(frozen=True)
class OcrOptions:
    """How on-screen text is read; configs/default.toml documents each."""

    mode: str = default("ocr.mode")
    max_side: int = default("ocr.max_side")
    min_score: float = default("ocr.min_score")
    change: float = default("ocr.change")
    settle: float = default("ocr.settle")
    threads: int = default("ocr.threads")


def holds_text(engine, pixels) -> bool:
    """Whether the text detector finds any text on a frame, looked at no larger than _GATE_SIDE."""
    step = -(-max(pixels.shape[:2]) // _GATE_SIDE)
    boxes, _ = engine(np.ascontiguousarray(pixels[::step, ::step]), use_cls=False, use_rec=False)
    return boxes is not None and len(boxes) > 0


def read_text(engine, pixels, min_score: float) -> str:
    """The lines read off one frame, top to bottom, joined by spaces; "" when there are none."""
    found, _ = engine(pixels, use_cls=False)
    lines = [_SPACE.sub(" ", text).strip() for _, text, score in found or () if float(score) >= min_score]
    return " ".join(line for line in lines if line)


class ScreenPlan:
    """Which sampled frames to read, by the change measure (extract/change.py).

    A frame is new since the last one read when its shapes changed (`Scene.reshaped`: a line of
    text, another page number; not noise or a speaker's moving corner) or, while its shapes keep
    moving (a film), when its colour moved by more than `change`. `on` reads every new frame.
    `auto` reads one only once the picture holds still: unchanged in shape from the frame before,
    or its colour moved by at most `settle` (a slow pan under a title). Slides and screen
    recordings do at once, a film's moving shots rarely do: a film's cost stays small, and text
    that stays on screen is read.
    """

    def __init__(self, options: OcrOptions, scene: Scene):
        self.options = options
        self.scene = scene
        self._read: Look | None = None
        self._unread: list[tuple[float, Look]] = []  # the frames since the picture last read

    def decide(self, frame: Look, t: float) -> tuple[str, float]:
        """What to do with the frame the scene saw last: "read" it, "same" (the picture last read
        is still shown), or "changed" (not read: it differs from the last one read, and in `auto`
        is still moving); with the time it applies from: a read counts from when its picture
        first appeared."""
        if self._read is not None and not self._new(frame, self._read):
            # What is left out now (a part that keeps moving, the first second of a slide) may
            # be the start of the next picture read: kept to look back on.
            self._unread = (self._unread + [(t, frame)])[-_LOOK_BACK:] if self.scene.reshaped(
                self._read, frame, everywhere=True) else []
            return "same", t
        self._unread = (self._unread + [(t, frame)])[-_LOOK_BACK:]
        if self.options.mode == "auto" and self.scene.moved and self.scene.shifted > self.options.settle:
            return "changed", t
        # Judged again now that the scene knows its moving parts: a speaker's corner made the
        # first seconds of a slide look like motion until it was known to be one.
        since = t
        for earlier_t, earlier in reversed(self._unread[:-1]):
            if self._new(frame, earlier):
                break
            since = earlier_t
        self._read, self._unread = frame, []
        return "read", since

    def _new(self, frame: Look, than: Look) -> bool:
        """Whether the frame shows what an earlier one did not: other shapes, or, while its shapes
        keep moving (a film, a speaker's corner not yet known as one), a colour moved by more
        than `change`."""
        if self.scene.moved:
            return shift(than, frame) > self.options.change
        return self.scene.reshaped(than, frame)


class ScreenReader:
    """A thread that reads the frames a ScreenPlan picks and merges them into cues, with the OCR
    engine `load()` gives (index/sense_models.py), loaded on that thread at the first frame to read."""

    def __init__(self, video: Path, options: OcrOptions, step: float, load: Callable[[], object]):
        self.options, self.step = options, step
        self._video, self._load = video, load
        self._jobs: queue.Queue = queue.Queue()
        self.cues: list[Cue] = []
        self.reads = 0
        self.error = ""
        self._thread = threading.Thread(target=self._work, name="vsearch-ocr", daemon=True)
        self._thread.start()

    def note(self, kind: str, since: float, t: float, seen: np.ndarray | None = None) -> None:
        """Queue what ScreenPlan.decide said of the frame at `t`: read, same or changed; for a
        read, `seen` is the frame as the frame loop decoded it, searched for text before the
        frame is decoded again."""
        self._jobs.put((kind, since, t, seen))

    def stop(self) -> None:
        """Drop the reads still queued and end the thread."""
        self.error = self.error or "stopped"
        self.finish()

    def finish(self) -> tuple[list[Cue], str]:
        """Wait for the reads queued so far; the cues and an error ("" when none)."""
        self._jobs.put(None)
        self._thread.join()
        return self.cues, self.error

    def _work(self) -> None:
        open_cue = None  # [start, end, text]
        engine = stills = None
        try:
            while (job := self._jobs.get()) is not None:
                kind, since, t, seen = job
                if self.error:
                    continue
                if kind == "same":
                    if open_cue:
                        open_cue[1] = t + self.step
                    continue
                if kind == "changed":
                    self._close(open_cue)
                    open_cue = None
                    continue
                if engine is None:
                    # Loaded at the first frame to read, not before: a video with none (a film's
                    # moving shots, under auto) never holds the engine's few hundred MB.
                    try:
                        engine = self._load()
                        stills = Stills(self._video, self.options.max_side)
                    except Exception as exc:  # noqa: BLE001 - reported as a warning; frames are still indexed
                        self.error = str(exc) if isinstance(exc, VsearchError) else \
                            f"cannot read on-screen text ({exc})"
                        continue
                try:
                    text = ""
                    if holds_text(engine, seen):
                        pixels = stills.at(t)
                        text = read_text(engine, pixels, self.options.min_score) if pixels is not None else ""
                except Exception as exc:  # noqa: BLE001 - one bad frame or a broken model stops reading
                    self.error = f"cannot read on-screen text at {t:.0f} s ({exc})"
                    continue
                self.reads += 1
                if open_cue and open_cue[2] == text:
                    open_cue[1] = t + self.step
                    continue
                if open_cue:  # the picture read may have appeared before this read knew it
                    open_cue[1] = max(open_cue[0], min(open_cue[1], since))
                self._close(open_cue)
                open_cue = [since, t + self.step, text]
        finally:
            if stills is not None:
                stills.close()
        self._close(open_cue)

    def _close(self, cue) -> None:
        if cue and cue[2]:
            self.cues.append(Cue(round(cue[0], 3), round(cue[1], 3), cue[2], source=Source.OCR))
