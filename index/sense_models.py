"""The speech and screen-text models (faster-whisper, RapidOCR): named, loaded and failed as every
model is (loading.py), and handed loaded to extract/speech.py and extract/ocr.py."""

import functools
import os
from collections.abc import Callable
from pathlib import Path

from vsearch.extract.native import malloc_trim
from vsearch.extract.speech import SpeechOptions

from .loading import ModelError, SCREEN_TEXT, SPEECH, hub_reachable, load_failure, on_terminal, pick_device

# Per device, by measurement and published error rates (README, "Speech"): small is the
# smallest multilingual model whose Chinese is usable, at about a third of real time on 2 cores;
# large-v3-turbo is near large-v3's accuracy at several times its speed on a GPU.
DEFAULT_SPEECH = {"cpu": "small", "cuda": "large-v3-turbo"}
INSTALL_WHISPER = "pip install faster-whisper"
INSTALL_RAPIDOCR = "pip install rapidocr-onnxruntime (Python 3.12 or older)"


def whisper_device(device: str) -> tuple[str, int]:
    """CTranslate2's device and index for the `device` setting as pick_device reads it; a device
    CTranslate2 has no kernels for (mps) runs speech on the CPU."""
    picked = pick_device(device)
    if picked.startswith("cuda"):
        return "cuda", int(picked.partition(":")[2] or 0)
    return "cpu", 0


def speech_model_name(options: SpeechOptions) -> str:
    """The model `asr.model` names on this machine: a size, a Hugging Face id or a folder."""
    return DEFAULT_SPEECH[whisper_device(options.device)[0]] if options.model == "auto" else options.model


def speech_model(options: SpeechOptions) -> tuple[str, Callable[[], object]]:
    """(the speech model's name, a loader of it) for extract/speech.py transcribe."""
    name = speech_model_name(options)
    device, index = whisper_device(options.device)
    # Speech runs beside frame decoding and encoding: half the cores unless told otherwise.
    threads = options.threads or max(1, (os.cpu_count() or 2) // 2)

    def load():
        model = load_whisper(name, device, index, options.compute_type, threads)
        if isinstance(model, ModelError):
            raise model
        return model

    return name, load


def whisper_here(name: str) -> bool:
    """Whether a faster-whisper model is a folder or already in the Hugging Face cache."""
    if Path(name).is_dir():
        return True
    from faster_whisper import download_model

    try:
        download_model(name, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - an unknown size (ValueError) or the hub's kinds for one not cached
        return False


@functools.cache
def load_whisper(name: str, device: str, index: int, compute_type: str, threads: int):
    """A faster-whisper model, loaded once per process; a failure too is remembered (returned, not
    raised), so a library of videos probes the hub once, not once per video."""
    try:
        return _load_whisper(name, device, index, compute_type, threads)
    except ModelError as exc:
        return exc


def _load_whisper(name: str, device: str, index: int, compute_type: str, threads: int):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ModelError(f"speech recognition needs faster-whisper: {INSTALL_WHISPER} (or set {SPEECH.off})") from None
    compute = compute_type if compute_type != "auto" else ("float16" if device == "cuda" else "int8")
    local = Path(name).is_dir()
    online = not local and hub_reachable()
    if online and not whisper_here(name):  # faster-whisper shows no progress while it downloads
        on_terminal(f"vsearch: fetching speech model {name} from the Hugging Face hub (once; later runs reuse it)")
    try:
        model = WhisperModel(name, device=device, device_index=index, compute_type=compute,
                             cpu_threads=threads, local_files_only=not local and not online)
    except Exception as exc:  # noqa: BLE001 - CTranslate2 and the hub raise many types; all mean "cannot load"
        raise load_failure(name, SPEECH, exc, offline=not local and not online) from None
    malloc_trim()  # the float16 weights it read to convert to int8 (half a GB for `small`)
    return model


@functools.cache
def load_ocr(threads: int):
    """RapidOCR with its bundled PP-OCRv4 Chinese+English models, loaded once per process."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise ModelError(f"on-screen text needs rapidocr-onnxruntime: {INSTALL_RAPIDOCR}, "
                         f"or set {SCREEN_TEXT.off}") from None
    # "max": detection shrinks large frames instead of enlarging every frame to 736 px or more.
    kwargs = {"det_limit_type": "max", "det_limit_side_len": 960}
    if threads:
        kwargs.update({f"{part}_intra_op_num_threads": threads for part in ("det", "cls", "rec")})
    return RapidOCR(**kwargs)


def installed(package: str) -> bool:
    """Whether a Python package is installed, without importing it."""
    import importlib.util

    return importlib.util.find_spec(package) is not None


def ocr_here() -> bool:
    """Whether RapidOCR, whose models come inside its package, is installed."""
    return installed("rapidocr_onnxruntime")
