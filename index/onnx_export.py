"""Export a model's towers from its torch encoder to ONNX, and quantize them to int8.

It runs as its own process (`python -m vsearch.index.onnx_export JOB`, started by onnx_engine.py),
so the process that asked never imports torch and never holds the torch model's memory; the JSON
answer on its last line of output is the tower's meta.json, or why it could not be made.

Each graph takes what the torch path feeds the model (uint8 frames, token ids, CLAP's features)
and returns L2-normalised vectors, so the ONNX side is a tokenizer and a session. An export counts
only when its vectors, with the ONNX side's own tokenizer, match the torch encoder's at cosine
0.9999 or more on probe inputs.
"""

import inspect
import json
import logging
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .engines import ExportFailed, QUANTIZATION, lowest_cosine

OPSET = 17
FP32_COSINE = 0.9999
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _pooled(out):
    import torch

    emb = out.pooler_output if hasattr(out, "pooler_output") else out
    return torch.nn.functional.normalize(emb.float(), dim=-1)


def _graph(model, call: Callable, inputs: dict, folder: Path) -> None:
    """Trace `call(model, **inputs)` into folder/model.onnx; the batch (and token) axes stay free."""
    import torch

    names = list(inputs)

    class Tower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model  # a submodule, so its weights become the graph's initializers

        def forward(self, *tensors):
            return _pooled(call(self.model, **dict(zip(names, tensors))))

    import onnx

    # Token ids vary in length, and CLAP's stretch weights in how many stretches a clip has.
    second = {**{n: "tokens" for n in TOKEN_INPUTS}, "weights": "stretches"}
    dynamic = {n: {0: "batch", **({1: second[n]} if n in second else {})} for n in names}
    out = {0: "batch", **({1: "stretches"} if "weights" in names else {})}
    traced = folder / "traced"
    traced.mkdir()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Tower().eval(), tuple(inputs.values()), str(traced / "model.onnx"), input_names=names,
                              output_names=["vectors"], dynamic_axes={**dynamic, "vectors": out},
                              opset_version=OPSET, dynamo=False)
        # Weights beside the graph, in one file: ONNX Runtime maps it rather than parsing and copying
        # it, which opens SigLIP2's text tower in 0.5 s instead of 3.9 s (docs/performance.md).
        onnx.save_model(onnx.load(str(traced / "model.onnx")), str(folder / "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)
    except Exception as exc:  # torch.onnx raises many kinds: unsupported operators, tracing errors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportFailed(f"{type(exc).__name__}: {first[:200]}") from None
    finally:
        shutil.rmtree(traced, ignore_errors=True)


def _described(inputs: dict) -> dict:
    return {name: [str(t.numpy().dtype), [None, *t.shape[1:]]] for name, t in inputs.items()}


def _checked(folder: Path, meta: dict, want: np.ndarray, encode: Callable) -> dict:
    """`meta` with its probe vectors, once the graph through the ONNX side gives torch's `want`."""
    from .onnx_engine import Tower

    try:
        tower = Tower(folder, meta, ["CPUExecutionProvider"])
        got = encode(tower)
    except Exception as exc:  # onnxruntime's own kinds: the graph does not run
        raise ExportFailed(f"ONNX Runtime cannot run its export ({type(exc).__name__}: {str(exc)[:160]})") from None
    low = lowest_cosine(got, want)
    if low < FP32_COSINE:
        raise ExportFailed(f"its ONNX vectors differ from torch's (cosine {low:.5f})")
    return {**meta, "probe": tower.probe_vectors().tolist(), "cosine_to_torch": low}


def export_image_tower(encoder, folder: Path) -> dict:
    """The image tower of a torch HFEncoder (float32, CPU), normalising uint8 frames in the graph."""
    import torch

    from .onnx_engine import probe_inputs

    spec = encoder.frame_spec
    meta = {"tower": "image", "frame_spec": [spec.width, spec.height, spec.resize],
            "inputs": {"pixels": ["uint8", [None, spec.height, spec.width, 3]]}}
    pixels = probe_inputs(meta)["pixels"]
    mean, std = encoder.pixels.mean.cpu(), encoder.pixels.std.cpu()

    def images(model, pixels):
        return model.get_image_features(pixel_values=(pixels.permute(0, 3, 1, 2).float() - mean) / std)

    _graph(encoder.model, images, {"pixels": torch.from_numpy(pixels)}, folder)
    return _checked(folder, meta, encoder.encode_images(pixels), lambda t: t.run(probe_inputs(meta)))


def _tokenizer_meta(tokenizer, folder: Path, max_length: int, length: int | None, prefix: str) -> dict:
    """Save the tokenizer for the `tokenizers` library, with how the torch path calls it."""
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return {"pad_id": int(pad), "pad_token": tokenizer.pad_token or "", "side": tokenizer.padding_side,
            "max_length": int(max_length), "length": length, "probe_prefix": prefix}


def _text_graph(model, call: Callable, accepted: set, tokenizer, tokens: dict, reference: Callable,
                folder: Path) -> dict:
    from .onnx_engine import PROBE_TEXTS

    prefix = tokens["probe_prefix"]
    sample = tokenizer([prefix + t for t in PROBE_TEXTS], padding=True, truncation=True, return_tensors="pt")
    inputs = {n: sample[n] for n in TOKEN_INPUTS if n in sample and n in accepted}
    _graph(model, call, inputs, folder)
    meta = {"tower": "text", "tokens": tokens, "inputs": _described(inputs)}
    return _checked(folder, meta, reference(PROBE_TEXTS), lambda t: t.encode_texts(PROBE_TEXTS, prefix))


def export_text_tower(encoder, folder: Path) -> dict:
    """The text tower of a torch HFEncoder, over token ids."""
    kwargs = encoder._text_kwargs
    length = kwargs["max_length"] if kwargs["padding"] == "max_length" else None
    tokens = _tokenizer_meta(encoder.tokenizer, folder, kwargs["max_length"], length, "")
    return _text_graph(encoder.model, lambda m, **kw: m.get_text_features(**kw), encoder._text_params,
                       encoder.tokenizer, tokens, encoder.encode_texts, folder)


def export_sentence(encoder, folder: Path) -> dict:
    """A sentence-embedding model (SentenceEncoder), pooled in the graph as its torch path pools."""
    cls = encoder.preset.pooling == "cls"

    def pooled(model, **tokens):
        hidden = model(**tokens).last_hidden_state.float()
        if cls:
            return hidden[:, 0]
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    prefix = encoder.preset.passage_prefix
    tokens = _tokenizer_meta(encoder.tokenizer, folder, encoder._limit, None, prefix)
    accepted = set(inspect.signature(encoder.model.forward).parameters)
    return _text_graph(encoder.model, pooled, accepted, encoder.tokenizer, tokens,
                       lambda texts: encoder._encode(texts, prefix), folder)


def export_sound_tower(encoder, folder: Path) -> dict:
    """CLAP's audio tower and projection (ClapEncoder): its features and stretch weights in, a
    vector per stretch out (index/torch_tweaks.py `clap_spans`)."""
    import torch

    from .clap import span_weights
    from .torch_tweaks import clap_spans

    clips = [np.sin(np.linspace(0, 400 * (i + 1), encoder.rate * 3)).astype(np.float32) for i in range(2)]
    spans = [((0.0, 3.0), (1.0, 2.5))] * len(clips)
    features = encoder.features(clips, sampling_rate=encoder.rate, truncation=encoder._truncation,
                                padding="repeatpad", return_tensors="pt")
    inputs = {k: v.float() if v.dtype == torch.float64 else v for k, v in features.items()}
    weights = [span_weights(s, encoder.span_seconds, encoder.columns) for s in spans]
    inputs["weights"] = torch.from_numpy(np.stack(weights))
    _graph(encoder.model, lambda model, weights, **kw: clap_spans(model, weights, **kw), inputs, folder)
    meta = {"tower": "sound", "inputs": _described(inputs), "rate": encoder.rate, "truncation": encoder._truncation,
            "columns": encoder.columns, "seconds": encoder.span_seconds}
    want = np.concatenate(encoder.encode_spans(clips, spans))
    return _checked(folder, meta, want,
                    lambda t: t.run({k: v.numpy() for k, v in inputs.items()}).reshape(len(want), -1))


def export_clap_text(encoder, folder: Path) -> dict:
    """CLAP's text tower (a ClapEncoder loaded `with_text`)."""
    tokens = _tokenizer_meta(encoder.tokenizer, folder, 77, None, "")
    return _text_graph(encoder.model, lambda m, **kw: m.get_text_features(**kw), {"input_ids", "attention_mask"},
                       encoder.tokenizer, tokens, encoder.encode_texts, folder)


def quantize(fp32, folder: Path) -> dict:
    """An int8 copy of an fp32 entry by dynamic quantization: int8 weights, a scale per output
    channel, float activations (docs/performance.md: per channel loses less than one scale a matrix)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .onnx_engine import Tower

    if (fp32.folder / "tokenizer.json").exists():
        shutil.copy(fp32.folder / "tokenizer.json", folder / "tokenizer.json")
    quiet = logging.getLogger()  # the quantizer logs its advice on the root logger
    level = quiet.level
    try:
        quiet.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(fp32.model), str(folder / "model.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True, use_external_data_format=True)
    except Exception as exc:
        raise ExportFailed(f"int8 quantization failed ({type(exc).__name__}: {str(exc)[:160]})") from None
    finally:
        quiet.setLevel(level)
    meta = {k: v for k, v in fp32.meta.items() if k not in ("files", "probe", "cosine_to_torch")}
    got = Tower(folder, meta, ["CPUExecutionProvider"]).probe_vectors()
    return {**meta, "probe": got.tolist(), "cosine_to_fp32": lowest_cosine(got, fp32.meta["probe"]),
            "quantization": QUANTIZATION}


EXPORTERS = {("clip", "image"): export_image_tower, ("clip", "text"): export_text_tower,
             ("sentence", "text"): export_sentence, ("clap", "sound"): export_sound_tower,
             ("clap", "text"): export_clap_text}


def torch_encoder(recipe: dict, with_text: bool):
    """The torch encoder (float32, CPU) a recipe names, as the torch engine would load it; a CLAP
    one with its text tower where that is to be exported too."""
    from .encoders import EncoderOptions, HFEncoder

    options = EncoderOptions(device="cpu", dtype="float32", engine="torch")
    if recipe["family"] == "clip":
        return HFEncoder(recipe["model_id"], options)
    if recipe["family"] == "sentence":
        from .text_encoders import SentenceEncoder, TextPreset

        return SentenceEncoder(recipe["name"], TextPreset(**recipe["preset"]), options)
    from .audio_encoders import ClapEncoder

    return ClapEncoder(recipe["model_id"], options, with_text=recipe["with_text"] or with_text)


def answer(job: dict) -> dict:
    """Do one job: {"recipe", "towers": {tower: folder}} exports, {"quantize": {tower: [fp32 folder,
    folder]}} quantizes, and a recipe alone only loads (downloads) the model."""
    from .engines import read_entry
    from .loading import ModelError

    try:
        if "quantize" in job:
            return {"meta": {t: quantize(read_entry(Path(src)), Path(out)) for t, (src, out) in job["quantize"].items()}}
        towers = job.get("towers", {})
        encoder = torch_encoder(job["recipe"], "text" in towers)
        return {"meta": {t: EXPORTERS[job["recipe"]["family"], t](encoder, Path(f)) for t, f in towers.items()}}
    except ModelError as exc:
        return {"model_error": str(exc)}
    except ExportFailed as exc:
        return {"export_failed": str(exc)}


if __name__ == "__main__":
    print(json.dumps(answer(json.loads(sys.argv[1]))))
