"""How every model is named and run: a registered name, a local folder or a Hugging Face id; the
device, dtype and batch it runs with; plugins; and the one message for a model that will not load.

The image, text and sound registries (encoders.py, text_encoders.py, audio_encoders.py) differ in
what they build, not in how a name is read.
"""

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from vsearch.extract.errors import VsearchError

T = TypeVar("T")


class ModelError(VsearchError):
    """A model cannot be found, downloaded or loaded."""


@dataclass(frozen=True)
class Kind:
    """What a model is for, as its messages name it and the flag that chooses it."""

    noun: str
    flag: str


IMAGE = Kind("model", "--model")
TEXT = Kind("text model", "--text-model")
SOUND = Kind("audio model", "--audio-model")


def resolve(name: str, kind: Kind, known: Mapping[str, Callable[[], T]], from_source: Callable[[str], T]) -> T:
    """The model `name` stands for: a known (registered) name, else a folder or a Hugging Face id
    (owner/name), which `from_source` loads; an error listing what is known otherwise."""
    if name in known:
        return known[name]()
    local = Path(name).expanduser()
    if local.is_dir():
        return from_source(str(local.resolve()))
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return from_source(name)
    raise ModelError(f"unknown {kind.noun} {name!r}: use one of {', '.join(known)}, a Hugging Face id "
                     "or a local folder")


def load_failure(model_id: str, kind: Kind, exc: Exception, offline: bool = False) -> ModelError:
    """The error for a checkpoint transformers could not load: what to download, or which flag to use."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if Path(model_id).is_dir():
        return ModelError(f"cannot load {kind.noun} from {model_id}: {first}")
    why = "the Hugging Face hub is unreachable and it is not in the local cache" if offline else first[:160]
    return ModelError(f"cannot load {kind.noun} {model_id} ({why}); on a machine with internet run "
                      f"`hf download {model_id}` and copy the cache (HF_HUB_OFFLINE=1 then skips the hub), "
                      f"or pass a local folder with {kind.flag}")


def pick_device(wanted: str) -> str:
    """The torch device for `wanted` ("auto": a CUDA GPU where one is visible)."""
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("device cuda asked for but no CUDA GPU is visible; use --device cpu")
    return wanted


def pick_dtype(wanted: str, device: str):
    """The torch dtype for `wanted` ("auto": float16 on a GPU, float32 on a CPU)."""
    import torch

    if wanted == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    try:
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[wanted]
    except KeyError:
        raise ModelError(f"unknown dtype {wanted!r}: use auto, float32, float16 or bfloat16") from None


def pick_batch(wanted: int, device: str, on_cpu: int = 16) -> int:
    """Inputs per forward pass: `wanted`, or for 0 `on_cpu` on a CPU and 32 on a GPU.

    On a CPU, batches of 16 encode images and texts as fast as 32 with a lower memory peak; the
    sound model's activations grow so fast that it takes 2 (configs/default.toml, batch_size).
    """
    return wanted or (on_cpu if device == "cpu" else 32)


_plugins_loaded = False


def load_plugins(register: Callable[[str, Callable], None]) -> None:
    """Import model plugins once: the `vsearch.encoders` entry points (each registered with
    `register`) and the modules named in VSEARCH_PLUGINS (which register themselves)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group="vsearch.encoders"):
        register(entry.name, entry.load())
    for module in filter(None, os.environ.get("VSEARCH_PLUGINS", "").split(",")):
        try:
            importlib.import_module(module.strip())
        except ImportError as exc:
            raise ModelError(f"cannot import plugin {module!r} named in VSEARCH_PLUGINS ({exc})") from None
