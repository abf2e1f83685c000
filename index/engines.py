"""Which engine runs a model's towers (torch or ONNX Runtime), and the cache of exported towers.

A tower is exported once per model, tower and precision into `<cache>/<model hash>/<tower>-<precision>/`.
An entry is built in a private folder and renamed into place whole, so a reader sees a finished
entry or none, and two processes exporting at once each publish a complete one (the second rename
fails and that process uses the first). An entry is used only when its files have the sizes its
meta.json lists, a file written to since it was made still has its digest, and a probe through it
gives the vectors it gave when made; a truncated or altered entry is exported again, never used.

Which engine: "auto" is ONNX Runtime on a CPU, where nothing imports torch to answer a query
(docs/performance.md, "The CPU engine"), and torch float16 on a CUDA GPU.
"""

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .loading import ModelError, pick_device

log = logging.getLogger("vsearch")

# Part of every model hash: a change to what an export writes (inputs, pooling, graph) bumps it.
EXPORT_VERSION = 1
# How int8 entries are quantized; an int8 entry made another way is made again (fp32 ones are kept).
QUANTIZATION = "dynamic, per-channel int8 weights"
_WHOLE = 3 << 20  # files up to this size are hashed whole; larger ones by three 1 MiB samples


class ExportFailed(Exception):
    """A tower cannot be exported to ONNX, or its export gives other vectors than torch."""


def on_engine(model_id: str, options, make_torch: Callable, make_onnx: Callable):
    """The model on the engine `options` pick; one that cannot be exported runs on torch, with a warning.

    `make_torch(options)` loads the torch encoder, `make_onnx()` the ONNX Runtime one.
    """
    if engine_for(options.engine, options.device) == "torch":
        return make_torch(options)
    try:
        return make_onnx()
    except ExportFailed as exc:
        log.warning(f"vsearch: warning: {model_id} cannot run on ONNX Runtime ({exc}); it runs on torch")
        return make_torch(options)


def engine_for(engine: str, device: str) -> str:
    """"torch" or "onnx": `engine`, or for "auto" ONNX Runtime on a CPU and torch float16 on a GPU."""
    if engine != "auto":
        return engine
    # A device named is taken as named: a GPU that is not there is said by the model that needs it.
    return "onnx" if (pick_device(device) if device == "auto" else device) == "cpu" else "torch"


def providers(device: str) -> list[str]:
    """ONNX Runtime execution providers for `device`; CUDA only where onnxruntime-gpu is installed."""
    import onnxruntime

    if not pick_device(device).startswith("cuda"):
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise ModelError("engine onnx on a GPU needs onnxruntime-gpu (pip install onnxruntime-gpu); "
                         "or use engine = \"torch\" there")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def source_folder(model_id: str) -> Path | None:
    """The folder of a local model or of a hub model already downloaded; None when it is not here."""
    local = Path(model_id)
    if local.is_dir():
        return local
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def model_hash(folder: Path, kind: str) -> str:
    """A name for a model's files by their contents, so a copied or moved folder keeps its exports."""
    digest = hashlib.sha256(f"{EXPORT_VERSION} {kind}".encode())
    for path in sorted(folder.iterdir()) + sorted(folder.glob("1_Pooling/*.json")):
        if path.is_file() and not path.name.startswith("."):
            digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
            digest.update(_sample(path))
    return digest.hexdigest()[:20]


def _sample(path: Path) -> bytes:
    """The bytes of a small file; of a large one (weights), its first, middle and last MiB."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= _WHOLE:
            return hashlib.sha256(f.read()).digest()
        parts = []
        for at in (0, size // 2, size - (1 << 20)):
            f.seek(at)
            parts.append(f.read(1 << 20))
    return hashlib.sha256(b"".join(parts)).digest()


class Entry:
    """One exported tower as published: its folder and its meta.json."""

    def __init__(self, folder: Path, meta: dict, touched: bool = False):
        self.folder, self.meta = folder, meta
        self.touched = touched  # a file was written to since, though its digest still matches

    @property
    def model(self) -> Path:
        return self.folder / "model.onnx"


def publish(finals: dict[str, Path], build: Callable[[dict[str, Path]], dict[str, dict]]) -> dict[str, Entry]:
    """Build entries with `build({name: folder}) -> {name: meta}` in private folders, then rename
    each to its place in `finals`; one another process published first is taken as it is."""
    for parent in {final.parent for final in finals.values()}:
        _sweep(parent)
    buildings = {name: final.with_name(f".build-{os.getpid()}-{uuid.uuid4().hex[:8]}") for name, final in finals.items()}
    try:
        for building in buildings.values():
            building.mkdir(parents=True)
        metas = build(buildings)
        for name, building in buildings.items():
            meta = metas[name]
            meta["files"] = {p.name: _stamp(p) for p in building.iterdir() if p.is_file()}
            (building / "meta.json").write_text(json.dumps(meta), "utf-8")
            try:
                os.rename(building, finals[name])
            except OSError:
                if not finals[name].is_dir():
                    raise
    finally:
        for building in buildings.values():
            shutil.rmtree(building, ignore_errors=True)
    entries = {name: read_entry(final) for name, final in finals.items()}
    for name, entry in entries.items():
        if entry is None:
            raise ModelError(f"cannot read the model just exported to {finals[name]}; delete that folder, "
                             "or use engine = \"torch\"")
    return entries


def _stamp(path: Path) -> list:
    """[size, mtime_ns, sha256] of a file as it was made."""
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, _digest(path)]


def _state(path: Path, size: int, mtime_ns: int, digest: str) -> str:
    """"same" as made, "touched" (written to since, the same bytes) or "changed". Untouched, a
    check is a stat, so a cold `find` reads no gigabyte twice."""
    status = path.stat()
    if status.st_size != size:
        return "changed"
    if status.st_mtime_ns == mtime_ns:
        return "same"
    return "touched" if _digest(path) == digest else "changed"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _sweep(folder: Path) -> None:
    """Delete what a process killed mid-export left behind: private folders (and verdicts being
    written, index/fidelity.py) over a day old."""
    import time

    for stale in [*folder.glob(".build-*"), *folder.glob(".bad-*"), *folder.glob(".verdict-*")]:
        try:
            if stale.stat().st_mtime < time.time() - 86400:
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink()
        except OSError:
            pass  # another process swept it


def read_entry(folder: Path) -> Entry | None:
    """The entry in `folder`, or None when it is missing or its files are not the sizes it lists."""
    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        states = [_state(folder / name, *stamp) for name, stamp in meta["files"].items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return None if "changed" in states else Entry(folder, meta, "touched" in states)


def discard(folder: Path) -> None:
    """Delete a bad entry, moved aside first so nobody opens it half deleted."""
    aside = folder.with_name(f".bad-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(folder, aside)
    except OSError:
        return  # gone already: another process is rebuilding it
    shutil.rmtree(aside, ignore_errors=True)


def lowest_cosine(got: np.ndarray, want) -> float:
    """The lowest cosine between vectors (the last axis) of `got` and `want` (unit vectors); -1 when
    their shapes differ."""
    want = np.asarray(want, np.float32)
    return float(np.min(np.sum(got * want, axis=-1))) if got.shape == want.shape else -1.0
