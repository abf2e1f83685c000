"""A video's soundtrack as 16 kHz mono windows, streamed so memory does not grow with length.

A 5-hour file is 1.1 GB of 16 kHz float samples; decoding it whole (what faster-whisper does
with a path) would hold all of it. Windows are cut at the quietest moment near their end, so
a word is rarely split between two of them.
"""

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vsearch.extract.errors import MediaError

RATE = 16000
# Where a window may end: the quietest 0.2 s of its last `_SEARCH` seconds.
_SEARCH = 10.0
_STEP = int(0.2 * RATE)


@dataclass
class AudioReport:
    """What reading the soundtrack met: packets that could not be decoded."""

    bad_packets: int = 0
    errors: list[str] = field(default_factory=list)


def has_audio(path: Path) -> bool:
    """Whether the file has an audio stream PyAV can open."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh) as container:
            return bool(container.streams.audio)
    except (OSError, av.FFmpegError, ValueError):
        return False


def _quiet_cut(samples: np.ndarray) -> int:
    """Index to cut `samples` at: the start of its quietest step within the last seconds."""
    lo = max(0, len(samples) - int(_SEARCH * RATE))
    tail = samples[lo : lo + (len(samples) - lo) // _STEP * _STEP]
    if len(tail) < _STEP:
        return len(samples)
    energy = (tail.reshape(-1, _STEP) ** 2).mean(axis=1)
    return lo + int(np.argmin(energy)) * _STEP + _STEP // 2


def decode_pcm(path: Path | BinaryIO, rates: Iterable[int] = (RATE,), report: AudioReport | None = None) -> Iterator[dict[int, np.ndarray]]:
    """The first audio stream of a file (a path or a binary file object) decoded once, as
    consecutive mono float32 pieces at each of `rates`
    (one resampler per rate): speech recognition and the sound model read the same decode.
    Undecodable packets are skipped and counted in `report`."""
    import av

    report = report if report is not None else AudioReport()
    rates = sorted(set(rates))
    opened = open(path, "rb") if isinstance(path, (str, Path)) else contextlib.nullcontext(path)
    with opened as fh, av.open(fh) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        resamplers = {r: av.AudioResampler(format="flt", layout="mono", rate=r) for r in rates}

        def frames() -> Iterator:
            for packet in container.demux(stream):
                try:
                    yield from packet.decode()
                except av.FFmpegError as exc:
                    report.bad_packets += 1
                    if len(report.errors) < 3:
                        report.errors.append(str(exc))
            yield None  # flush the resamplers

        for frame in frames():
            piece = {}
            try:
                for rate, resampler in resamplers.items():
                    out = resampler.resample(frame)
                    piece[rate] = (np.concatenate([o.to_ndarray().reshape(-1) for o in out]) if out
                                   else np.zeros(0, np.float32))
            except (av.FFmpegError, ValueError) as exc:
                report.bad_packets += 1
                report.errors.append(str(exc))
                continue
            yield piece


def pcm_windows(pieces: Iterable[np.ndarray], seconds: float = 300.0) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) windows of about `seconds` of a stream of 16 kHz pieces."""
    limit = int(seconds * RATE)
    pending: list[np.ndarray] = []
    held = offset = 0
    for piece in pieces:
        pending.append(piece)
        held += len(piece)
        if held >= limit:
            samples = np.concatenate(pending)
            cut = _quiet_cut(samples[:limit])
            yield offset / RATE, samples[:cut]
            offset += cut
            pending, held = [samples[cut:]], len(samples) - cut
    if held:
        yield offset / RATE, np.concatenate(pending)


def read_clip(source: Path | BinaryIO, rate: int, seconds: float, name: str) -> np.ndarray:
    """The first `seconds` of a file's sound at `rate` Hz, mono; a MediaError naming `name` for a
    file that cannot be read or has no audio stream."""
    import av

    parts, held = [], 0
    try:
        for piece in decode_pcm(source, (rate,)):
            parts.append(piece[rate])
            held += len(parts[-1])
            if held >= seconds * rate:
                break
        else:
            if not parts:
                raise MediaError(f"{name}: has no audio stream to search for")
    except OSError as exc:
        raise MediaError(f"{name}: cannot read the audio clip ({exc.strerror or exc})") from None
    except (av.FFmpegError, ValueError) as exc:
        raise MediaError(f"{name}: not a readable audio file ({getattr(exc, 'strerror', None) or exc})") from None
    return np.concatenate(parts)[: int(seconds * rate)]
