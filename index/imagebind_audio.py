"""What ImageBind's audio tower reads: Kaldi-style log mel filterbanks of 2 s clips (data.py).

ImageBind computes them with torchaudio.compliance.kaldi.fbank (128 mel bins, 25 ms Hann
frames every 10 ms, htk_compat, no dither, no energy), which vsearch's CPU torch has no
build of; this is the same arithmetic in numpy. A sound is heard as three 2 s clips spread evenly
over it, each padded or cut to 204 frames and normalised with the training set's mean and spread.
"""

import numpy as np

RATE = 16000
MEL_BINS = 128
FRAMES = 204  # the audio tower's input width: 2 s of 10 ms frames, padded
CLIP_SECONDS = 2.0
CLIPS = 3
MEAN, STD = -4.268, 9.138  # the filterbanks' mean and spread over AudioSet (data.py)
FRAME_LENGTH = 400  # 25 ms at 16 kHz
FRAME_SHIFT = 160  # 10 ms
FFT = 512  # the frame length rounded up to a power of two, as Kaldi does
PREEMPHASIS = 0.97
LOW_HZ = 20.0


def _mel(hz):
    return 1127.0 * np.log(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_banks(bins: int = MEL_BINS, rate: int = RATE) -> np.ndarray:
    """(bins, FFT // 2 + 1) triangular weights, even in Kaldi's mel scale from 20 Hz to Nyquist;
    the last FFT bin (Nyquist) gets none, as in Kaldi."""
    low, high = _mel(LOW_HZ), _mel(rate / 2)
    delta = (high - low) / (bins + 1)
    left = low + delta * np.arange(bins)[:, None]
    mel = _mel(rate / FFT * np.arange(FFT // 2))[None, :]
    up = (mel - left) / delta
    down = (left + 2 * delta - mel) / delta
    weights = np.maximum(0.0, np.minimum(up, down))
    return np.pad(weights, ((0, 0), (0, 1)))


def fbank(wave: np.ndarray, bins: int = MEL_BINS, rate: int = RATE) -> np.ndarray:
    """(frames, bins) log mel energies of a mono clip, as kaldi.fbank gives with ImageBind's
    arguments (frames that would run past the end are left out: snip_edges)."""
    wave = np.asarray(wave, np.float64)
    count = 1 + (len(wave) - FRAME_LENGTH) // FRAME_SHIFT if len(wave) >= FRAME_LENGTH else 0
    if count == 0:
        return np.zeros((0, bins), np.float32)
    starts = np.arange(count)[:, None] * FRAME_SHIFT
    frames = wave[starts + np.arange(FRAME_LENGTH)]
    frames = frames - frames.mean(axis=1, keepdims=True)
    # Pre-emphasis with the first sample standing in for the one before it.
    frames = frames - PREEMPHASIS * np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = frames * np.hanning(FRAME_LENGTH)
    power = np.abs(np.fft.rfft(frames, n=FFT)) ** 2
    energies = power @ mel_banks(bins, rate).T
    return np.log(np.maximum(energies, np.finfo(np.float32).eps)).astype(np.float32)


def clip_bank(clip: np.ndarray) -> np.ndarray:
    """(1, MEL_BINS, FRAMES) normalised filterbank of one clip, mean removed first as ImageBind does."""
    bank = fbank(clip - np.mean(clip)).T
    bank = np.pad(bank, ((0, 0), (0, max(0, FRAMES - bank.shape[1]))))[:, :FRAMES]
    return ((bank - MEAN) / STD)[None].astype(np.float32)


def clip_starts(samples: int) -> list[int]:
    """Where ImageBind's CLIPS clips of CLIP_SECONDS start in a sound `samples` long: spread evenly
    from its start to its end (all at 0 for a shorter sound)."""
    last = max(samples / RATE - CLIP_SECONDS, 0.0)
    return [int(last / (CLIPS - 1) * i * RATE) for i in range(CLIPS)]


def sound_banks(sound: np.ndarray) -> np.ndarray:
    """(CLIPS, 1, MEL_BINS, FRAMES): the filterbanks ImageBind hears a sound by."""
    width = int(CLIP_SECONDS * RATE)
    return np.stack([clip_bank(sound[start : start + width]) for start in clip_starts(len(sound))])
