"""What is heard: the soundtrack as timed sound vectors, decoded once with speech recognition."""

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsearch.configs import default
from vsearch.errors import MediaError
from vsearch.extract.audio import RATE, AudioReport, decode_pcm, has_audio, read_clip
from vsearch.extract.cache import CueCache
from vsearch.extract.paths import display
from vsearch.extract.speech import Speech, SpeechOptions, transcribe

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


@dataclass
class Sounds:
    """A soundtrack's vectors: each covers [start, end), its hop, heard through a wider window."""

    starts: list[float] = field(default_factory=list)
    vecs: list[np.ndarray] = field(default_factory=list)
    hop: float = default("audio.hop")
    skipped: str = ""
    silent: int = 0


class SoundWindows:
    """Takes the soundtrack piece by piece and encodes one window per hop, centred on it.

    Only the last window's samples are held, so memory does not grow with the video's length.
    With `handoff`, full batches wait in a short queue for `encode_pending`, called by the thread
    that encodes frames: one thread runs the models, so the image model's activations and the
    sound model's never peak together (with ViT-B/32 frames, 1.4 GB against 2.0 GB; with every
    default model 2.05 GB against 2.6 GB: docs/sounds.md), and the two do not fight over the cores.
    """

    def __init__(self, encoder: AudioEncoder, options: AudioOptions, handoff: bool = False):
        self.encoder, self.rate = encoder, encoder.rate
        self.hop, self.window = int(options.hop * self.rate), int(max(options.window, options.hop) * self.rate)
        self.result = Sounds(hop=options.hop)
        self._buffer = np.zeros(0, np.float32)
        self._origin = 0  # sample index of _buffer[0]
        self._next = 0  # hop number of the next window
        self._batch: list[tuple[float, np.ndarray]] = []
        self._queue: queue.Queue | None = queue.Queue(maxsize=2) if handoff else None
        self._abandoned = threading.Event()
        self.failed = ""

    def _bounds(self, k: int) -> tuple[int, int]:
        centre = k * self.hop + self.hop // 2
        return max(0, centre - self.window // 2), centre + self.window // 2

    def feed(self, samples: np.ndarray) -> None:
        """Add the next samples; windows complete by now are queued and encoded in batches."""
        if self.failed or self._abandoned.is_set():
            return
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        while self._bounds(self._next)[1] <= self._origin + len(self._buffer):
            self._take(self._next)
            self._next += 1
        keep = self._bounds(self._next)[0] - self._origin
        if keep > 0:
            self._buffer, self._origin = self._buffer[keep:], self._origin + keep

    def _take(self, k: int) -> None:
        lo, hi = self._bounds(k)
        clip = self._buffer[lo - self._origin : hi - self._origin]
        if not audible(clip, self.rate):
            self.result.silent += 1
            return
        self._batch.append((k * self.hop / self.rate, clip.copy()))
        if len(self._batch) >= 16:
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

    def _encode(self, batch: list[tuple[float, np.ndarray]]) -> None:
        if self.failed:
            return
        try:
            vecs = self.encoder.encode_audio([clip for _, clip in batch])
        except Exception as exc:  # noqa: BLE001 - a model's failure costs the sound signal, not the video
            self.failed = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            self.result.starts.clear()
            self.result.vecs.clear()
            self.result.skipped = f"failed ({self.failed})"
            return
        self.result.starts.extend(t for t, _ in batch)
        self.result.vecs.extend(vecs)

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

    def finish(self) -> Sounds:
        """The vectors, the last hops (whose window the soundtrack's end cuts short) included;
        with `handoff`, complete once `encode_pending` has run after this returned."""
        end = self._origin + len(self._buffer)
        while self._next * self.hop < end and not self._abandoned.is_set():
            self._take(self._next)
            self._next += 1
        self._flush()
        return self.result


def listen(video: Path, speech: SpeechOptions, langs: set[str], cache: CueCache, stop: threading.Event,
           sound: SoundWindows | None, heard_to: Callable[[float], None] | None = None
           ) -> tuple[Speech, Sounds | None]:
    """Transcribe speech and embed sounds from one decode of the soundtrack.

    Speech recognition reads the 16 kHz pieces as they are decoded; the sound model takes each
    piece at its own rate on the way. When speech needs no more (cached, not wanted, stopped,
    failed), the rest is decoded for the sound model alone. Failures are warnings, never a
    failed video. `heard_to` is told how far transcription has come.
    """
    if sound is None or not has_audio(video):
        if sound is not None:
            sound.result.skipped = "no audio stream"
        return _transcribed(video, speech, langs, cache, stop, heard_to=heard_to), sound.result if sound else None
    report = AudioReport()
    pieces = decode_pcm(video, (RATE, sound.rate), report)

    def heard():
        for piece in pieces:
            sound.feed(piece[sound.rate])
            yield piece[RATE]

    said = _transcribed(video, speech, langs, cache, stop, heard(), report, heard_to)
    for piece in pieces:
        if stop.is_set():
            break
        sound.feed(piece[sound.rate])
    return said, sound.finish()


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


def _transcribed(video: Path, options: SpeechOptions, langs: set[str], cache: CueCache, stop: threading.Event,
                 pcm=None, report: AudioReport | None = None, heard_to=None) -> Speech:
    try:
        return transcribe(video, options, langs, cache, stop, pcm, report, heard_to)
    except Exception as exc:  # noqa: BLE001 - decoders and CTranslate2 raise many types; frames go on
        return Speech(skipped="failed", warnings=[f"{display(str(video))}: speech not transcribed ({exc}); "
                                                  "frames and subtitles are indexed"])
