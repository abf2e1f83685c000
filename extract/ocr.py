"""What is shown as text: RapidOCR reads frames whose picture changed (`source = "ocr"`).

The frame loop decides which seconds to read (`ScreenPlan`) from the thumbnails it already makes
to skip re-encoding static frames; a worker thread reads them at full width (`ScreenReader`)
and merges text that stays on screen into one cue from when it appeared to when the picture
changed.
"""

import functools
import queue
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from vsearch.configs import default
from vsearch.errors import VsearchError

from .stills import Stills
from .thumbs import difference
from .types import Cue

_SPACE = re.compile(r"\s+")
# A frame is first searched for text at this size, detection only: 0.07 s instead of 0.46 s for a
# full read at 1280 px on 2 cores, and most frames of a film hold none.
_GATE_SIDE = 640


class OcrMissing(VsearchError):
    """The OCR package is not installed (rapidocr-onnxruntime supports Python below 3.13)."""


@dataclass(frozen=True)
class OcrOptions:
    """How on-screen text is read; configs/default.toml documents each."""

    mode: str = default("ocr.mode")
    max_side: int = default("ocr.max_side")
    min_score: float = default("ocr.min_score")
    change: float = default("ocr.change")
    settle: float = default("ocr.settle")
    threads: int = default("ocr.threads")


@functools.cache
def load_ocr(threads: int):
    """RapidOCR with its bundled PP-OCRv4 Chinese+English models, loaded once per process."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise OcrMissing("on-screen text needs rapidocr-onnxruntime (Python 3.12 or older): "
                         "pip install rapidocr-onnxruntime, or set ocr.mode = off") from None
    # "max": detection shrinks large frames instead of enlarging every frame to 736 px or more.
    kwargs = {"det_limit_type": "max", "det_limit_side_len": 960}
    if threads:
        kwargs.update({f"{part}_intra_op_num_threads": threads for part in ("det", "cls", "rec")})
    return RapidOCR(**kwargs)


def read_text(engine, pixels, min_score: float) -> str:
    """The lines read off one frame, top to bottom, joined by spaces; "" when there are none."""
    step = -(-max(pixels.shape[:2]) // _GATE_SIDE)
    boxes, _ = engine(pixels[::step, ::step].copy(), use_cls=False, use_rec=False)
    if boxes is None or len(boxes) == 0:
        return ""
    found, _ = engine(pixels, use_cls=False)
    lines = [_SPACE.sub(" ", text).strip() for _, text, score in found or () if float(score) >= min_score]
    return " ".join(line for line in lines if line)


class ScreenPlan:
    """Which sampled frames to read, from each frame's colour thumbnail difference.

    `on` reads every frame whose picture differs from the last one read. `auto` reads such a
    frame only once the picture holds still (within `settle` of the frame before), which slides
    and screen recordings do at once and a film's moving shots rarely do: a film's cost stays
    small, and text that stays on screen is still read.
    """

    def __init__(self, options: OcrOptions):
        self.options = options
        self._read_thumb = None
        self._prev_thumb = None
        self._since = None  # when the picture not yet read first appeared

    def decide(self, thumb, t: float) -> tuple[str, float]:
        """What to do with a frame: "read" it, "same" (the picture last read is still shown), or
        "changed" (not read: it differs from the last one read, and in `auto` is still moving);
        with the time it applies from: a read counts from when its picture first appeared."""
        prev, self._prev_thumb = self._prev_thumb, thumb
        if self._read_thumb is not None and difference(thumb, self._read_thumb) <= self.options.change:
            self._since = None
            return "same", t
        moved = prev is not None and difference(thumb, prev) > self.options.settle
        if self._since is None or moved:
            self._since = t  # a picture that keeps moving counts from its last change
        if self.options.mode == "auto" and (prev is None or moved):
            return "changed", t
        self._read_thumb, since, self._since = thumb, self._since, None
        return "read", since


class ScreenReader:
    """A thread that reads the frames a ScreenPlan picks and merges them into cues."""

    def __init__(self, video: Path, options: OcrOptions, step: float):
        self.options, self.step = options, step
        self._video = video
        self._jobs: queue.Queue = queue.Queue()
        self.cues: list[Cue] = []
        self.reads = 0
        self.error = ""
        self._thread = threading.Thread(target=self._work, name="vsearch-ocr", daemon=True)
        self._thread.start()

    def note(self, kind: str, since: float, t: float) -> None:
        """Queue what ScreenPlan.decide said of the frame at `t`: read, same or changed."""
        self._jobs.put((kind, since, t))

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
        try:
            engine = load_ocr(self.options.threads)
            stills = Stills(self._video, self.options.max_side)
        except Exception as exc:  # noqa: BLE001 - reported as a warning; frames are still indexed
            self.error = str(exc) if isinstance(exc, VsearchError) else f"cannot read on-screen text ({exc})"
            while self._jobs.get() is not None:
                pass
            return
        with stills:
            while (job := self._jobs.get()) is not None:
                kind, since, t = job
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
                try:
                    pixels = stills.at(t)
                    text = read_text(engine, pixels, self.options.min_score) if pixels is not None else ""
                except Exception as exc:  # noqa: BLE001 - one bad frame or a broken model stops reading
                    self.error = f"cannot read on-screen text at {t:.0f} s ({exc})"
                    continue
                self.reads += 1
                if open_cue and open_cue[2] == text:
                    open_cue[1] = t + self.step
                    continue
                self._close(open_cue)
                open_cue = [since, t + self.step, text]
        self._close(open_cue)

    def _close(self, cue) -> None:
        if cue and cue[2]:
            self.cues.append(Cue(round(cue[0], 3), round(cue[1], 3), cue[2], source="ocr"))
