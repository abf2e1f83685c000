"""Whether a model's int8 image tower is faithful to its fp32 one, judged on the user's own frames.

With `engine_precision = "auto"` on a CPU, an ingest encodes its first distinct frames in fp32 and
keeps them (`Sample`); once there are SAMPLE of them, they are encoded in int8 too and `judge`
decides: int8 stays only where (a) its vector of a frame is within COSINE of fp32's for at least
COSINE_SHARE of the frames, and (b) each frame's nearest other frame is the same under both for at
least NEIGHBOUR_SHARE (of 64 frames, 99% is every one). The verdict is written beside the model's
exports, whole or not at all, for the int8 weights and the ONNX Runtime and CPU it judged, so an
interrupted check is made again and never half trusted (docs/performance.md, "int8 where it is
faithful"). The check never makes an ingest fail: whatever goes wrong leaves the frames fp32.
"""

import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vsearch.extract.machine import int8_instructions

from .engines import engine_for, model_hash, source_folder
from .gme import is_gme
from .loading import pick_device

log = logging.getLogger("vsearch")

SAMPLE = 64
COSINE = 0.99
COSINE_SHARE = 0.99
NEIGHBOUR_SHARE = 0.95
# A neighbour int8 picks that fp32 scores within this of fp32's own pick is the same neighbour: two
# frames fp32 itself cannot tell apart are a tie, and a swapped tie changes no ranking.
TIE = 1e-3
VERDICT = "image-int8-verdict.json"


@dataclass(frozen=True)
class Verdict:
    """What the check measured and decided; `why` says it in words."""

    passed: bool
    frames: int
    cosine_share: float  # frames whose int8 vector is within COSINE of fp32's
    lowest_cosine: float
    neighbour_share: float  # frames whose nearest other frame is the same under both
    judged: str  # the int8 weights, ONNX Runtime and CPU it was judged on (`judged_key`)
    why: str

    def line(self) -> str:
        """The measurements in one phrase, for `status` and the log."""
        return (f"{self.frames} frames: cosine to fp32 >= {COSINE} for {self.cosine_share:.0%} (lowest "
                f"{self.lowest_cosine:.4f}), same nearest frame for {self.neighbour_share:.0%}")


def judged_key(int8_meta: dict) -> str:
    """What a verdict holds for: the int8 entry's files, how they were quantized, the ONNX Runtime
    that runs them and the CPU's int8 instructions (its kernels differ with them)."""
    import hashlib
    import platform

    import onnxruntime

    # Sizes and digests, not times: int8 weights made again the same way are the same weights.
    files = json.dumps({name: [stamp[0], stamp[2]] for name, stamp in int8_meta.get("files", {}).items()},
                       sort_keys=True)
    digest = hashlib.sha256(f"{files} {int8_meta.get('quantization')}".encode()).hexdigest()[:16]
    return f"{digest} onnxruntime {onnxruntime.__version__} {platform.machine()} {int8_instructions()}"


def judge(fp32: np.ndarray, int8: np.ndarray, judged: str) -> Verdict:
    """The verdict on unit vectors of the same frames from both towers (rows in the same order)."""
    frames = len(fp32)
    cosines = np.sum(fp32 * int8, axis=1)
    close = float(np.mean(cosines >= COSINE))
    same = float(np.mean(_same_neighbours(fp32, int8)))
    failed = []
    if close < COSINE_SHARE:
        failed.append(f"cosine to fp32 >= {COSINE} for only {close:.0%} of frames (needs {COSINE_SHARE:.0%})")
    if same < NEIGHBOUR_SHARE:
        failed.append(f"the same nearest frame for only {same:.0%} (needs {NEIGHBOUR_SHARE:.0%})")
    why = "; ".join(failed) or "int8 tracks fp32 on these frames"
    return Verdict(not failed, frames, close, float(cosines.min()), same, judged, why)


def _same_neighbours(fp32: np.ndarray, int8: np.ndarray) -> np.ndarray:
    """Per frame, whether int8's nearest other frame is fp32's, or ties it under fp32."""
    exact, quantized = fp32 @ fp32.T, int8 @ int8.T
    np.fill_diagonal(exact, -np.inf)
    np.fill_diagonal(quantized, -np.inf)
    rows = np.arange(len(fp32))
    picked = exact[rows, quantized.argmax(1)]
    return picked >= exact.max(1) - TIE


class Sample:
    """The first distinct frames an ingest encoded, with their fp32 vectors, until there are SAMPLE.

    Distinct by their pixels: a copy (a black frame in every video) would be its own trivial nearest
    frame. Frames alike but not the same stay, however close their vectors (a random model's sit
    within 0.0001 of each other); fp32 ties among them are what TIE allows for.
    """

    def __init__(self):
        self.pixels: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []
        self._seen: set[bytes] = set()

    def add(self, pixels: np.ndarray, vectors: np.ndarray) -> None:
        import hashlib

        for frame, vector in zip(pixels, vectors):
            if self.full:
                return
            digest = hashlib.blake2b(np.ascontiguousarray(frame).tobytes(), digest_size=16).digest()
            if digest not in self._seen:
                self._seen.add(digest)
                self.pixels.append(frame.copy())
                self.vectors.append(vector)

    @property
    def full(self) -> bool:
        return len(self.vectors) >= SAMPLE


def read_verdict(root: Path) -> Verdict | None:
    """The verdict stored for a model; None when there is none or it cannot be read."""
    try:
        verdict = Verdict(**json.loads((root / VERDICT).read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return verdict if isinstance(verdict.passed, bool) and isinstance(verdict.judged, str) else None


def write_verdict(root: Path, verdict: Verdict) -> Verdict:
    """Store a verdict whole, written aside and linked into place; where another process stored one
    for the same weights first, that one is kept and returned, so every process obeys one verdict."""
    aside = root / f".verdict-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    aside.write_text(json.dumps(asdict(verdict)), "utf-8")
    try:
        os.link(aside, root / VERDICT)
    except FileExistsError:
        first = read_verdict(root)
        if first is not None and first.judged == verdict.judged:
            return first
        os.replace(aside, root / VERDICT)  # one for other weights, or unreadable
    finally:
        aside.unlink(missing_ok=True)
    return verdict


class FrameCheck:
    """One model's check under "auto": the precision its frames run at, judged on an ingest's frames."""

    def __init__(self, towers, model_id: str):
        self.towers, self.model_id = towers, model_id
        self.verdict = read_verdict(towers.root)
        self.sample = Sample()
        self._int8 = None  # whether frames run int8: settled on the first frames

    def precision(self, ingest: bool) -> str:
        """"int8" once a verdict for the int8 entry on disk passed; fp32 until then. Only an ingest
        makes a missing int8 entry again (a find never waits minutes to quantize)."""
        if self._int8 is None and self.verdict is not None and self.verdict.passed:
            if ingest or self.towers.ready("image", "int8"):
                self._int8 = self._still_holds()
        return "int8" if self._int8 else "fp32"

    def _still_holds(self) -> bool:
        """Whether the passed verdict is for the int8 entry this machine runs; else it is judged again."""
        try:
            holds = self.verdict.judged == judged_key(self.towers.tower("image", "int8").meta)
        except Exception as exc:  # noqa: BLE001 - quantizing raises many kinds; frames then stay fp32
            self._warn(f"its int8 weights cannot be made ({str(exc)[:200]})")
            self.sample = None
            return False
        if holds:
            self._close("fp32")  # its memory, for the rest of the run
        else:
            self._close("int8")
            self.verdict = None
        return holds

    def _close(self, precision: str) -> None:
        """Close the image tower's session at `precision` and hand its memory back to the OS."""
        from vsearch.extract.native import malloc_trim

        self.towers.close("image", precision)
        malloc_trim()

    def room(self, count: int, precision: str) -> int:
        """How many of `count` frames to encode before the check may decide (all, once it has)."""
        if precision != "fp32" or self.verdict is not None or self.sample is None:
            return count
        return max(1, min(count, SAMPLE - len(self.sample.vectors)))

    def see(self, pixels: np.ndarray, vectors: np.ndarray, precision: str,
            int8: Callable[[np.ndarray], np.ndarray]) -> None:
        """Take frames an ingest encoded at `precision`; `int8(pixels)` encodes the sample the other way."""
        if self.verdict is not None or self.sample is None or precision != "fp32":
            return
        self.sample.add(pixels, vectors)
        if not self.sample.full:
            return
        sample, self.sample = self.sample, None
        # The sample's fp32 vectors are in hand: one image tower open at a time keeps the ingest's peak
        # where fp32 alone had it (the fp32 one opens again if int8 fails).
        self._close("fp32")
        try:
            quantized = int8(np.stack(sample.pixels))
            verdict = judge(np.stack(sample.vectors), quantized, judged_key(self.towers.tower("image", "int8").meta))
        except (OSError, MemoryError) as exc:  # this machine now (a full disk): the next ingest tries again
            self._warn(f"its int8 check could not run ({exc})")
            self._close("int8")
            return
        except Exception as exc:  # noqa: BLE001 - quantizing or running int8 failed, and would again
            verdict = Verdict(False, len(sample.vectors), 0.0, -1.0, 0.0, "", f"int8 failed: {str(exc)[:200]}")
        try:
            verdict = write_verdict(self.towers.root, verdict)
        except OSError as exc:  # a read-only cache: obeyed in this run, judged again in the next
            log.warning(f"vsearch: warning: {self.model_id}'s int8 verdict cannot be stored in {self.towers.root} "
                        f"({exc.strerror or exc}); the next run judges it again")
        self.verdict = verdict
        if verdict.passed:
            self._int8 = True
        else:
            self._close("int8")
            self._warn(f"int8 was not faithful on {verdict.frames} of them ({verdict.why})")

    def _warn(self, why: str) -> None:
        log.warning(f"vsearch: warning: {self.model_id}'s frames stay fp32: {why}")


def engine_line(model_id: str, options) -> str:
    """What runs a CLIP-family model's towers here, for `status`, with its int8 verdict; "" for a
    model not on this machine or a plugin's. Nothing is loaded."""
    try:
        source = source_folder(model_id)
    except ValueError:  # a name that is no hub id
        source = None
    if source is None:
        return ""
    root = options.cache / model_hash(source, "clip")
    if engine_for(options.engine, options.device) == "torch" or (root / "failed.json").exists() or is_gme(model_id):
        return "engine: torch"
    if options.engine_precision != "auto" or pick_device(options.device) != "cpu":
        every = options.engine_precision if options.engine_precision != "auto" else "fp32"
        return f"engine: ONNX Runtime, every tower {every}"
    verdict = read_verdict(root)
    if verdict is None:
        image = f"image tower fp32 until int8 is checked on the first {SAMPLE} distinct frames one run encodes"
    elif verdict.passed:
        image = f"image tower int8, checked faithful on {verdict.line()}"
    else:
        image = f"image tower fp32: int8 was not faithful on {verdict.frames} frames ({verdict.why})"
    return f"engine: ONNX Runtime; {image}; text and sound towers fp32"
