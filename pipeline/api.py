"""The library API the CLI is a thin layer over."""

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display
from vsearch.extract.types import Source

from .settings import Settings


def store_opener(settings: Settings, write: bool = True) -> Callable:
    """A factory of short-lived index connections; `write=False` never creates or changes one."""
    from vsearch.index import Store

    config = settings.store_config()
    return lambda: Store(config, write)


def index_meta(settings: Settings) -> dict | None:
    """The index's schema, models and dimensions as stored, or None when nothing is indexed yet:
    the copy in a Milvus Lite folder (index/meta_copy.py), else read from the index, loading no
    vectors. A command reads this to choose its models, then opens the index once.
    """
    from vsearch.index import NoIndex, meta_copy

    kept = meta_copy.read(settings.store_config())
    if kept is not None:
        return kept
    try:
        with store_opener(settings, write=False)() as store:
            return store.peek()
    except NoIndex:
        return None


def load_models(settings: Settings, meta: dict | None, with_text: bool = True):
    """(image model, text model): each the explicitly chosen one, else the index's own, else the default.

    An index made before text models uses its image model's text tower ("image") for cues.
    Without `with_text` (a picture query) the text model is not loaded: None. With it, both
    carry their `levels` (index/calibration.py): the index's own, else measured now.
    """
    from vsearch.index import ModelError, load_encoder
    from vsearch.index.text_encoders import load_text_encoder

    def chosen(key: str, default: str) -> str:
        name = settings[key] if key in settings.explicit or meta is None else meta.get(key, default)
        if Path(name).is_absolute() and not Path(name).exists():
            raise ModelError(f"the index was built with the {key.replace('_', ' ')} folder {name}, which is "
                             f"gone: pass --{key.replace('_', '-')} with the folder's new place (the same model)")
        return name

    kept = meta or {}  # levels the index stored, per model id: believed for that model only
    encoder = load_encoder(chosen("model", settings["model"]), settings.encoder_options(),
                           {kept.get("model"): kept.get("image_levels")}, measure=with_text)
    if not with_text:
        return encoder, None
    text = load_text_encoder(chosen("text_model", "image"), settings.encoder_options(), encoder,
                             {kept.get("text_model", "image"): kept.get("text_levels")})
    return encoder, text


def sound_name(settings: Settings, meta: dict | None) -> str:
    """The sound model's name: the one named, else the index's own, else the default."""
    return settings["audio.model"] if "audio.model" in settings.explicit else (meta or {}).get(
        "audio_model", settings["audio.model"])


def query_sound(settings: Settings, meta: dict | None, with_text: bool = True):
    """The sound model for a query: the index's (or the one named), None where the index has no
    sounds, or a text query where the sound signal is weighted 0. With its text tower it carries
    its `levels` (index/calibration.py), measured now: five short clips."""
    from vsearch.index import load_audio_encoder

    if not (meta or {}).get("audio_model") or (with_text and settings["find.weight_audio"] <= 0):
        return None
    return load_audio_encoder(sound_name(settings, meta), settings.encoder_options(), with_text)


def absolute(path: str | Path) -> Path:
    """Absolute, symlink-resolved path as the index stores it, whether or not it exists."""
    return Path(path).expanduser().resolve()


def videos(settings: Settings) -> list:
    """Every video record, for `list` and `status`. Where there is no index yet, none; NoIndex
    when its place was named (--home, --uri): a mistyped place should not look empty."""
    from vsearch.index import NoIndex

    try:
        with store_opener(settings, write=False)() as store:
            return store.videos()
    except NoIndex:
        if {"home", "uri"} & settings.explicit:
            raise
        return []


def remove_paths(settings: Settings, paths: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Forget videos (their files are untouched); returns (removed, not indexed)."""
    from vsearch.index import video_id

    removed, missing = [], []
    with store_opener(settings)() as store:
        for path in paths:
            vid = video_id(str(absolute(path)))
            if store.get_video(vid) is None:
                missing.append(path)
                continue
            store.remove(vid)
            removed.append(absolute(path))
    return removed, missing


def chapters(settings: Settings, video: str | Path) -> list:
    """An indexed video's chapters (query/chapters.py)."""
    from vsearch.index import video_id

    path = absolute(video)
    with store_opener(settings, write=False)() as store:
        record = store.get_video(video_id(str(path)))
        if record is None or record.state != "done":
            raise VsearchError(f"not indexed: {display(str(video))} (see `vsearch list`)")
        return chapters_in(store, record, settings["chapters.min_length"])


def chapters_in(store, record, min_length: float) -> list:
    """The chapters of an indexed video from an open index: from its slides, what is said in it
    (speech, else the subtitle track with most cues) and its frames; `min_length` 0 is a fortieth
    of the video, at least 10 s."""
    import numpy as np

    from vsearch.query.chapters import chapters as find_chapters

    slides = [(c.start, c.text) for c in store.cues_of(record.id, Source.OCR)]
    said = store.cue_vectors_of(record.id, Source.ASR)
    if not said:
        subtitles = store.cue_vectors_of(record.id, Source.SUBTITLE)
        track = max(sorted({c.lang for c, _ in subtitles}), default="",
                    key=lambda lang: sum(c.lang == lang for c, _ in subtitles))
        said = [(c, v) for c, v in subtitles if c.lang == track]
    _, times, vecs = store.frames_of(record.id)
    return find_chapters(record.duration, slides, [(c.start, c.text, v) for c, v in said],
                         (np.asarray(times), vecs), min_length or max(10.0, record.duration / 40),
                         cuts=record.cuts or ())


def transcript(settings: Settings, video: str | Path, source: str | None = None) -> tuple[list, str]:
    """(the cues of one source stored for an indexed video in time order, that source): "asr",
    "ocr" or "subtitle"; with no source, what was said: speech, or the subtitles where no speech
    was transcribed. An error when there are none."""
    from vsearch.index import video_id

    path = absolute(video)
    with store_opener(settings, write=False)() as store:
        if store.get_video(video_id(str(path))) is None:
            raise VsearchError(f"not indexed: {display(str(video))} (see `vsearch list`)")
        for kind in [source] if source else [Source.ASR, Source.SUBTITLE]:
            cues = store.cues_of(video_id(str(path)), kind)
            if cues:
                return cues, kind
    raise VsearchError(f"no {source or 'asr or subtitle'} cues for {display(str(video))}: see `vsearch status` for why")


def find_moments(settings: Settings, query: str = "", image: Path | None = None, sound: Path | None = None,
                 top_k: int | None = None, videos: Iterable[str] = (), sources: tuple[str, ...] = (),
                 say: Callable[[str], None] = print) -> tuple[list, dict[str, str], list[str]]:
    """(segments, why signals were left out, paths of indexed videos gone from disk) for a text
    query, a picture, both together (one ranking), or a sound: from this index's server, one
    started for this terminal session (what it does is passed to `say`), or the models loaded here."""
    from . import background, remote

    upload = None
    if image is not None or sound is not None:
        field, path = ("image", image) if image is not None else ("audio", sound)
        data = read_upload(path, "picture" if image is not None else "sound")
        upload = (field, data) if data is not None else None
    if upload is not None or (image is None and sound is None):  # a sound too large to send is heard here
        answered = remote.find(settings, query, videos, top_k, sources, upload)
        if answered is None and background.wanted(settings) and background.start(settings, say):
            answered = remote.find(settings, query, videos, top_k, sources, upload)
        if answered is not None:
            return answered
    gone = []

    def left_out(record):
        gone.append(record.path)

    if image is not None and not query:
        return search_picture(settings, image, videos, top_k, left_out), {}, gone
    if sound is not None:
        return search_sound(settings, sound, videos, top_k, left_out), {}, gone
    return (*search(settings, query, videos, top_k, left_out, sources, image), gone)


def search(settings: Settings, query: str, videos: Iterable[str] = (), top_k: int | None = None,
           on_gone: Callable | None = None, sources: tuple[str, ...] = (), image: Path | None = None):
    """(ranked segments, why signals were left out) for a query, optionally within some videos,
    with text of some sources only ("subtitle", "asr", "ocr"; frames are searched either way),
    and with frames like the picture in the file `image` as one more signal.

    Videos whose files are gone are left out, each passed to `on_gone`.
    """
    from vsearch.query import find_noted

    data = read_upload(image, "picture", whole=True) if image is not None else None

    def models(meta):
        encoder, text = load_models(settings, meta)
        picture = picture_vector(encoder, data, display(str(image))) if data is not None else None
        return encoder, text, query_sound(settings, meta), picture, _warming(encoder, text, query)

    options = _find_options(settings, top_k, sources)
    with _query_index(settings, models) as (store, (encoder, text, audio, picture, warming)):
        warming.join()
        return find_noted(store, encoder, query, options, indexed_ids(store, videos), on_gone, text, audio, picture)


def _warming(encoder, text, query: str) -> threading.Thread:
    """A thread encoding the query once while the index opens, so that the models' sessions are
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


def _find_options(settings: Settings, top_k: int | None, sources: tuple[str, ...] = ()):
    """The find options for this query."""
    options = settings.find_options()
    if top_k is not None:
        options = replace(options, top_k=top_k)
    if sources:
        options = replace(options, sources=sources)
    return options


@contextmanager
def _query_index(settings: Settings, load: Callable):
    """(the index, opened once for a query; what `load(meta)` made of its meta row: the models and
    query vectors); an error when nothing is indexed.

    The models load before the index is opened, chosen by index_meta, so they never hold it
    while they load; should the row read once it is open differ (a copy a writer left behind),
    they are loaded again from the row.
    """
    from vsearch.index import NoIndex

    meta = index_meta(settings)
    if meta is None:
        raise VsearchError(EMPTY)
    made = load(meta)
    try:
        store = store_opener(settings, write=False)()
    except NoIndex:
        raise VsearchError(EMPTY) from None
    with store:
        stored = store.peek()
        if stored is None:
            raise VsearchError(EMPTY)
        yield store, made if stored == meta else load(stored)


class NotIndexed(VsearchError):
    """A video or folder named is not in the index."""


def indexed_ids(store, videos: Iterable[str]) -> list[int] | None:
    """Ids of the videos a search is limited to (None: all): each given path an indexed file, or a
    folder meaning the indexed files under it; an error naming any that is neither. The one meaning
    of `--video`, in this process and through a server."""
    from vsearch.index import video_id

    given = [v for v in videos if v]
    if not given:
        return None
    if any("\0" in v for v in given):  # no file is named so (and Path.resolve would raise)
        raise NotIndexed("not indexed: a video path with a NUL character (see `vsearch list`)")
    wanted = [str(absolute(v)) for v in given]
    files = store.get_videos({video_id(w) for w in wanted})
    folders = [w for w in wanted if video_id(w) not in files]
    records = store.videos() if folders else []
    under, unknown = [], []
    for folder in folders:
        prefix = folder.rstrip(os.sep) + os.sep
        inside = [r.id for r in records if r.path.startswith(prefix)]
        under += inside
        unknown += [] if inside else [folder]
    if unknown:
        raise NotIndexed(f"not indexed: {', '.join(display(u) for u in unknown)} (see `vsearch list`)")
    return [*files, *under]


def search_picture(settings: Settings, image: Path, videos: Iterable[str] = (), top_k: int | None = None,
                   on_gone: Callable | None = None):
    """Ranked moments whose frames look like the picture in the file `image`."""
    from vsearch.query import find_frames

    data = read_upload(image, "picture", whole=True)

    def model_and_vector(meta):
        encoder, _ = load_models(settings, meta, with_text=False)
        return encoder, picture_vector(encoder, data, display(str(image)))

    options = _find_options(settings, top_k)
    with _query_index(settings, model_and_vector) as (store, (encoder, vector)):
        return find_frames(store, encoder, vector, options, indexed_ids(store, videos), on_gone)


def search_sound(settings: Settings, clip: Path, videos: Iterable[str] = (), top_k: int | None = None,
                 on_gone: Callable | None = None):
    """Ranked moments that sound like the first audio.query_seconds of the file `clip` (any
    format ffmpeg reads, a video's soundtrack too)."""
    from vsearch.index.sounds import clip_vector
    from vsearch.query import find_sounds

    def model_and_vector(meta):
        audio = query_sound(settings, meta, with_text=False)
        if audio is None:
            raise VsearchError(NO_SOUNDS)
        return audio, clip_vector(audio, Path(clip), settings["audio.query_seconds"], display(str(clip)))

    options = _find_options(settings, top_k)
    with _query_index(settings, model_and_vector) as (store, (audio, vector)):
        return find_sounds(store, audio, vector, options, indexed_ids(store, videos), on_gone)


MAX_UPLOAD_BYTES = 20 << 20  # what `vsearch serve` takes; a larger sound file is heard in the process


def read_upload(path: Path, what: str, whole: bool = False) -> bytes | None:
    """The bytes of a query's picture or sound file, or None for one too large to send a server
    (unless `whole`); an error naming a file that cannot be read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read() if whole else fh.read(MAX_UPLOAD_BYTES + 1)
    except OSError as exc:
        raise VsearchError(f"{display(str(path))}: cannot read the {what} ({exc.strerror})") from None
    return data if whole or len(data) <= MAX_UPLOAD_BYTES else None


EMPTY = "the index is empty: run `vsearch index VIDEO` first"
NO_SOUNDS = ("the index has no sounds to search: index with audio.mode = on (auto embeds them on a GPU "
             "only) and a sound model that loads (README, \"Sounds\")")


def picture_vector(encoder, data: bytes, name: str = "image"):
    """The image model's vector of a picture file's bytes, sized and cropped as its frames are."""
    from vsearch.extract.frames import fit
    from vsearch.extract.pictures import read_picture

    pixels = read_picture(data, name, 4 * max(encoder.frame_spec.width, encoder.frame_spec.height))
    return encoder.encode_images(fit(pixels, encoder.frame_spec)[None])[0]
