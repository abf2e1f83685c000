"""Resident memory of the default models, each loaded through vsearch's own loading code.

    python benchmarks/models_memory.py [--ingest VIDEO [--no-sounds]]

The hub is out of reach here, so each model is a randomly initialised checkpoint of the default's
exact size (vocabulary included: SigLIP2's 256k-token Gemma vocabulary is most of its text
tower), saved and loaded like a real one; speech is a random Whisper of `small`'s shapes (the CPU
default), converted to CTranslate2 float16 like the published faster-whisper-small, with the real
tiny.en's vocabulary; screen text is the real PP-OCRv4 in RapidOCR. Random speech weights decode to
the 448-token limit of each window (a real model stops at the words said), so their decoding state is
an upper bound and their time is not a measurement. Each line is the RSS growth of one process that loads
the model and runs it once, against the same process before loading (the baseline). With
--ingest, more processes index VIDEO with all five (speech on, screen text auto, sounds on) and
print their peak RSS at the default batch size (0: 16 on a CPU, 2 for sounds) and 32, against the
same ingest without the sound model (the baseline); --no-sounds runs only that baseline, the
defaults on a CPU. The models are exported in the first ingest and, at engine_precision auto, the
image tower's int8 check runs in it: use a video of well over 64 changing seconds.
"""

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def siglip2_real_size(folder: Path) -> Path:
    """google/siglip2-base-patch16-224's shapes: 768 wide, 12 layers, patch 16, 256,000 tokens."""
    from ingest import siglip2_base

    return siglip2_base(folder, vocab_size=256000)


def e5_small_real_size(folder: Path) -> Path:
    """intfloat/multilingual-e5-small's shapes: 384 wide, 12 layers, 250,037 tokens."""
    import torch
    from transformers import BertConfig, BertModel

    from vsearch.testing.checkpoints import _tokenizer

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=250037, hidden_size=384, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=1536, max_position_embeddings=512)).save_pretrained(folder)
    _tokenizer(512).save_pretrained(folder)
    return folder


def whisper_small_size(folder: Path) -> Path:
    """faster-whisper `small`'s shapes (768 wide, 12 + 12 layers) in CTranslate2 float16, with the
    real tiny.en's vocabulary and special tokens (English-only: 51,864 tokens against small's 51,865)."""
    import json
    import shutil

    import ctranslate2
    import torch
    from ingest import tiny_en
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    WhisperForConditionalGeneration(WhisperConfig(
        vocab_size=51864, d_model=768, encoder_layers=12, decoder_layers=12, encoder_attention_heads=12,
        decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072)).save_pretrained(folder / "hf")
    ctranslate2.converters.TransformersConverter(str(folder / "hf"), load_as_float16=True).convert(
        str(folder / "ct2"), quantization="float16")
    shutil.rmtree(folder / "hf")
    tiny, out = Path(tiny_en()), folder / "ct2"
    config = json.loads((tiny / "config.json").read_text())
    config["alignment_heads"] = json.loads((out / "config.json").read_text())["alignment_heads"]
    (out / "config.json").write_text(json.dumps(config))
    (out / "vocabulary.json").unlink()  # the converter's own has no Whisper special tokens
    for name in ("vocabulary.txt", "tokenizer.json"):
        shutil.copy(tiny / name, out / name)
    return out


def clap_real_size(folder: Path) -> Path:
    """laion/clap-htsat-unfused's shapes: HTSAT-tiny audio tower, RoBERTa-base text tower (50,265 tokens)."""
    from audio import clap_unfused

    return clap_unfused(folder, vocab_size=50265)


def measure(what: str, folder: str) -> float:
    """RSS growth (MB) of loading `what` and running it once, in this process."""
    import numpy as np

    import vsearch.index  # noqa: F401  the imports every ingest has, before the baseline
    from vsearch.index import EncoderOptions

    base = rss_mb()
    options = EncoderOptions(device="cpu")
    if what == "image":
        from vsearch.index import load_encoder

        enc = load_encoder(folder, options)
        enc.encode_images(np.zeros((32, 224, 224, 3), np.uint8))
        enc.encode_texts(["a query"])
    elif what == "text":
        from vsearch.index.text_encoders import TextPreset, sentence_encoder

        sentence_encoder(folder, TextPreset(folder, "mean", "query: ", "passage: "), options).encode_passages(
            ["a cue of a few words"] * 32)
    elif what == "speech":
        from faster_whisper import WhisperModel

        model = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=1)
        segments, _ = model.transcribe(np.zeros(16000 * 30, np.float32), language="en")
        list(segments)
    elif what == "sound":
        from vsearch.index import load_audio_encoder

        sound = load_audio_encoder(folder, options, with_text=False)  # as ingest loads it
        sound.encode_audio([np.random.default_rng(0).standard_normal(48000 * 3).astype(np.float32)] * 32)
    elif what == "ocr":
        from vsearch.index.sense_models import load_ocr

        engine = load_ocr(0)
        engine(np.full((540, 960, 3), 255, np.uint8))
    return rss_mb() - base


def ingest_peak(folder: Path, video: Path, batch: int, sounds: bool) -> dict:
    """Peak RSS (MB) of this process indexing `video` as `vsearch index` does, into a new index,
    with the default-sized models in `folder` (the sound model only with `sounds`)."""
    from vsearch.indexing import index_paths
    from vsearch.settings import load_settings

    settings = load_settings(flags={
        "home": str(folder / f"index-{batch}-{int(sounds)}"), "device": "cpu", "batch_size": batch,
        "model": str(folder / "siglip2"), "text_model": str(folder / "e5"),
        "asr.mode": "on", "asr.model": str(folder / "whisper" / "ct2"), "asr.language": "en", "ocr.mode": "auto",
        "audio.mode": "on" if sounds else "off", "audio.model": str(folder / "clap")}, environ={})
    (path, outcome), = index_paths(settings, [video])
    if isinstance(outcome, Exception):
        raise SystemExit(f"{path}: {outcome}")
    # The children: the export and int8 quantizing processes of this first use (engine_precision auto).
    return {"frames": outcome.encoded, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "frames_by_precision": (outcome.record.info or {}).get("precisions")}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps({"mb": measure(sys.argv[2], sys.argv[3])}))
        return
    if len(sys.argv) == 6 and sys.argv[1] == "--ingest-one":
        print(json.dumps(ingest_peak(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("image: SigLIP2-base size (default `model`)", "image", str(siglip2_real_size(Path(tmp) / "siglip2"))),
                ("text: multilingual-e5-small size (default `text_model`)", "text",
                 str(e5_small_real_size(Path(tmp) / "e5"))),
                ("speech: faster-whisper small size, int8 (the CPU default `asr.model`)", "speech",
                 str(whisper_small_size(Path(tmp) / "whisper"))),
                ("screen text: RapidOCR PP-OCRv4 (real)", "ocr", ""),
                ("sounds: CLAP-htsat-unfused size, audio tower (default `audio.model`)", "sound",
                 str(clap_real_size(Path(tmp) / "clap")))]
        total = 0.0
        for label, what, folder in rows:
            done = subprocess.run([sys.executable, __file__, "--one", what, folder], capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{label}: failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            mb = json.loads(done.stdout.strip().splitlines()[-1])["mb"]
            total += mb
            print(f"{label}: +{mb:.0f} MB")
        print(f"models_total_mb={total:.0f} (each in its own process; add decoding, ~0.1-0.3 GB, and the process itself)")
        if len(sys.argv) in (3, 4) and sys.argv[1] == "--ingest":
            runs = ((0, "0"),) if sys.argv[3:] == ["--no-sounds"] else ((0, "0"), (0, "1"), (32, "1"))
            for batch, sounds in runs:
                done = subprocess.run([sys.executable, __file__, "--ingest-one", tmp, sys.argv[2], str(batch), sounds],
                                      capture_output=True, text=True)
                result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else done.stderr[-300:]
                print(f"ingest with {'all five' if sounds == '1' else 'all but sounds'}, batch_size={batch}: {result}")


if __name__ == "__main__":
    main()
