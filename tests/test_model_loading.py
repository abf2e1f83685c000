"""Every model is named, loaded and failed by index/'s rules (index/loading.py): one place decides
the device, the speech and screen-text models load in index/ and reach extract/ loaded, a command
names every missing model in one error, and a first run says what it fetches or exports."""

import ast
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_senses import tiny_en

from vsearch.extract.speech import SpeechOptions
from vsearch.index import EncoderOptions, ModelError
from vsearch.index.loading import SPEECH, load_failure, on_terminal, pick_device
from vsearch.index.sense_models import DEFAULT_SPEECH, load_whisper, speech_model, speech_model_name, whisper_device
from vsearch.testing.checkpoints import tiny_clip
from vsearch.testing.media import colour_video

ROOT = Path(__file__).resolve().parents[1]
GPU = pick_device("auto") != "cpu"


@pytest.fixture
def offline(monkeypatch):
    """No Hugging Face hub, as on this machine, whatever the network the tests run on."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_one_place_decides_the_device():
    auto = pick_device("auto")
    assert whisper_device("auto") == (("cuda", 0) if auto == "cuda" else ("cpu", 0))
    assert whisper_device("cpu") == whisper_device("mps") == ("cpu", 0)  # CTranslate2 has no mps
    assert speech_model_name(SpeechOptions(model="auto", device="auto")) == DEFAULT_SPEECH[auto]
    assert speech_model_name(SpeechOptions(model="auto", device="cpu")) == "small"
    from vsearch.index.engines import engine_for

    assert engine_for("auto", "auto") == ("torch" if auto == "cuda" else "onnx")


def test_nothing_else_asks_whether_there_is_a_gpu():
    """torch.cuda.is_available, CTranslate2's and ONNX Runtime's device counts, the NVIDIA driver:
    asked in index/loading.py only."""
    asks = {"is_available", "get_cuda_device_count", "get_device", "device_count"}
    found = []
    for path in sorted(p for layer in ("extract", "index", "query", "pipeline") for p in (ROOT / layer).rglob("*.py")):
        if path == ROOT / "index" / "loading.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in asks) or (
                    isinstance(node, ast.Constant) and "/proc/driver/nvidia" in str(node.value)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


@pytest.mark.skipif(GPU, reason="a GPU is present")
def test_speech_asked_to_run_on_a_missing_gpu_says_so_as_the_image_model_does(tmp_path):
    from vsearch.extract.cache import CueCache
    from vsearch.index import load_encoder
    from vsearch.index.hearing import listen

    video = colour_video(tmp_path / "v.mp4", [("red", 2)], audio=True)
    said = listen(video, SpeechOptions(mode="on", model=tiny_en(), device="cuda"), set(), CueCache(None),
                  threading.Event(), None)
    with pytest.raises(ModelError) as image:
        load_encoder(str(tiny_clip(tmp_path / "clip")), EncoderOptions(device="cuda"))
    assert said.skipped == "failed" and str(image.value) in said.warnings[0]


def test_extract_loads_no_model():
    """extract/ is handed its models loaded: it imports no model package and nothing of index/."""
    packages = {"faster_whisper", "ctranslate2", "rapidocr_onnxruntime", "onnxruntime", "huggingface_hub"}
    for path in sorted((ROOT / "extract").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {n.split(".")[0] for n in names} & packages, path.name


def test_the_speech_model_loads_once_in_index_and_is_handed_to_extract():
    name, load = speech_model(SpeechOptions(model=tiny_en(), device="auto"))
    model = load()
    assert name == tiny_en() and load() is model and type(model).__name__ == "WhisperModel"
    assert speech_model(SpeechOptions(model=tiny_en(), device="auto"))[1]() is model


def test_a_speech_model_that_will_not_load_says_its_setting_in_whole_words(tmp_path, offline):
    failed = load_whisper("base.en", "cpu", 0, "int8", 1)  # not in the cache, and no hub
    assert isinstance(failed, ModelError) and load_whisper("base.en", "cpu", 0, "int8", 1) is failed
    said = str(failed)
    assert "hub is unreachable" in said and "asr.model" in said and "download_model('base.en')" in said
    assert isinstance(load_whisper(str(tmp_path), "cpu", 0, "int8", 1), ModelError)  # an empty folder
    # The hub's own reason, longer than a message takes, is cut between words.
    from faster_whisper import WhisperModel

    with pytest.raises(Exception) as raised:
        WhisperModel("base.en", local_files_only=True)
    whole = str(raised.value).splitlines()[0]
    why = str(load_failure("base.en", SPEECH, raised.value)).split(" (", 1)[1].split("); ", 1)[0]
    assert len(whole) > 160 and why.endswith(" …") and whole.startswith(why[:-2]) and whole[len(why) - 2] == " "


@pytest.mark.slow
def test_every_missing_model_is_named_in_one_error_before_any_loads(env, tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 2)], audio=True)
    environ = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "VSEARCH_MODEL": "siglip2",
               "VSEARCH_TEXT_MODEL": "multilingual-e5-small", "VSEARCH_ASR_MODE": "auto", "VSEARCH_ASR_MODEL": "auto",
               "VSEARCH_AUDIO_MODE": "on", "VSEARCH_OCR_MODE": "auto", "VSEARCH_PLUGINS": ""}
    done = subprocess.run([sys.executable, "-m", "vsearch", "index", str(video)], env=environ, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("vsearch: error: 4 models this command uses are missing: ")
    speech = DEFAULT_SPEECH["cuda" if GPU else "cpu"]
    for named in [("model google/siglip2-base-patch16-224 (`hf download google/siglip2-base-patch16-224`, or pass "
                   "a local folder with --model)"),
                  "text model intfloat/multilingual-e5-small (`hf download intfloat/multilingual-e5-small`",
                  (f"speech model {speech} (`python -c \"import faster_whisper; "
                   f"faster_whisper.download_model('{speech}')\"`, or pass a local folder with --asr-model "
                   "(or set asr.model)"),
                  ("audio model laion/clap-htsat-unfused (`hf download laion/clap-htsat-unfused`, or pass a local "
                   "folder with --audio-model"), "HF_HUB_OFFLINE=1"]:
        assert named in line
    assert not (env / "cache" / "models").exists()  # nothing was exported, nor the index made
    # A missing speech model alone costs speech, not the run: a warning on each video.
    environ.update({"VSEARCH_MODEL": "test-colors", "VSEARCH_TEXT_MODEL": "image", "VSEARCH_AUDIO_MODE": "off",
                    "VSEARCH_PLUGINS": "vsearch.testing.color_encoder"})
    done = subprocess.run([sys.executable, "-m", "vsearch", "index", str(video)], env=environ, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0 and f"speech not transcribed (cannot load speech model {speech}" in done.stderr


@pytest.mark.slow
def test_a_first_export_is_said_before_it_starts_and_later_runs_say_nothing(tmp_path):
    from vsearch.index.onnx_engine import Towers

    folder = str(tiny_clip(tmp_path / "clip"))
    options, recipe = EncoderOptions(device="cpu", engine="onnx", cache=tmp_path / "models"), {
        "family": "clip", "model_id": folder}
    heard = []
    Towers(folder, "clip", options, recipe, say=lambda line: heard.append((line, list(options.cache.rglob("*.onnx")))))
    assert heard == []  # a model in a local folder is fetched from nowhere
    Towers(folder, "clip", options, recipe, say=lambda line: heard.append(
        (line, list(options.cache.rglob("*.onnx"))))).meta("image", "text")
    assert heard == [((f"vsearch: exporting {folder} (image, text) to ONNX for the CPU engine (once; later runs "
                       "reuse it)"), [])]  # said before anything was written
    Towers(folder, "clip", options, recipe, say=heard.append).meta("image", "text")
    assert len(heard) == 1


def test_a_line_is_said_on_a_terminal_and_never_into_a_pipe_or_log(monkeypatch):
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        on_terminal("vsearch: exporting it")
    assert os.read(leader, 200).decode().endswith("vsearch: exporting it\r\n")
    os.close(leader)
    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe:
        monkeypatch.setattr(sys, "stderr", pipe)
        on_terminal("vsearch: exporting it")
    with os.fdopen(read) as got:
        assert got.read() == ""


@pytest.mark.slow
def test_a_first_index_on_a_terminal_says_it_exports_and_in_a_log_it_does_not(env, tmp_path):
    video = colour_video(tmp_path / "v.mp4", [("red", 2)])
    clip = str(tiny_clip(tmp_path / "clip"))
    environ = {**os.environ, "VSEARCH_MODEL": clip, "VSEARCH_ENGINE": "onnx"}
    command = [sys.executable, "-m", "vsearch", "index", str(video)]
    logged = subprocess.run(command, env={**environ, "VSEARCH_HOME": str(tmp_path / "a")}, capture_output=True,
                            text=True, timeout=300, check=False)
    assert logged.returncode == 0 and "exporting" not in logged.stderr
    leader, follower = pty.openpty()
    began = time.monotonic()
    run = subprocess.Popen(command, env={**environ, "VSEARCH_HOME": str(tmp_path / "b")}, stdout=subprocess.DEVNULL,
                           stderr=follower)
    os.close(follower)
    said = b""
    while time.monotonic() - began < 300:
        if not select.select([leader], [], [], 1.0)[0]:
            if run.poll() is not None:
                break
            continue
        try:
            said += os.read(leader, 4096)
        except OSError:  # every end of the terminal is closed: the process is done
            break
    assert run.wait(timeout=60) == 0
    os.close(leader)
    assert f"vsearch: exporting {clip} (image, text) to ONNX for the CPU engine (once; later runs reuse it)" \
        in said.decode(errors="replace")
