"""Whether the models a command needs are on this machine, asked before any of them loads: one
error naming every one that is missing, each with how to fetch it, rather than one per run."""

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

from .audio_encoders import AUDIO_PRESETS, embeds_sounds
from .encoders import PRESETS
from .engines import source_folder
from .loading import (
    IMAGE,
    Kind,
    ModelError,
    SCREEN_TEXT,
    SOUND,
    SPEECH,
    TEXT,
    fetch_command,
    hub_reachable,
    load_failure,
    refuse,
)
from .picture_models import NONE, PICTURE, PICTURE_PRESETS
from .sense_models import INSTALL_RAPIDOCR, INSTALL_WHISPER, installed, ocr_here, speech_model_name, whisper_here
from .text_encoders import TEXT_PRESETS

RAPIDOCR = "RapidOCR PP-OCRv4"  # the screen-text model, inside its package

Missing = tuple[Kind, str, str]  # kind, model id, how to get it ("" for a download)


def check_models(needed: Iterable[tuple[Kind, str]], wanted: Iterable[tuple[Kind, str]] = ()) -> None:
    """One ModelError naming every missing model, where one the command cannot run without
    (`needed`: kind and name as given) is missing; the `wanted` ones (speech, sounds, screen text,
    whose loss is a warning on each video) are named with them, so one fetch brings them all.

    A model is missing when it is no folder, not in the Hugging Face cache and the hub cannot be
    reached (or its package is not installed). Names no loader knows are left to their loader.
    """
    reachable = functools.cache(hub_reachable)  # asked once, and only when some model is not here
    missing = [found for kind, name in needed if (found := _missing(kind, name, reachable))]
    if not missing:
        return
    missing += [found for kind, name in wanted if (found := _missing(kind, name, reachable))]
    if len(missing) == 1 and not missing[0][2]:
        kind, model_id, _ = missing[0]
        raise load_failure(model_id, kind, LookupError(), offline=True)
    parts = [f"{kind.noun} {model_id} ({how or _fetch(kind, model_id)})" for kind, model_id, how in missing]
    count = f"{len(missing)} models this command uses are" if len(missing) > 1 else "a model this command uses is"
    hub = (". The Hugging Face hub is unreachable: run the commands on a machine with internet and copy its cache "
           "(~/.cache/huggingface) here; HF_HUB_OFFLINE=1 then skips the hub")
    raise ModelError(f"{count} missing: {'; '.join(parts)}" + (hub if any(not how for *_, how in missing) else ""))


def sense_models(options, sound: str) -> list[tuple[Kind, str]]:
    """The speech, screen-text, sound and picture models (`sound`: its name) an index run with
    `options` (IndexOptions) uses: check_models's `wanted`."""
    senses = [(SPEECH, speech_model_name(options.asr))] if options.asr.mode != "off" else []
    senses += [(SCREEN_TEXT, RAPIDOCR)] if options.ocr.mode != "off" else []
    # asr.device is the `device` setting every model runs on.
    senses += [(PICTURE, options.picture)] if options.picture != NONE else []
    return senses + ([(SOUND, sound)] if embeds_sounds(options.audio.mode, options.asr.device) else [])


def _fetch(kind: Kind, model_id: str) -> str:
    return f"`{fetch_command(kind, model_id)}`, or {kind.folder_hint()}" + (f", or set {kind.off}" if kind.off else "")


def _missing(kind: Kind, name: str, reachable: Callable[[], bool]) -> Missing | None:
    if kind == SCREEN_TEXT:
        return None if ocr_here() else (kind, RAPIDOCR, f"{INSTALL_RAPIDOCR}, or set {kind.off}")
    if kind == SPEECH:
        if not _hub_like(name):  # a folder, or a path its loader says is none
            return None
        if not installed("faster_whisper"):
            return kind, name, f"{INSTALL_WHISPER}, or set {kind.off}"
        return None if whisper_here(name) or reachable() else (kind, name, "")
    refuse(name)
    model_id = hub_id(kind, name)
    if model_id is None or source_folder(model_id) is not None or reachable():
        return None
    return kind, model_id, ""


def hub_id(kind: Kind, name: str) -> str | None:
    """The Hugging Face id an image, text, sound or picture model's name stands for: a preset's, or
    the id itself; None for a folder, the image model's tower, a plugin's name or a name no loader knows."""
    if kind == PICTURE and name in PICTURE_PRESETS:
        return PICTURE_PRESETS[name]
    presets = {IMAGE: PRESETS, TEXT: TEXT_PRESETS, SOUND: AUDIO_PRESETS, PICTURE: {}}[kind]
    if name in presets:
        return presets[name].model_id
    return name if _hub_like(name) and "/" in name else None


def _hub_like(name: str) -> bool:
    """Whether a name can only mean a Hugging Face id (or a faster-whisper size): no folder, no path."""
    return not Path(name).expanduser().is_dir() and name.count("/") <= 1 and not name.startswith((".", "/", "~"))
