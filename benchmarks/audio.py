"""What the sound signal costs an ingest: the same video indexed with audio.mode off and on.

    python benchmarks/audio.py VIDEO [--model DIR] [--audio-model DIR] [--asr [MODEL]] [--device auto|cpu|cuda]
                               [--precision fp32|int8] [--hop S] [--runs frames,frames+sounds,sounds]

Runs, each in its own process (its own peak RSS), on one video: frames alone; frames and sounds;
and the soundtrack's sound vectors alone, whose realtime factor is the sound model's own speed.
With --asr, frames and speech, then frames, speech and sounds: speech and sounds share one
decode of the soundtrack. Without --model a random ViT-B/32-sized CLIP encodes the frames;
without --audio-model a random CLAP of laion/clap-htsat-unfused's size (HTSAT-tiny audio tower,
RoBERTa-base text tower) encodes the sounds, so the numbers are honest speeds offline. The last
line is `audio_cost=X.XX` (frames and sounds over frames alone). --precision and --hop apply to the
sound model alone (engine_precision, audio.hop); the frames keep the defaults.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from ingest import peak_rss_mb, tiny_en, vit_b32


def clap_unfused(folder: Path, vocab_size: int = 200) -> Path:
    """A random CLAP with laion/clap-htsat-unfused's configuration, saved like a real one; its
    text vocabulary (50,265 tokens) only memory measurements need."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    from vsearch.testing.checkpoints import _tokenizer

    torch.manual_seed(0)
    ClapModel(ClapConfig(text_config={"vocab_size": vocab_size})).save_pretrained(folder)
    _tokenizer(77).save_pretrained(folder)
    ClapFeatureExtractor().save_pretrained(folder)
    return folder


def run(video: Path, model: str, audio_model: str, asr: str, sounds: bool, frames: bool, device: str,
        precision: str, hop: float) -> dict:
    from vsearch.extract.cache import CueCache
    from vsearch.extract.probe import declared_duration
    from vsearch.extract.speech import SpeechOptions
    from vsearch.index import (
        AudioOptions,
        EncoderOptions,
        IndexOptions,
        Models,
        Store,
        StoreConfig,
        index_video,
        load_audio_encoder,
        load_encoder,
        video_files,
    )
    from vsearch.index.hearing import listen
    from vsearch.index.sounds import SoundWindows

    options = EncoderOptions(device=device)
    heard = replace(options, engine_precision=precision)
    audio = load_audio_encoder(audio_model, heard, with_text=False) if sounds else None
    index = IndexOptions(embedded_subs=False, sidecar_subs=False,
                         asr=SpeechOptions(mode="on" if asr else "off", model=asr or "auto", device=device),
                         audio=AudioOptions(mode="on" if sounds else "off", hop=hop))
    began = time.perf_counter()
    if not frames:  # the soundtrack alone, as ingest's listening thread does it
        windows = SoundWindows(audio, index.audio)
        listen(video, index.asr, set(), CueCache(None), threading.Event(), windows)
        return {"run": "sounds alone", "wall": time.perf_counter() - began, "sounds": len(windows.sounds().vecs),
                "duration": declared_duration(video), "peak_rss_mb": peak_rss_mb()}
    encoder = load_encoder(model, options)
    with tempfile.TemporaryDirectory() as home:
        def open_store() -> Store:
            return Store(StoreConfig(f"{home}/i.db"))

        models = Models(encoder, sound=audio)
        with open_store() as store:  # made once per index, not per video
            models.make_index(store)
        began = time.perf_counter()
        result = index_video(video_files(video, sidecar_subs=False), open_store, models, index)
    name = "frames" + ("+asr" if asr else "") + ("+sounds" if sounds else "")
    return {"run": name, "wall": time.perf_counter() - began, "sounds": result.record.sounds,
            "duration": result.record.duration, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", help="image model folder (default: random ViT-B/32 CLIP)")
    parser.add_argument("--audio-model", help="sound model folder (default: random CLAP-htsat-unfused)")
    parser.add_argument("--asr", nargs="?", const="tiny.en", default="", help="transcribe speech too (default tiny.en)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8"], help="the sound model's ONNX weights")
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between sound vectors")
    parser.add_argument("--runs", default="frames,frames+sounds,sounds")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asr = tiny_en() if args.asr == "tiny.en" else args.asr
    if args.only:
        print(json.dumps(run(args.video, args.model, args.audio_model, asr if "asr" in args.only else "",
                             "sounds" in args.only, args.only.startswith("frames"), args.device, args.precision,
                             args.hop)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(vit_b32(Path(tmp) / "vit-b32"))
        audio_model = args.audio_model or str(clap_unfused(Path(tmp) / "clap"))
        runs = args.runs.split(",") + (["frames+asr", "frames+asr+sounds"] if asr else [])
        results = {}
        for which in runs:
            out = subprocess.run([sys.executable, __file__, str(args.video), "--model", model, "--audio-model",
                                  audio_model, "--asr", asr, "--device", args.device, "--only", which,
                                  "--precision", args.precision, "--hop", str(args.hop)],
                                 check=False, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{which} failed:\n{out.stderr[-3000:]}")
            results[which] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"video={args.video.name} model={args.model or 'random ViT-B/32 CLIP'} "
          f"audio_model={args.audio_model or 'random CLAP-htsat-unfused'} precision={args.precision} hop={args.hop} "
          f"device={args.device} threads={os.cpu_count()}")
    for r in results.values():
        print(f"{r['run']:<18} wall={r['wall']:.1f}s realtime={r['duration'] / r['wall']:.1f}x "
              f"sounds={r['sounds']} peak_rss={r['peak_rss_mb']:.0f}MB")
    if asr:
        print(f"asr_audio_cost={results['frames+asr+sounds']['wall'] / results['frames+asr']['wall']:.2f}")
    if "frames" in results and "frames+sounds" in results:
        print(f"audio_cost={results['frames+sounds']['wall'] / results['frames']['wall']:.2f}")


if __name__ == "__main__":
    main()
