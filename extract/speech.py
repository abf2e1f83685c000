"""What is said: faster-whisper transcripts as word-timed cues (`source = "asr"`)."""

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsearch.configs import default

from .audio import AudioReport, RATE, decode_pcm, has_audio, pcm_windows
from .cache import CueCache
from .types import Cue, Source

_SENTENCE_END = re.compile(r"[.!?。！？…]$")
# Whisper's own test for a segment that is not speech (openai/whisper transcribe.py).
_NO_SPEECH, _LOW_LOGPROB = 0.6, -1.0


@dataclass(frozen=True)
class SpeechOptions:
    """How speech is transcribed; configs/default.toml documents each. `model`, `device`,
    `compute_type` and `threads` say how to load the model, which index/sense_models.py does."""

    mode: str = default("asr.mode")
    model: str = default("asr.model")
    device: str = "auto"  # the `device` setting
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


def transcribe(video: Path, options: SpeechOptions, subtitle_langs: set[str], cache: CueCache, name: str,
               load: Callable[[], object], stop: threading.Event | None = None,
               pcm: Iterable[np.ndarray] | None = None, report: AudioReport | None = None,
               heard_to: Callable[[float], None] | None = None) -> Speech:
    """The video's speech as cues, from the cache when the model `name` has heard this content before.

    `load()` gives the faster-whisper model (index/sense_models.py), asked for only where the
    video is to be transcribed and its transcript is not cached. Setting `stop` (the frames
    failed) ends it at the next segment. `pcm` is the soundtrack as 16 kHz pieces when someone
    else decodes it (index/sounds.py shares one decode), with that decode's `report`; by default
    it is decoded here. `heard_to` is told the second transcription has reached after each
    window (progress on a terminal).
    """
    if options.mode == "off":
        return Speech(skipped="asr.mode is off")
    if not has_audio(video):
        return Speech(skipped="no audio stream")
    key = cache.key(video, "asr", name, options.language, str(options.beam_size), str(options.cue_seconds))
    hit = cache.get(key)
    if hit is not None:
        cues, notes = hit
        why = wanted(options, notes.get("language", ""), subtitle_langs)
        if why:
            return Speech(skipped=why, model=name)
        return Speech(cues, notes.get("language", ""), notes.get("probability", 0.0), name, cached=True)
    model = load()
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
