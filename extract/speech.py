"""What is said: faster-whisper transcripts as word-timed cues (`source = "asr"`)."""

import functools
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsearch.configs import default
from vsearch.extract.errors import VsearchError

from .audio import AudioReport, RATE, decode_pcm, has_audio, pcm_windows
from .cache import CueCache
from .hub import hub_reachable
from .native import malloc_trim
from .types import Cue, Source

# Per device, by measurement and published error rates (README, "Speech"): small is the
# smallest multilingual model whose Chinese is usable, at about a third of real time on 2 cores;
# large-v3-turbo is near large-v3's accuracy at several times its speed on a GPU.
DEFAULT_MODELS = {"cpu": "small", "cuda": "large-v3-turbo"}
_SENTENCE_END = re.compile(r"[.!?。！？…]$")
# Whisper's own test for a segment that is not speech (openai/whisper transcribe.py).
_NO_SPEECH, _LOW_LOGPROB = 0.6, -1.0


class SpeechModelError(VsearchError):
    """The speech model cannot be found, downloaded or loaded."""


@dataclass(frozen=True)
class SpeechOptions:
    """How speech is transcribed; configs/default.toml documents each."""

    mode: str = default("asr.mode")
    model: str = default("asr.model")
    device: str = "auto"
    compute_type: str = default("asr.compute_type")
    threads: int = default("asr.threads")
    language: str = default("asr.language")
    beam_size: int = default("asr.beam_size")
    cue_seconds: float = default("asr.cue_seconds")
    window: float = default("asr.window")


@dataclass(frozen=True)
class Speech:
    """A transcript, or why there is none (`skipped`), with what to warn about."""

    cues: list[Cue] = field(default_factory=list)
    language: str = ""
    probability: float = 0.0
    model: str = ""
    skipped: str = ""
    cached: bool = False
    warnings: list[str] = field(default_factory=list)


def _device(options: SpeechOptions) -> tuple[str, int]:
    """CTranslate2's device and index for the `device` setting ("auto", "cpu", "cuda:1", "mps")."""
    if options.device.startswith("cuda"):
        return "cuda", int(options.device.partition(":")[2] or 0)
    if options.device == "auto":
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", 0
    return "cpu", 0


def model_name(options: SpeechOptions) -> str:
    """The model `asr.model` names on this machine: a size, a Hugging Face id or a folder."""
    return DEFAULT_MODELS[_device(options)[0]] if options.model == "auto" else options.model


@functools.cache
def load_whisper(name: str, device: str, index: int, compute_type: str, threads: int):
    """A faster-whisper model, loaded once per process; a failure too is remembered, so a library
    of videos probes the hub once, not once per video."""
    try:
        return _load_whisper(name, device, index, compute_type, threads)
    except SpeechModelError as exc:
        return exc


def _load_whisper(name: str, device: str, index: int, compute_type: str, threads: int):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise SpeechModelError("speech recognition needs faster-whisper: pip install faster-whisper "
                               "(or set asr.mode = off)") from None
    compute = compute_type if compute_type != "auto" else ("float16" if device == "cuda" else "int8")
    local = Path(name).is_dir()
    try:
        model = WhisperModel(name, device=device, device_index=index, compute_type=compute,
                             cpu_threads=threads, local_files_only=not local and not hub_reachable())
        malloc_trim()  # the float16 weights it read to convert to int8 (half a GB for `small`)
        return model
    except Exception as exc:  # CTranslate2 and the hub raise many types; all mean "cannot load"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        if local:
            raise SpeechModelError(f"cannot load speech model from {name}: {first}") from None
        raise SpeechModelError(
            f"cannot load speech model {name} ({first}); on a machine with internet run "
            f"`python -c \"import faster_whisper; faster_whisper.download_model('{name}')\"` and copy the "
            "Hugging Face cache, or set asr.model to a local CTranslate2 folder (or asr.mode = off)") from None


def _threads(options: SpeechOptions) -> int:
    # Speech runs beside frame decoding and encoding: half the cores unless told otherwise.
    return options.threads or max(1, (os.cpu_count() or 2) // 2)


def pieces(words: list[tuple[float, float, str]], limit: float, lang: str, prob: float) -> list[Cue]:
    """Cue-sized pieces of one timed segment, cut at word boundaries, each word's start kept."""
    cues: list[Cue] = []
    current: list[tuple[float, float, str]] = []

    def close() -> None:
        text, offsets = "", []
        for start, _, word in current:
            if not text:
                word = word.lstrip()
            offsets.append((len(text) + len(word) - len(word.lstrip()), round(start, 3)))
            text += word
        if text.strip():
            cues.append(Cue(round(current[0][0], 3), round(current[-1][1], 3), text.strip(), lang,
                            source=Source.ASR, words=tuple(offsets), lang_prob=round(prob, 3)))
        current.clear()

    for word in words:
        if current and word[1] - current[0][0] > limit:
            close()
        current.append(word)
        if _SENTENCE_END.search(word[2].strip()) and word[1] - current[0][0] >= limit / 3:
            close()
    if current:
        close()
    return cues


def wanted(options: SpeechOptions, spoken: str, subtitle_langs: set[str]) -> str:
    """"" when the video should be transcribed, else why not (`auto` with fitting subtitles)."""
    if options.mode == "on" or not subtitle_langs:
        return ""
    bases = {lang.split("-")[0].lower() for lang in subtitle_langs}
    if "" in bases:
        return "its subtitles (no language named) are taken to be in the language spoken"
    if spoken.split("-")[0].lower() in bases:
        return f"it has {spoken} subtitles"
    return ""


def transcribe(video: Path, options: SpeechOptions, subtitle_langs: set[str], cache: CueCache,
               stop: threading.Event | None = None, pcm: Iterable[np.ndarray] | None = None,
               report: AudioReport | None = None, heard_to: Callable[[float], None] | None = None) -> Speech:
    """The video's speech as cues, from the cache when this model has heard this content before.

    Setting `stop` (the frames failed) ends it at the next segment. `pcm` is the soundtrack as
    16 kHz pieces when someone else decodes it (index/sounds.py shares one decode), with that
    decode's `report`; by default it is decoded here. `heard_to` is told the second transcription
    has reached after each window (progress on a terminal).
    """
    if options.mode == "off":
        return Speech(skipped="asr.mode is off")
    if not has_audio(video):
        return Speech(skipped="no audio stream")
    name = model_name(options)
    key = cache.key(video, "asr", name, options.language, str(options.beam_size), str(options.cue_seconds))
    hit = cache.get(key)
    if hit is not None:
        cues, notes = hit
        why = wanted(options, notes.get("language", ""), subtitle_langs)
        if why:
            return Speech(skipped=why, model=name)
        return Speech(cues, notes.get("language", ""), notes.get("probability", 0.0), name, cached=True)
    device, index = _device(options)
    model = load_whisper(name, device, index, options.compute_type, _threads(options))
    if isinstance(model, SpeechModelError):
        raise model
    if pcm is None:
        report = AudioReport()
        pcm = (piece[RATE] for piece in decode_pcm(video, (RATE,), report))
    report = report if report is not None else AudioReport()
    cues: list[Cue] = []
    language, probability = options.language, 1.0 if options.language else 0.0
    for offset, samples in pcm_windows(pcm, options.window):
        if not language:
            if model.model.is_multilingual:
                language, probability, _ = model.detect_language(samples)
            else:
                language, probability = "en", 1.0
            why = wanted(options, language, subtitle_langs)
            if why:
                return Speech(skipped=why, language=language, probability=probability, model=name)
        segments, _ = model.transcribe(samples, language=language, beam_size=options.beam_size,
                                       word_timestamps=True, vad_filter=True, condition_on_previous_text=False)
        for seg in segments:
            if stop is not None and stop.is_set():
                return Speech(skipped="stopped", model=name)
            if seg.no_speech_prob > _NO_SPEECH and seg.avg_logprob < _LOW_LOGPROB:
                continue
            words = [(w.start + offset, w.end + offset, w.word) for w in seg.words or ()]
            words = words or [(seg.start + offset, seg.end + offset, seg.text)]
            cues.extend(pieces(words, options.cue_seconds, language, probability))
        if heard_to is not None:
            heard_to(offset + len(samples) / RATE)
    warnings = []
    if report.bad_packets:
        warnings.append(f"{video}: {report.bad_packets} audio packets could not be decoded "
                        f"({report.errors[0] if report.errors else 'damaged'}); transcribed the rest")
    cache.put(key, cues, {"language": language, "probability": probability, "model": name})
    return Speech(cues, language, probability, name, warnings=warnings)
