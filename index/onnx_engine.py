"""Encoders on ONNX Runtime: a model's exported towers, run with neither torch nor transformers.

A model's towers are exported from its torch encoder the first time it is used (onnx_export.py)
and kept in the cache (engines.py); afterwards loading one is reading a tokenizer and opening a
session, which is what keeps a cold `vsearch find` short. Each tower is opened on first use, so
a text query never opens the image tower.
"""

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vsearch.extract import FrameSpec

from .clap import ClapHearing
from .engines import (
    EXPORT_VERSION,
    ExportFailed,
    QUANTIZATION,
    discard,
    lowest_cosine,
    model_hash,
    providers,
    publish,
    read_entry,
    source_folder,
)
from .fidelity import FrameCheck
from .loading import ModelError, hub_reachable, on_terminal, pick_batch

log = logging.getLogger("vsearch")

PROBE_TEXTS = ["probe", "a red car on a street at night", "讲到向量数据库的部分", "a"]
_SAME = 0.9999  # an entry's probe through it now against when it was made: the same graph, so ~1


def probe_inputs(meta: dict, batch: int = 2) -> dict[str, np.ndarray]:
    """Fixed inputs of the shapes and types a frame or sound graph takes, to check it by."""
    rng = np.random.default_rng(0)
    made = {}
    for name, (dtype, shape) in meta["inputs"].items():
        shape = (batch, *shape[1:])
        if dtype == "uint8":
            made[name] = rng.integers(0, 256, shape, dtype=np.uint8)
        elif dtype == "bool":
            made[name] = np.zeros(shape, bool)
        else:
            made[name] = rng.normal(size=shape).astype(dtype)
    return made


class Tower:
    """One exported graph in an ONNX Runtime session and, for text, its `tokenizers` tokenizer."""

    def __init__(self, folder: Path, meta: dict, where: list[str]):
        import onnxruntime

        # Its own log lines (unused initializers, a failed node) are not the user's: what fails is
        # raised, and said in one line.
        onnxruntime.set_default_logger_severity(4)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4
        # No arena: each run frees its activations. The image and sound models run in turn on one
        # thread, and arenas kept both peaks at once (all five default models: 2,184 -> 1,918 MB,
        # at the same speed; docs/sounds.md).
        options.enable_cpu_mem_arena = False
        self.meta = meta
        self.session = onnxruntime.InferenceSession(str(folder / "model.onnx"), options, providers=where)
        # The graph's own inputs: tracing drops one the model ignores (unfused CLAP's is_longer).
        self.names = [i.name for i in self.session.get_inputs()]
        tokens = meta.get("tokens")
        self.tokenizer = _tokenizer(folder / "tokenizer.json", tokens) if tokens else None

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["vectors"], {n: feeds[n] for n in self.names})[0].astype(np.float32, copy=False)

    def encode_texts(self, texts: list[str], prefix: str) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts])
        columns = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                   "token_type_ids": [e.type_ids for e in encodings]}
        return self.run({n: np.asarray(columns[n], np.int64) for n in self.names})

    def probe_vectors(self) -> np.ndarray:
        if self.tokenizer is not None:
            return self.encode_texts(PROBE_TEXTS, self.meta["tokens"]["probe_prefix"])
        return self.run(probe_inputs(self.meta))


def _tokenizer(path: Path, tokens: dict):
    """The tokenizer as the torch path calls it: truncated to `max_length`, padded to the longest
    text of a batch or to a fixed `length` (SigLIP's 64)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(tokens["max_length"])
    tokenizer.enable_padding(direction=tokens["side"], pad_id=tokens["pad_id"], pad_token=tokens["pad_token"],
                             length=tokens["length"])
    return tokenizer


class Towers:
    """A model's exported towers in the cache: exported once, each checked and opened on first use.

    `recipe` says how to load the torch encoder the exports are made from (onnx_export.py): its
    "family" (clip, sentence, clap) and what that family's loader takes. `say` is told, before
    it starts, of a download or an export a first run waits minutes for (by default on a terminal).
    """

    def __init__(self, model_id: str, kind: str, options, recipe: dict, say: Callable[[str], None] = on_terminal):
        self.model_id, self.recipe, self.say = model_id, recipe, say
        # "auto" runs every tower fp32 but the image tower a fidelity check lets run int8 (OnnxClip).
        self.precision = "fp32" if options.engine_precision == "auto" else options.engine_precision
        self._where = providers(options.device)
        self.on_cpu = self._where == ["CPUExecutionProvider"]
        self.source = source_folder(model_id)
        if self.source is None:
            if hub_reachable():  # its own progress bars are in the export process, which shows none
                say(f"vsearch: fetching {model_id} from the Hugging Face hub (once; later runs reuse it)")
            run_export({"recipe": recipe})  # downloads it, or says how to
            self.source = source_folder(model_id)
        if self.source is None:
            raise ExportFailed("its files are not in a local folder or the Hugging Face cache")
        self.root = options.cache / model_hash(self.source, kind)
        self._entries: dict = {}  # read (or exported) by meta(), not yet opened
        self._open: dict[tuple[str, str], Tower] = {}  # by (tower, precision)

    def meta(self, *towers: str) -> list[dict]:
        """The towers' meta.json, exporting those the cache has none of first (in one process)."""
        keys = [(t, self.precision) for t in towers]
        self._entries.update({key: self._read(*key) for key in keys})
        if missing := [t for t, p in keys if self._entries[t, p] is None]:
            self._entries.update({(t, self.precision): e for t, e in self._export(missing, self.precision).items()})
        return [self._entries[key].meta for key in keys]

    def ready(self, tower: str, precision: str) -> bool:
        """Whether a tower's entry at `precision` is open or on disk and whole, making none."""
        key = (tower, precision)
        if key not in self._open and self._entries.get(key) is None:
            self._entries[key] = self._read(*key)
        return key in self._open or self._entries[key] is not None

    def tower(self, tower: str, precision: str | None = None) -> Tower:
        """A tower's session (at its precision now, or `precision`), checked against its probe; a
        damaged entry is exported again."""
        key = (tower, precision or self.precision)
        if key not in self._open:
            entry = self._entries.pop(key, None) or self._read(*key)
            opened = self._checked(entry) if entry else None
            if opened is None:
                opened = self._checked(self._export([tower], key[1])[tower])
            if opened is None:
                raise ModelError(f"the {tower} tower exported to {self._folder(*key)} gives other vectors than "
                                 "when it was made; delete that folder, or use engine = \"torch\"")
            self._open[key] = opened
        return self._open[key]

    def close(self, tower: str, precision: str | None = None) -> None:
        """Close a tower's sessions (at `precision` only, if given); it opens again on its next use."""
        for key in [k for k in self._open if k[0] == tower and precision in (None, k[1])]:
            del self._open[key]

    def _folder(self, tower: str, precision: str) -> Path:
        return self.root / f"{tower}-{precision}"

    def _read(self, tower: str, precision: str):
        """The tower's entry at `precision`; an int8 one quantized another way (by an earlier
        vsearch) is deleted, to be made again."""
        entry = read_entry(self._folder(tower, precision))
        if entry is not None and precision == "int8" and entry.meta.get("quantization") != QUANTIZATION:
            discard(entry.folder)
            return None
        return entry

    def _checked(self, entry) -> Tower | None:
        try:
            opened = Tower(entry.folder, entry.meta, self._where)
            # Probed when it was made; again only where its files were written to since.
            ok = not entry.touched or lowest_cosine(opened.probe_vectors(), entry.meta["probe"]) >= _SAME
        except Exception:  # onnxruntime and tokenizers raise their own kinds on a damaged file
            return None
        return opened if ok else None

    def _export(self, towers: list[str], precision: str) -> dict:
        """Export `towers` at `precision`, whose entries are missing or failed their check: {tower: entry}.

        What is there of them is deleted first; an int8 entry is made from the fp32 one, which
        is kept where it still reads.
        """
        fp32 = {}
        for tower in towers:
            _discard_damaged(tower, self._folder(tower, precision))
            fp32[tower] = read_entry(self._folder(tower, "fp32")) if precision != "fp32" else None
            if fp32[tower] is None:
                _discard_damaged(tower, self._folder(tower, "fp32"))
        failed = self.root / "failed.json"
        if failed.exists():
            raise ExportFailed(json.loads(failed.read_text("utf-8")).get("why", "it failed before"))
        engine = "the CPU engine" if self.on_cpu else "ONNX Runtime"
        if missing := {t: self._folder(t, "fp32") for t, entry in fp32.items() if entry is None}:
            # Minutes for the default models, and nothing else is said meanwhile.
            self.say(f"vsearch: exporting {self.model_id} ({', '.join(missing)}) to ONNX for {engine} "
                     "(once; later runs reuse it)")
            try:
                fp32.update(publish(missing, lambda folders: run_export(
                    {"recipe": self.recipe, "towers": {t: str(f) for t, f in folders.items()}})))
            except ExportFailed as exc:
                self.root.mkdir(parents=True, exist_ok=True)
                failed.write_text(json.dumps({"why": str(exc), "version": EXPORT_VERSION}), "utf-8")
                raise
        if precision == "fp32":
            return fp32
        self.say(f"vsearch: making int8 weights of {self.model_id} ({', '.join(towers)}) for {engine} "
                 "(once; later runs reuse them)")
        return publish({t: self._folder(t, precision) for t in towers}, lambda folders: run_export(
            {"quantize": {t: [str(fp32[t].folder), str(f)] for t, f in folders.items()}}))


def _discard_damaged(tower: str, folder: Path) -> None:
    if folder.exists():
        log.warning(f"vsearch: warning: the exported {tower} tower in {folder} is damaged; exporting it again")
        discard(folder)


def run_export(job: dict) -> dict:
    """Run one export job in a process of its own (onnx_export.py) and return the meta it made."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "vsearch.index.onnx_export", json.dumps(job)],
                          capture_output=True, text=True)
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ExportFailed(f"the export process failed: {last[:200]}") from None
    if "model_error" in answer:
        raise ModelError(answer["model_error"])
    if "export_failed" in answer:
        raise ExportFailed(answer["export_failed"])
    return answer["meta"]


class OnnxClip:
    """A CLIP-family model's image and text towers on ONNX Runtime (HFEncoder's twin)."""

    def __init__(self, model_id: str, options):
        self.model_id = model_id
        self.batch_size = pick_batch(options.batch_size, "cpu")
        self.towers = Towers(model_id, "clip", options, {"family": "clip", "model_id": model_id})
        # "auto" on a CPU: the image tower runs int8 once it is judged faithful on this user's own
        # frames, and fp32 until then and wherever it is not (index/fidelity.py).
        auto = options.engine_precision == "auto" and self.towers.on_cpu
        self.check = FrameCheck(self.towers, model_id) if auto else None
        image, text = self.towers.meta("image", "text")
        self.frame_spec = FrameSpec(*image["frame_spec"])
        self.dim = len(text["probe"][0])

    def encode_images(self, pixels: np.ndarray, precision: str | None = None) -> np.ndarray:
        """Encode (N, H, W, 3) uint8 frames already sized to `frame_spec`."""
        if precision is None and self.check is not None:
            precision = self.check.precision(ingest=False)
        tower = self.towers.tower("image", precision)
        return _batched(len(pixels), self.batch_size, self.dim,
                        lambda lo, hi: tower.run({"pixels": np.ascontiguousarray(pixels[lo:hi])}))

    def encode_frames(self, pixels: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """Encode an ingest's frames: (vectors, how many each precision encoded); under "auto" they
        feed the fidelity check, which a chunk is cut for, so frames after the verdict run at it."""
        if self.check is None:
            return self.encode_images(pixels, self.towers.precision), {self.towers.precision: len(pixels)}
        parts, used, at = [], {}, 0
        while at < len(pixels):
            precision = self.check.precision(ingest=True)
            cut = at + self.check.room(len(pixels) - at, precision)
            parts.append(self.encode_images(pixels[at:cut], precision))
            self.check.see(pixels[at:cut], parts[-1], precision, lambda sample: self.encode_images(sample, "int8"))
            used[precision], at = used.get(precision, 0) + cut - at, cut
        return (np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)), used

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        tower = self.towers.tower("text")
        return _batched(len(texts), self.batch_size, self.dim, lambda lo, hi: tower.encode_texts(texts[lo:hi], ""))

    def close_text_tower(self) -> None:
        """Free the text tower (SigLIP2's holds about 400 MB once run) until a text is encoded again."""
        self.towers.close("text")


class OnnxSentence:
    """A sentence-embedding model on ONNX Runtime (SentenceEncoder's twin)."""

    def __init__(self, name: str, preset, options):
        from dataclasses import asdict

        self.model_id, self.preset = name, preset
        self.batch_size = pick_batch(options.batch_size, "cpu")
        recipe = {"family": "sentence", "name": name, "preset": asdict(preset)}
        self.towers = Towers(preset.model_id, f"sentence {preset.pooling} {preset.passage_prefix}", options, recipe)
        self.dim = len(self.towers.meta("text")[0]["probe"][0])

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        tower = self.towers.tower("text")
        return _batched(len(texts), self.batch_size, self.dim, lambda lo, hi: tower.encode_texts(texts[lo:hi], prefix))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.preset.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.preset.passage_prefix)

    def close_text_tower(self) -> None:
        """Free the session (e5-small's holds over 100 MB) until a text is encoded again."""
        self.towers.close("text")


class OnnxClap(ClapHearing):
    """A CLAP model on ONNX Runtime: its audio tower, and its text tower `with_text` (ClapEncoder's twin).

    CLAP's features (a log-mel spectrogram) still come from transformers' ClapFeatureExtractor,
    which is numpy; only sounds need it.
    """

    scripts = frozenset({"latin"})

    def __init__(self, model_id: str, options, with_text: bool):
        self.model_id = model_id
        # HTSAT's activations grow fast with the batch (docs/sounds.md): as ClapEncoder on a CPU.
        self.batch_size = options.batch_size or 2
        recipe = {"family": "clap", "model_id": model_id, "with_text": with_text}
        # "spans": the sound graph takes stretch weights (index/torch_tweaks.py clap_spans).
        self.towers = Towers(model_id, "clap spans", options, recipe)
        meta = self.towers.meta(*(("sound", "text") if with_text else ("sound",)))[0]
        self.rate, self._truncation = int(meta["rate"]), meta["truncation"]
        self.columns, self.span_seconds = int(meta["columns"]), float(meta["seconds"])
        self.dim = np.asarray(meta["probe"]).shape[-1]
        self.with_text = with_text

    @functools.cached_property
    def features(self):
        from transformers import ClapFeatureExtractor

        return ClapFeatureExtractor.from_pretrained(str(self.towers.source))

    def _run(self, clips: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
        tower = self.towers.tower("sound")
        inputs = self.features(clips, sampling_rate=self.rate, truncation=self._truncation, padding="repeatpad",
                               return_tensors="np")
        feeds = {n: np.asarray(inputs[n]).astype(tower.meta["inputs"][n][0]) for n in tower.names if n != "weights"}
        return tower.run({**feeds, "weights": weights})

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not self.with_text:
            raise ModelError(f"{self.model_id} was loaded without its text tower")
        return self.towers.tower("text").encode_texts(texts, "")


def _batched(count: int, size: int, dim: int, encode: Callable[[int, int], np.ndarray]) -> np.ndarray:
    parts = [encode(lo, min(count, lo + size)) for lo in range(0, count, size)]
    return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)
