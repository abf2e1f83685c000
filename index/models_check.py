"""Whether the models a command uses are the ones an index was written with (pure)."""

from pathlib import Path

from .milvus_lite import StoreError


class IndexMismatch(StoreError):
    """The index was written by another schema version, image model, text model, sound model or picture model."""


_ELSEWHERE = "or a separate index with --home DIR or --collection NAME"


def moved(stored: str, given: str) -> bool:
    """Whether `stored`, the index's model, was a folder that is gone and `given` is a folder."""
    return stored != given and Path(stored).is_absolute() and not Path(stored).exists() and Path(given).is_dir()


def matched(meta: dict, where: str, model: str | None = None, dim: int | None = None, text_model: str | None = None,
            text_dim: int | None = None, audio: tuple[str, int] | None = None,
            picture: tuple[str, int] | None = None) -> dict:
    """The meta row as these models read it; IndexMismatch, saying which flag to pass, for another
    image model, text model, sound model or picture model (`audio`, `picture`: id and dimension;
    an index none such wrote takes any). None leaves a model unchecked.

    A model folder that moved, named at its new place, is taken (`moved_from` says where it was);
    an index made before text models holds cue vectors of the image model's tower ("image").
    """
    if model is not None and moved(meta["model"], model) and dim in (None, meta["dim"]):
        meta = {**meta, "model": model, "moved_from": meta["model"]}
    if model is not None and (meta["model"] != model or (dim is not None and meta["dim"] != dim)):
        raise IndexMismatch(f"index {where} holds {meta['model']} vectors (dim {meta['dim']}), not {model}: "
                            f"use --model {meta['model']}, {_ELSEWHERE}")
    meta = {"text_model": "image", "text_dim": meta["dim"], **meta}
    if text_model is not None and (meta["text_model"] != text_model
                                   or (text_dim is not None and meta["text_dim"] != text_dim)):
        raise IndexMismatch(f"index {where} holds cue vectors of the text model {meta['text_model']} (dim "
                            f"{meta['text_dim']}), not {text_model}: use --text-model {meta['text_model']}, "
                            f"{_ELSEWHERE}")
    for key, what, given in (("audio", "sound vectors of the audio model", audio),
                             ("picture", "picture vectors of the picture model", picture)):
        stored = (meta.get(f"{key}_model"), meta.get(f"{key}_dim"))
        if given is not None and stored[0] and stored != tuple(given):
            raise IndexMismatch(f"index {where} holds {what} {stored[0]} (dim {stored[1]}), not {given[0]}: "
                                f"use --{key}-model {stored[0]}, {_ELSEWHERE}")
    return meta
