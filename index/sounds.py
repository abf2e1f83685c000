"""What is heard: the soundtrack as timed sound vectors (index/hearing.py decodes it once for
these and for speech)."""

import queue
import threading
from dataclasses import dataclass, replace

import numpy as np

from vsearch.configs import default
from vsearch.extract.errors import MediaError
from vsearch.extract.audio import read_clip

from .audio_encoders import AudioEncoder

# RMS under which a window is silence (-60 dBFS): it gets no vector, as nothing should match it.
SILENCE = 1e-3


@dataclass(frozen=True)
class AudioOptions:
    """How the soundtrack is embedded; configs/default.toml documents each."""

    mode: str = default("audio.mode")
    model: str = default("audio.model")
    window: float = default("audio.window")
    hop: float = default("audio.hop")
    query_seconds: float = default("audio.query_seconds")


@dataclass(frozen=True)
class Sounds:
    """A soundtrack's vectors: each covers [start, start + hop), heard through a wider window;
    `skipped` says why there are none, `silent` counts the windows left out as silence."""

    starts: tuple[float, ...] = ()
    vecs: tuple[np.ndarray, ...] = ()
    hop: float = default("audio.hop")
    skipped: str = ""
    silent: int = 0

    def before(self, seconds: float) -> "Sounds":
        """Those that start before `seconds`: a soundtrack may outlast the picture."""
        kept = [i for i, t in enumerate(self.starts) if t < seconds]
        return replace(self, starts=tuple(self.starts[i] for i in kept), vecs=tuple(self.vecs[i] for i in kept))


class SoundWindows:
    """Takes the soundtrack piece by piece and gives one vector per hop, from a window centred on it.

    A sound model that hears `span_seconds` at once and pools stretches of it (CLAP: 10 s) hears
    consecutive windows in one pass: each pass starts where the next window does and takes every
    window that ends inside it (8 of 3 s at a 1 s hop), so a film costs an eighth of the passes of
    one per window (docs/sounds.md). Other models hear each window alone. Only the current pass's
    samples are held, so memory does not grow with the video's length.
    With `handoff`, full batches wait in a short queue for `encode_pending`, called by the thread
    that encodes frames: one thread runs the models, so the image model's activations and the
    sound model's never peak together (with ViT-B/32 frames, 1.4 GB against 2.0 GB; with every
    default model 2.05 GB against 2.6 GB: docs/sounds.md), and the two do not fight over the cores.
    """

    def __init__(self, encoder: AudioEncoder, options: AudioOptions, handoff: bool = False):
        self.encoder, self.rate = encoder, encoder.rate
        self.hop, self.window = int(options.hop * self.rate), int(max(options.window, options.hop) * self.rate)
        reach = int(getattr(encoder, "span_seconds", 0.0) * self.rate)
        self.reach = reach if hasattr(encoder, "encode_spans") and reach >= self.window else 0
        self._hop_seconds = options.hop
        self._starts: list[float] = []
        self._vecs: list[np.ndarray] = []
        self._silent = 0
        self._skipped = ""
        self._buffer = np.zeros(0, np.float32)
        self._origin = 0  # sample index of _buffer[0]
        self._next = 0  # hop number of the next window
        self._batch: list[tuple[tuple[float, ...], np.ndarray, tuple[tuple[float, float], ...]]] = []
        self._queue: queue.Queue | None = queue.Queue(maxsize=2) if handoff else None
        self._abandoned = threading.Event()
        self.failed = ""

    def _bounds(self, k: int) -> tuple[int, int]:
        centre = k * self.hop + self.hop // 2
        return max(0, centre - self.window // 2), centre + self.window // 2

    def _pass_end(self) -> int:
        lo, hi = self._bounds(self._next)
        return lo + self.reach if self.reach else hi

    def feed(self, samples: np.ndarray) -> None:
        """Add the next samples; passes complete by now are queued and encoded in batches."""
        if self.failed or self._abandoned.is_set():
            return
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        while self._pass_end() <= self._origin + len(self._buffer):
            self._take(self._pass_end(), final=False)
        keep = self._bounds(self._next)[0] - self._origin
        if keep > 0:
            self._buffer, self._origin = self._buffer[keep:], self._origin + keep

    def _take(self, end: int, final: bool) -> None:
        """One pass over samples up to `end`: the next window, and with a pooling model each later
        one that ends inside it (`final`: the soundtrack ends at `end`, cutting the last ones short)."""
        start = self._bounds(self._next)[0]
        starts, spans = [], []
        while True:
            lo, hi = self._bounds(self._next)
            piece = self._buffer[lo - self._origin : min(hi, end) - self._origin]
            if audible(piece, self.rate):
                starts.append(self._next * self.hop / self.rate)
                spans.append(((lo - start) / self.rate, (min(hi, end) - start) / self.rate))
            else:
                self._silent += 1
            self._next += 1
            lo, hi = self._bounds(self._next)
            if not self.reach or self._next * self.hop >= end or (hi > end and not final):
                break
        if starts:
            self._batch.append((tuple(starts), self._buffer[start - self._origin : end - self._origin].copy(),
                                tuple(spans)))
        if sum(len(t) for t, _, _ in self._batch) >= 16:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self._queue is None:
            self._encode(batch)
            return
        while not self._abandoned.is_set():
            try:
                self._queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def _encode(self, batch: list[tuple[tuple[float, ...], np.ndarray, tuple[tuple[float, float], ...]]]) -> None:
        if self.failed:
            return
        clips = [clip for _, clip, _ in batch]
        try:
            if self.reach:
                vecs = [v for part in self.encoder.encode_spans(clips, [s for _, _, s in batch]) for v in part]
            else:
                vecs = list(self.encoder.encode_audio(clips))
        except Exception as exc:  # noqa: BLE001 - a model's failure costs the sound signal, not the video
            self.failed = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            self._starts.clear()
            self._vecs.clear()
            self._skipped = f"failed ({self.failed})"
            return
        self._starts.extend(t for starts, _, _ in batch for t in starts)
        self._vecs.extend(vecs)

    def encode_pending(self, wait: float = 0.0) -> None:
        """Encode the batches handed off so far (waiting up to `wait` s for one); the frames' thread calls this."""
        while self._queue is not None:
            try:
                batch = self._queue.get(timeout=wait) if wait else self._queue.get_nowait()
            except queue.Empty:
                return
            self._encode(batch)
            wait = 0.0

    def abandon(self) -> None:
        """Stop taking windows and let a feeder blocked on the queue go (the frames failed)."""
        self._abandoned.set()

    def skip(self, why: str) -> None:
        """There is nothing to hear, for this reason (no audio stream)."""
        self._skipped = why

    def finish(self) -> None:
        """Take the last hops (whose window the soundtrack's end cuts short); with `handoff`, their
        batch waits for `encode_pending`."""
        end = self._origin + len(self._buffer)
        while self._next * self.hop < end and not self._abandoned.is_set():
            self._take(min(end, self._pass_end()), final=self._pass_end() >= end)
        self._flush()

    def sounds(self) -> Sounds:
        """What was heard: complete once `finish` (and with `handoff`, `encode_pending`) ran."""
        return Sounds(tuple(self._starts), tuple(self._vecs), self._hop_seconds, self._skipped, self._silent)


def clip_vector(encoder: AudioEncoder, source, seconds: float, name: str = "the audio clip") -> np.ndarray:
    """The sound model's vector of the first `seconds` of an audio or video file (a path or a
    binary file object); a MediaError for one that cannot be read or holds no sound."""
    samples = read_clip(source, encoder.rate, seconds, name)
    if not audible(samples, encoder.rate):
        raise MediaError(f"{name}: has no sound to search for (silence)")
    return encoder.encode_audio([samples])[0]


def audible(samples: np.ndarray, rate: int) -> bool:
    """Whether a clip is long and loud enough for a vector to mean anything: a tenth of a second
    above -60 dBFS RMS."""
    return len(samples) >= rate // 10 and float(np.sqrt(np.mean(samples ** 2))) >= SILENCE
