"""What is said and heard, from one decode of a video's soundtrack: speech transcribed and sound
windows handed to the sound model."""

import threading
from collections.abc import Callable
from pathlib import Path

from vsearch.extract.audio import AudioReport, RATE, decode_pcm, has_audio
from vsearch.extract.cache import CueCache
from vsearch.extract.paths import display
from vsearch.extract.speech import Speech, SpeechOptions, transcribe

from .sense_models import speech_model
from .sounds import SoundWindows


def listen(video: Path, speech: SpeechOptions, langs: set[str], cache: CueCache, stop: threading.Event,
           sound: SoundWindows | None, heard_to: Callable[[float], None] | None = None) -> Speech:
    """Transcribe speech and feed `sound` (then `finish` it) from one decode of the soundtrack.

    Speech recognition reads the 16 kHz pieces as they are decoded; the sound model takes each
    piece at its own rate on the way. When speech needs no more (cached, not wanted, stopped,
    failed), the rest is decoded for the sound model alone. Failures are warnings, never a
    failed video. `heard_to` is told how far transcription has come.
    """
    if sound is None or not has_audio(video):
        if sound is not None:
            sound.skip("no audio stream")
        return _transcribed(video, speech, langs, cache, stop, heard_to=heard_to)
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
    sound.finish()
    return said


def _transcribed(video: Path, options: SpeechOptions, langs: set[str], cache: CueCache, stop: threading.Event,
                 pcm=None, report: AudioReport | None = None, heard_to=None) -> Speech:
    if options.mode == "off":  # before its model is named: that asks which device it would run on
        return Speech(skipped="asr.mode is off")
    try:
        return transcribe(video, options, langs, cache, *speech_model(options), stop, pcm, report, heard_to)
    except Exception as exc:  # noqa: BLE001 - decoders and CTranslate2 raise many types; frames go on
        return Speech(skipped="failed", warnings=[f"{display(str(video))}: speech not transcribed ({exc}); "
                                                  "frames and subtitles are indexed"])
