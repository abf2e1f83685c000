"""A video's soundtrack as 16 kHz mono windows, streamed so memory does not grow with length.

A 5-hour file is 1.1 GB of 16 kHz float samples; decoding it whole (what faster-whisper does
with a path) would hold all of it. Windows are cut at the quietest moment near their end, so
a word is rarely split between two of them.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


def pcm_windows(path: Path, seconds: float = 300.0, report: AudioReport | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, float32 samples) windows of about `seconds` covering the first audio
    stream; undecodable packets are skipped and counted in `report`."""
    import av

    report = report if report is not None else AudioReport()
    limit = int(seconds * RATE)
    with open(path, "rb") as fh, av.open(fh) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        pending: list[np.ndarray] = []
        held = offset = 0

        def frames() -> Iterator:
            for packet in container.demux(stream):
                try:
                    yield from packet.decode()
                except av.FFmpegError as exc:
                    report.bad_packets += 1
                    if len(report.errors) < 3:
                        report.errors.append(str(exc))
            yield None  # flush the resampler

        for frame in frames():
            try:
                out = resampler.resample(frame)
            except (av.FFmpegError, ValueError) as exc:
                report.bad_packets += 1
                report.errors.append(str(exc))
                continue
            for piece in out:
                pending.append(piece.to_ndarray().reshape(-1))
                held += piece.samples
            if held >= limit:
                samples = np.concatenate(pending)
                cut = _quiet_cut(samples[:limit])
                yield offset / RATE, samples[:cut]
                offset += cut
                pending, held = [samples[cut:]], len(samples) - cut
        if held:
            yield offset / RATE, np.concatenate(pending)
