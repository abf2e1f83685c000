"""Answering a FindRequest: by this index's server when one runs, else with the models loaded here.

Both roads end in `answer`, the one function that turns a request into segments over an open
index: the server's Resident calls it with its resident models, this process with models it
has just loaded. What differs between the roads is only where the models live.
"""

import contextlib
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from vsearch.extract.errors import VsearchError

from .request import FindRequest
from .session import (
    NO_SOUNDS,
    hearing,
    indexed_ids,
    load_models,
    load_picture,
    picture_vector,
    query_index,
    query_sound,
)
from .settings import Settings
from .wire import Answer


@dataclass(frozen=True)
class Loaded:
    """A request's models and query vectors, ready to search an open index."""

    encoder: object = None
    text: object = None
    audio: object = None  # the sound model: for a sound, or a text query's sound signal
    picture: object = None  # the image model's vector of the request's picture (or `looks`'s)
    sound: object = None  # the sound model's vector of the request's sound
    looks: object = None  # the picture model whose vector `picture` is, for a picture alone; None: the image model


def find(settings: Settings, request: FindRequest, say: Callable[[str], None] = print) -> Answer:
    """The answer to a checked request: from this index's server, one started for this terminal
    session (what it does is passed to `say`), or the models loaded here."""
    from . import background, remote

    if remote.can_send(request):
        answered = remote.find(settings, request)
        if answered is None and background.wanted(settings) and background.start(settings, say):
            answered = remote.find(settings, request)
        if answered is not None:
            return answered
    return here(settings, request)


def here(settings: Settings, request: FindRequest) -> Answer:
    """The answer with the models loaded in this process."""
    warming: list[threading.Thread] = []

    def load(meta) -> Loaded:
        if request.heard:
            return heard(hearing(settings, meta), request, settings["audio.query_seconds"])
        encoder, text = load_models(settings, meta, with_text=bool(request.query))
        looks, picture = pictured(request, encoder, lambda: load_picture(settings, meta))
        if request.query:
            warming.append(_warm(encoder, text, request.query))
        return Loaded(encoder, text, query_sound(settings, meta) if request.query else None, picture, looks=looks)

    with query_index(settings, load) as (store, loaded):
        for thread in warming:  # one encoding at a time: the two would share the cores
            thread.join()
        return answer(store, request, request.options(settings.find_options()), loaded)


def pictured(request: FindRequest, encoder, picture_model: Callable[[], object]) -> tuple[object, object]:
    """(the picture model a picture alone is ranked by, or None; the request's picture vector, or
    None): a picture alone by the index's picture model where it has one (`picture_model()` gives
    it), else by the image model, of the picture and the words together where it reads both."""
    if request.picture is None:
        return None, None
    looks = picture_model() if not request.query else None
    return looks, picture_vector(looks or encoder, request.picture, request.name or "image", request.query)


def _sees(meta: dict, audio) -> bool:
    """Whether a sound query ranks frames: the index has no sounds and its image model is the sound model."""
    return not meta.get("audio_model") and meta.get("model") == audio.model_id


def heard(audio, request: FindRequest, seconds: float) -> Loaded:
    """The sound model and its vector of the request's sound; an error where the index has no sounds."""
    from vsearch.index.sounds import clip_vector

    if audio is None:
        raise VsearchError(NO_SOUNDS)
    clip = request.sound_file if request.sound is None else io.BytesIO(request.sound)
    return Loaded(audio=audio, sound=clip_vector(audio, clip, seconds, request.name or "sound"))


def answer(store, request: FindRequest, options, loaded: Loaded) -> Answer:
    """The request's segments from an open index: a sound, a picture alone, or a text query (with
    a picture or not, one ranking). Videos whose files are gone are left out and named."""
    from vsearch.query import find_frames, find_noted, find_pictures, find_sounds

    gone: list[str] = []
    ids = indexed_ids(store, request.videos)

    def left_out(record) -> None:
        gone.append(record.path)

    notes: dict[str, str] = {}
    closest, under = None, []  # the ranking with no bar: text queries only
    if loaded.sound is not None and _sees(store.check() or {}, loaded.audio):
        found = find_frames(store, loaded.audio, loaded.sound, options, ids, left_out)
    elif loaded.sound is not None:
        found = find_sounds(store, loaded.audio, loaded.sound, options, ids, left_out)
    elif not request.query and loaded.looks is not None:
        found = find_pictures(store, (loaded.looks.model_id, loaded.looks.dim), loaded.picture, options, ids, left_out)
    elif not request.query:
        found = find_frames(store, loaded.encoder, loaded.picture, options, ids, left_out)
    else:
        found, notes, under = find_noted(store, loaded.encoder, request.query, options, ids, left_out,
                                         loaded.text, loaded.audio, loaded.picture)
    shown = request.select(found)
    if not shown and not request.offset:  # nothing passed: the closest that the request's filters let through
        closest = next(iter(replace(request, k=1).select(under)), None)
    return Answer(shown, notes, gone, closest)


def _warm(encoder, text, query: str) -> threading.Thread:
    """Encode the query once in a thread while the index opens, so that the models' sessions are
    open and their weights read in when find encodes it (a cold find's largest part; ONNX Runtime
    works outside the GIL). Its errors are find's to raise, when it encodes the query itself."""

    def warm() -> None:
        with contextlib.suppress(Exception):
            encoder.encode_texts([query])
            if text is not None and getattr(text, "tower_of", None) is not encoder:
                text.encode_queries([query])

    thread = threading.Thread(target=warm, name="vsearch-warm", daemon=True)
    thread.start()
    return thread

