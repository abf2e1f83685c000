"""A command's session with the index: which models it uses, loading them, opening the index.

The models are chosen from the index's own meta row (or the ones named), loaded before the index
is opened so that they never hold it while they load; `query_index` then opens it once.
"""

import os
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import absolute, display

from .request import NotIndexed
from .settings import Settings

EMPTY = "the index is empty: run `vsearch index VIDEO` first"
NO_SOUNDS = ("the index has no sounds to search: index with audio.mode = on (auto embeds them on a GPU "
             "only) and a sound model that loads (README, \"Sounds\")")


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


def load_models(settings: Settings, meta: dict | None, with_text: bool = True, also: Iterable = ()):
    """(image model, text model): each the explicitly chosen one, else the index's own, else the default.

    An index made before text models uses its image model's text tower ("image") for cues.
    Without `with_text` (a picture query) the text model is not loaded: None. With it, both
    carry their `levels` (index/calibration.py): the index's own, else measured now. Before
    either loads, one error names every missing model, these and the others the command uses
    (`also`: index/weights.py check_models).
    """
    from vsearch.index import ModelError, load_encoder
    from vsearch.index.loading import IMAGE, TEXT
    from vsearch.index.text_encoders import load_text_encoder
    from vsearch.index.weights import check_models

    def chosen(key: str, default: str) -> str:
        name = settings[key] if key in settings.explicit or meta is None else meta.get(key, default)
        if Path(name).is_absolute() and not Path(name).exists():
            raise ModelError(f"the index was built with the {key.replace('_', ' ')} folder {name}, which is "
                             f"gone: pass --{key.replace('_', '-')} with the folder's new place (the same model)")
        return name

    image_name, text_name = chosen("model", settings["model"]), chosen("text_model", "image") if with_text else ""
    check_models([(IMAGE, image_name)] + ([(TEXT, text_name)] if with_text else []), also)
    kept = meta or {}  # levels the index stored, per model id: believed for that model only
    encoder = load_encoder(image_name, settings.encoder_options(),
                           {kept.get("model"): kept.get("image_levels")}, measure=with_text)
    if not with_text:
        return encoder, None
    text = load_text_encoder(text_name, settings.encoder_options(), encoder,
                             {kept.get("text_model", "image"): kept.get("text_levels")})
    return encoder, text


def sound_name(settings: Settings, meta: dict | None) -> str:
    """The sound model's name: the one named, else the index's own, else the default."""
    return settings["audio.model"] if "audio.model" in settings.explicit else (meta or {}).get(
        "audio_model", settings["audio.model"])


def picture_name(settings: Settings, meta: dict | None) -> str:
    """The picture model's name: the one named, else the index's own, else the default ("none")."""
    if "picture_model" in settings.explicit:
        return settings["picture_model"]
    return (meta or {}).get("picture_model") or settings["picture_model"]


def index_options(settings: Settings, meta: dict | None):
    """The settings' IndexOptions, with the picture model this run writes (`picture_name`)."""
    from dataclasses import replace

    return replace(settings.index_options(), picture=picture_name(settings, meta))


def load_picture(settings: Settings, meta: dict | None, querying: bool = True):
    """The picture model (index/picture_models.py), or None: "none", or for a query an index
    that holds no picture vectors (the image model's frames answer it then)."""
    from vsearch.index.picture_models import load_picture_encoder

    if querying and not (meta or {}).get("picture_model"):
        return None
    return load_picture_encoder(picture_name(settings, meta), settings.encoder_options())


def query_sound(settings: Settings, meta: dict | None, with_text: bool = True):
    """The sound model for a query: the index's (or the one named), None where the index has no
    sounds, or a text query where the sound signal is weighted 0. With its text tower it carries
    its `levels` (index/calibration.py), measured now: five short clips."""
    from vsearch.index import load_audio_encoder

    if not (meta or {}).get("audio_model") or (with_text and settings["find.weight_audio"] <= 0):
        return None
    return load_audio_encoder(sound_name(settings, meta), settings.encoder_options(), with_text)


def hearing(settings: Settings, meta: dict | None):
    """The sound model a sound query is heard with: the index's; where it holds no sounds but its
    image model also hears (ImageBind: frames and sounds in one space), that model's audio tower,
    to rank frames; else None."""
    from vsearch.index import load_audio_encoder
    from vsearch.index.imagebind_models import is_imagebind

    audio = query_sound(settings, meta, with_text=False)
    if audio is None and meta and is_imagebind(meta.get("model") or ""):
        return load_audio_encoder(meta["model"], settings.encoder_options(), with_text=False)
    return audio


@contextmanager
def query_index(settings: Settings, load: Callable):
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


def indexed_ids(store, videos: Iterable[str]) -> list[int] | None:
    """Ids of the videos a search is limited to (None: all): each given path an indexed file, or a
    folder meaning the indexed files under it; an error naming any that is neither. The one meaning
    of `--video`, in this process and through a server."""
    from vsearch.index import video_id

    given = [v for v in videos if v]
    if not given:
        return None
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


def picture_vector(encoder, data: bytes, name: str = "image", query: str = ""):
    """The image model's (or a picture model's) vector of a picture file's bytes, sized and cropped as its frames are;
    of the picture and the `query` as one vector where the model reads both together (`encode_query`, index/gme.py)."""
    from vsearch.extract.frames import fit
    from vsearch.extract.pictures import read_picture

    pixels = fit(read_picture(data, name, 4 * max(encoder.frame_spec.width, encoder.frame_spec.height)),
                 encoder.frame_spec)
    if hasattr(encoder, "encode_query"):
        return encoder.encode_query(query, pixels)
    return encoder.encode_images(pixels[None])[0]
