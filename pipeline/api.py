"""The library API the CLI is a thin layer over."""

from collections.abc import Callable, Iterable
from pathlib import Path

from vsearch.extract import VsearchError
from vsearch.extract.scratch import sweep_scratch

from .settings import Settings


def store_opener(settings: Settings) -> Callable:
    """A factory of short-lived index connections."""
    from vsearch.index import Store

    config = settings.store_config()
    return lambda: Store(config)


def index_meta(settings: Settings) -> dict | None:
    """The index's schema, model and dimension, or None when nothing is indexed yet."""
    with store_opener(settings)() as store:
        return store.check()


def load_model(settings: Settings, meta: dict | None):
    """The explicitly chosen model, else the index's own, else the default preset."""
    from vsearch.index import load_encoder

    name = settings["model"]
    if "model" not in settings.explicit and meta is not None:
        name = meta["model"]
    return load_encoder(name, settings.encoder_options())


def absolute(path: str | Path) -> Path:
    """Absolute, symlink-resolved path as the index stores it, whether or not it exists."""
    return Path(path).expanduser().resolve()


def index_paths(
    settings: Settings, paths: Iterable[Path], subs: Iterable[Path] = (),
    on_result: Callable | None = None, progress_for: Callable | None = None,
) -> list:
    """Index videos one by one; a failure is recorded and reported, never fatal to the rest."""
    from vsearch.index import index_video

    sweep_scratch()
    open_store = store_opener(settings)
    meta = index_meta(settings)
    encoder = load_model(settings, meta)
    with open_store() as store:
        store.check(encoder.model_id, encoder.dim)
    options = settings.index_options()
    outcomes = []
    for path in paths:
        try:
            progress = progress_for(path) if progress_for else None
            outcome = index_video(absolute(path), open_store, encoder, options, subs, progress)
        except VsearchError as exc:
            outcome = exc
        outcomes.append((path, outcome))
        if on_result:
            on_result(path, outcome)
    return outcomes


def search(settings: Settings, query: str, videos: Iterable[str] = (), top_k: int | None = None):
    """Ranked segments for a query, optionally within some videos."""
    from dataclasses import replace

    from vsearch.index import video_id
    from vsearch.query import find

    meta = index_meta(settings)
    if meta is None:
        raise VsearchError("the index is empty: run `vsearch index VIDEO` first")
    encoder = load_model(settings, meta)
    options = settings.find_options()
    if top_k is not None:
        options = replace(options, top_k=top_k)
    ids = [video_id(str(absolute(v))) for v in videos] or None
    return find(store_opener(settings), encoder, query, options, ids)
