"""How every model is named and run: a registered name, a local folder or a Hugging Face id; the
device, dtype and batch it runs with; plugins; and the one message for a model that will not load.

The image, text and sound registries (encoders.py, text_encoders.py, audio_encoders.py) and the
speech and screen-text models (sense_models.py) differ in what they build, not in how a name is
read, a device chosen or a failure said.
"""

import importlib
import os
import shutil
import sys
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
    """What a model is for, as its messages name it; the flag that points it at a folder ("" for
    one that comes inside its package), and the setting that does without it ("" where the
    command needs it)."""

    noun: str
    flag: str
    off: str = ""
    setting: str = ""  # named beside the flag where a config file is the likelier place (cron)

    def folder_hint(self) -> str:
        """How to point vsearch at a local folder of this kind of model."""
        return f"pass a local folder with {self.flag}" + (f" (or set {self.setting})" if self.setting else "")


IMAGE = Kind("model", "--model")
TEXT = Kind("text model", "--text-model")
SOUND = Kind("audio model", "--audio-model", "audio.mode = off")
SPEECH = Kind("speech model", "--asr-model", "asr.mode = off", "asr.model")
SCREEN_TEXT = Kind("screen-text model", "", "ocr.mode = off")  # no folder: its models come inside its package


def default_cache() -> Path:
    """Where exported models are kept when no index home is given: the default home's cache."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("vsearch")) / "cache" / "models"


# Models users name that vsearch does not load, by a part of their name, and why.
REFUSED = {
    "jina-clip": "its model code lives in its hub repository and runs only with trust_remote_code, which "
                 "vsearch does not run (the model's own Python would run with your rights); pick siglip2, or gme "
                 "for a picture and words as one query",
    "bge-visualized": "its image side is the FlagEmbedding package's own code over an EVA-CLIP checkpoint, not a "
                      "transformers model; for a picture and words as one query pick gme",
}


def refuse(name: str) -> None:
    """A ModelError where `name` is a model vsearch does not load (REFUSED), saying why."""
    for part, why in REFUSED.items():
        if part in name.lower():
            raise ModelError(f"cannot load {name}: {why} (docs/models.md)")


def resolve(name: str, kind: Kind, known: Mapping[str, Callable[[], T]], from_source: Callable[[str], T]) -> T:
    """The model `name` stands for: a known (registered) name, else a folder or a Hugging Face id
    (owner/name), which `from_source` loads; an error listing what is known otherwise."""
    if name in known:
        return known[name]()
    refuse(name)
    local = Path(name).expanduser()
    if local.is_dir():
        return from_source(str(local.resolve()))
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return from_source(name)
    raise ModelError(f"unknown {kind.noun} {name!r}: use one of {', '.join(known)}, a Hugging Face id "
                     "or a local folder")


def hub_files(source: str) -> dict:
    """transformers' keywords for reading `source`: local files only where it is no folder and the
    hub cannot be reached (transformers retries for half a minute before failing)."""
    return {} if Path(source).is_dir() or hub_reachable() else {"local_files_only": True}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection; False at once with HF_HUB_OFFLINE=1.
    Every loader asks first: where it cannot, the hub's own retries take half a minute to fail."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=timeout).close()
        return True
    except OSError:
        return False


def fetch_command(kind: Kind, model_id: str) -> str:
    """The command that downloads a model into the Hugging Face cache, on a machine with internet."""
    if kind == SPEECH:
        return f"python -c \"import faster_whisper; faster_whisper.download_model('{model_id}')\""
    return f"hf download {model_id}"


def first_words(exc: Exception, limit: int = 160) -> str:
    """The first line of an error, cut at a word (never inside one) when longer than `limit`."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if len(line) <= limit:
        return line
    return line[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:") + " …"


def load_failure(model_id: str, kind: Kind, exc: Exception, offline: bool = False) -> ModelError:
    """The error for a model that could not load: what to download, or which flag or setting to use."""
    if Path(model_id).is_dir():
        return ModelError(f"cannot load {kind.noun} from {model_id}: {first_words(exc)}")
    why = "the Hugging Face hub is unreachable and it is not in the local cache" if offline else first_words(exc)
    return ModelError(f"cannot load {kind.noun} {model_id} ({why}); on a machine with internet run "
                      f"`{fetch_command(kind, model_id)}` and copy the cache (HF_HUB_OFFLINE=1 then skips the "
                      f"hub), or {kind.folder_hint()}" + (f" (or set {kind.off})" if kind.off else ""))


def on_terminal(line: str) -> None:
    """Say `line` on stderr where a person watches it (a terminal); pipes, logs and cron get nothing.
    It clears a progress line first (pipeline/render.py), which this line would otherwise run into."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K{line}\n")
        sys.stderr.flush()


def _cuda_visible() -> bool:
    """Whether torch sees a CUDA GPU; torch is imported only where an NVIDIA driver is loaded, so
    a CPU-only `find` never imports it."""
    if not (Path("/proc/driver/nvidia/version").exists() or (sys.platform == "win32" and shutil.which("nvidia-smi"))):
        return False
    import torch

    return torch.cuda.is_available()


def pick_device(wanted: str) -> str:
    """The device every model runs on for the `device` setting `wanted` ("auto": a CUDA GPU where
    one is visible, else the CPU); the one place that decides."""
    if wanted == "auto":
        return "cuda" if _cuda_visible() else "cpu"
    if wanted.startswith("cuda") and not _cuda_visible():
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
