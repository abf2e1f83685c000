"""Stage 2: turn one video into vectors and write them, holding the index only to write."""

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vsearch.configs import default
from vsearch.extract import Cue, FrameStream
from vsearch.extract.cache import CueCache
from vsearch.extract.change import ChangeOptions, Scene, look
from vsearch.extract.errors import FileChanged, MediaError
from vsearch.extract.fingerprint import fingerprint
from vsearch.extract.identity import identity
from vsearch.extract.ocr import OcrOptions, ScreenPlan, ScreenReader
from vsearch.extract.opening import check_file
from vsearch.extract.paths import display
from vsearch.extract.prefetch import Prefetch
from vsearch.extract.probe import declared_duration
from vsearch.extract.shots import Shots
from vsearch.extract.speech import Speech, SpeechOptions
from vsearch.extract.subtitles import fit_to

from .audio_encoders import AudioEncoder
from .calibration import meta_entries
from .encoders import Encoder
from .hearing import listen
from .picture_frames import PictureFrames
from .records import VideoRecord, video_id
from .sense_models import load_ocr
from .senses import attempt_key
from .sounds import AudioOptions, SoundWindows, Sounds
from .store import Store
from .text_encoders import TowerText
from .video_files import VideoFiles, collect_cues


@dataclass(frozen=True)
class Models:
    """The models a run indexes with: frames by `image`, cues by `text` (None: the image model's
    own text tower), sounds by `sound`, or none, for the reason `unheard` gives ("" when
    audio.mode is off), and frames again by `picture` (index/picture_models.py; None: none)."""

    image: Encoder
    text: object = None
    sound: AudioEncoder | None = None
    unheard: str = ""
    picture: object = None

    @property
    def cue_text(self):
        """The model cue vectors come from."""
        return self.text or TowerText(self.image)

    def make_index(self, store: Store) -> None:
        """Create the index's collections for these models, or check an existing index was made with them."""
        text = self.cue_text
        store.create(self.image.model_id, self.image.dim, text.model_id, text.dim, meta_entries(self.image, text))
        if self.picture is not None:
            store.add_pictures(self.picture.model_id, self.picture.dim)


@dataclass(frozen=True)
class Advance:
    """How far one video's indexing has come: seconds decoded of its length, seconds of speech
    transcribed (None: no speech is transcribed in this run), frames read for text (None: none
    are), and whether it is over."""

    decoded: float
    total: float
    heard: float | None = None
    read: int | None = None
    over: bool = False


Progress = Callable[[Advance], None]


@dataclass(frozen=True)
class IndexOptions:
    """How a video is sampled, which subtitles are read, and how speech and screen text are read.

    `cache` is the folder of transcripts and screen text kept by content (None keeps none);
    `picture`, the picture model's name, says whether stored videos lack its vectors (index/senses.py).
    """

    fps: float = default("extract.fps")
    chunk: int = default("extract.chunk")
    decode_threads: int = default("extract.decode_threads")
    decode_readers: int = default("extract.decode_readers")
    dedup_threshold: float = default("extract.dedup_threshold")
    pixel_change: int = default("extract.pixel_change")
    changed_pixels: int = default("extract.changed_pixels")
    shots: bool = default("extract.shots")
    sidecar_subs: bool = default("extract.sidecar_subs")
    embedded_subs: bool = default("extract.embedded_subs")
    subtitle_encoding: str = default("extract.subtitle_encoding")
    asr: SpeechOptions = field(default_factory=SpeechOptions)
    ocr: OcrOptions = field(default_factory=OcrOptions)
    audio: AudioOptions = field(default_factory=AudioOptions)
    cache: Path | None = None
    picture: str = default("picture_model")


@dataclass(frozen=True)
class IndexResult:
    """What indexing one video did."""

    record: VideoRecord
    seconds: float
    encoded: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VideoVectors:
    """Everything computed for one video before it is written."""

    duration: float
    slots: list[int]
    times: list[float]
    frame_vecs: np.ndarray
    encoded: int
    cues: list[Cue]
    cue_vecs: np.ndarray
    warnings: list[str]
    declared: float = 0.0
    senses: dict = field(default_factory=dict)
    sounds: Sounds | None = None
    # Where the video's shots begin; None where frames were not decoded (or extract.shots is off).
    shots: Shots | None = None
    # Frames encoded at each precision, where the encoder says ("fp32", "int8": index/fidelity.py).
    precisions: dict = field(default_factory=dict)
    # The picture model's vector of each second (None without one), and how many it encoded.
    pictures: np.ndarray | None = None
    pictured: int = 0


@dataclass(frozen=True)
class StoredFrames:
    """A video's frames as the index holds them, reused when only its senses are added."""

    slots: list[int]
    times: list[float]
    vecs: np.ndarray
    duration: float
    pictures: np.ndarray | None = None  # the picture model's, in slot order; None where the index has none


def looks_truncated(decoded: float, declared: float) -> bool:
    """Whether decodable frames stop well short of the duration the container declares."""
    return declared - decoded > max(2.0, 0.02 * declared)


def _sense_notes(speech: Speech, ocr_cues: list[Cue], ocr_state: str, sounds: Sounds | None, unheard: str) -> dict:
    """What the record keeps of how speech, screen text and sounds were read."""
    asr = ({"skipped": speech.skipped} if speech.skipped else
           {"model": speech.model, "language": speech.language, "probability": round(speech.probability, 3),
            "cues": len(speech.cues), "cached": speech.cached})
    if sounds is None:
        audio = {"skipped": unheard or "audio.mode is off"}
    else:
        audio = {"skipped": sounds.skipped} if sounds.skipped else {"windows": len(sounds.vecs), "silent": sounds.silent}
    return {"asr": asr, "ocr": {"state": ocr_state, "cues": len(ocr_cues)}, "audio": audio}


def _unheard(video: Path, why: str) -> str:
    return f"{display(str(video))}: sounds not embedded ({why}); frames and text are indexed"


def encode_video(
    files: VideoFiles, models: Models, options: IndexOptions, progress: Progress | None = None,
    stored: StoredFrames | None = None,
) -> VideoVectors:
    """Decode, sample and encode a video and its cues; touches no index.

    Speech is transcribed and sounds embedded on a thread beside the frame loop (one decode of
    the soundtrack for both), and frames whose picture changed are read for text on another, so
    a lecture takes about as long as the slowest of them. With `stored` frames nothing is
    encoded again, and frames are decoded only where screen text is still to be read.
    """
    video, encoder = files.video, models.image
    cues, _, warnings = collect_cues(files, options.subtitle_encoding, options.embedded_subs)
    if models.unheard and options.audio.mode == "on":  # asked for, and the model did not load
        warnings.append(_unheard(video, models.unheard))
    windows = SoundWindows(models.sound, options.audio, handoff=True) if models.sound is not None else None
    kept = stored.pictures if stored is not None else None
    looks = PictureFrames(models.picture, dict(zip(stored.slots, kept)) if kept is not None else {}) \
        if models.picture is not None else None
    cache = CueCache(options.cache)
    stop = threading.Event()
    ocr = options.ocr
    ocr_settings = (ocr.mode, ocr.max_side, ocr.min_score, ocr.change, ocr.settle, options.pixel_change,
                    options.changed_pixels, options.fps)
    ocr_key = cache.key(video, "ocr", *map(str, ocr_settings)) if ocr.mode != "off" else ""
    ocr_hit = cache.get(ocr_key) if ocr_key else None
    reader = ScreenReader(video, ocr, 1.0 / options.fps, functools.partial(load_ocr, ocr.threads)) \
        if ocr_key and ocr_hit is None else None
    scene = Scene(ChangeOptions(options.pixel_change, options.changed_pixels))
    plan = ScreenPlan(ocr, scene)
    said = [None]  # the second speech recognition has reached, set by the listening thread
    seen = [0, 0]  # frame slots decoded, of all

    def report(done: int = -1, total: int = -1, over: bool = False) -> None:
        if progress is not None:
            seen[:] = [done, total] if total >= 0 else seen
            step = 1.0 / options.fps
            progress(Advance(seen[0] * step, seen[1] * step, said[0], reader.reads if reader else None, over))

    with ThreadPoolExecutor(1, thread_name_prefix="vsearch-asr") as pool:
        heard = pool.submit(listen, video, options.asr, {c.lang for c in cues}, cache, stop, windows,
                            lambda t: said.__setitem__(0, t))
        try:
            if stored is not None and reader is None and (looks is None or kept is not None):
                slots, times, vecs, duration = stored.slots, stored.times, list(stored.vecs), stored.duration
                encoded, shots = Counter(), None
            else:
                stream = FrameStream(video, options.fps, encoder.frame_spec, options.chunk, options.decode_threads,
                                     options.decode_readers, shots=options.shots)
                slots, times, vecs, encoded = _encode_frames(stream, encoder, options, plan, reader, report,
                                                             windows, stored, looks)
                duration = stream.duration
                shots = stream.shot_log.shots() if stream.shot_log is not None else None
            while not heard.done():  # the sounds the listening thread still hands off; speech going on
                if windows is not None:
                    windows.encode_pending(wait=0.2)
                else:
                    futures_wait([heard], timeout=0.5)
                report()
        except BaseException:
            report(over=True)
            stop.set()
            if windows is not None:
                windows.abandon()
            if reader:
                reader.stop()
            raise
        ocr_cues, ocr_error = reader.finish() if reader else (ocr_hit[0] if ocr_hit else [], "")
        speech = heard.result()
        if windows is not None:
            windows.encode_pending()
        report(over=True)
    if reader and not ocr_error:
        cache.put(ocr_key, ocr_cues, {"reads": reader.reads})
    ocr_state = "off" if not ocr_key else "failed" if ocr_error else "cached" if ocr_hit else "read"
    if ocr_error:
        warnings.append(f"{display(str(video))}: on-screen text not read ({ocr_error}); frames are indexed")
    warnings.extend(speech.warnings)
    duration = round(duration, 3)
    cues, misfits = fit_to(cues + speech.cues + ocr_cues, duration)
    warnings.extend(misfits)
    declared = declared_duration(video)
    if looks_truncated(duration, declared):
        warnings.append(f"{video}: indexed {duration:.0f} s of {declared:.0f} s: the file looks truncated; "
                        "it is indexed again when it changes")
    text = models.cue_text
    cue_vecs = text.encode_passages([c.text for c in cues]) if cues else np.zeros((0, text.dim), np.float32)
    frame_vecs = np.stack(vecs) if vecs else np.zeros((0, encoder.dim), np.float32)
    sounds = windows.sounds().before(duration) if windows is not None else None
    if sounds is not None and sounds.skipped.startswith("failed"):
        warnings.append(_unheard(video, sounds.skipped))
    pictures = looks.vectors() if looks is not None and looks.vecs else kept
    return VideoVectors(duration, slots, times, frame_vecs, sum(encoded.values()), cues, cue_vecs, warnings, declared,
                        _sense_notes(speech, ocr_cues, ocr_state, sounds, models.unheard), sounds, shots,
                        {p: n for p, n in encoded.items() if p}, pictures, looks.encoded if looks is not None else 0)


def _encode_frames(stream: FrameStream, encoder: Encoder, options: IndexOptions, plan: ScreenPlan,
                   reader: ScreenReader | None, progress: Callable[[int, int], None],
                   windows: SoundWindows | None = None,
                   stored: StoredFrames | None = None, looks: PictureFrames | None = None):
    """Encode changed frames (static ones reuse the last vector; `stored` ones are taken as they
    are) and hand them to the picture model (`looks`), queue frames to read for text, and between
    chunks encode the sound windows handed off by the listening thread."""
    kept = dict(zip(stored.slots, stored.vecs)) if stored is not None else {}
    slots: list[int] = []
    times: list[float] = []
    vecs: list[np.ndarray] = []
    encoded = Counter()  # by the precision that encoded them ("" where the encoder does not say)
    # An ONNX encoder's encode_frames also counts its precisions and feeds its int8 fidelity check.
    frames = getattr(encoder, "encode_frames", None) or (lambda pixels: (encoder.encode_images(pixels),
                                                                        {"": len(pixels)}))
    ref = ref_vec = None
    with Prefetch(stream) as chunks:
        for chunk in chunks:
            fresh = []
            for i, frame in enumerate(chunk):
                whole = frame.whole if frame.whole is not None else frame.pixels
                seen = look(whole)
                plan.scene.see(seen)
                if reader:
                    kind, since = plan.decide(seen, frame.t)
                    reader.note(kind, since, frame.t, whole.copy() if kind == "read" else None)
                # Compare with the last encoded frame, not the previous one, so slow fades still re-encode.
                if ref is None or plan.scene.differs(ref, seen, options.dedup_threshold):
                    fresh.append(i)
                    ref = seen
            if looks is not None:
                looks.add(chunk, fresh)
            fresh = [i for i in fresh if chunk[i].slot not in kept]
            new_vecs = {}
            if fresh:
                got, used = frames(np.stack([chunk[i].pixels for i in fresh]))
                new_vecs = dict(zip(fresh, got))
                encoded.update(used)
            for i, frame in enumerate(chunk):
                ref_vec = kept[frame.slot] if frame.slot in kept else new_vecs.get(i, ref_vec)
                slots.append(frame.slot)
                times.append(frame.t)
                vecs.append(ref_vec)
            progress(len(slots), len(stream))
            if windows is not None:
                windows.encode_pending()
    return slots, times, vecs, encoded


def index_video(
    files: VideoFiles, open_store: Callable[[], Store], models: Models, options: IndexOptions,
    progress: Progress | None = None, reuse_frames: bool = False,
) -> IndexResult:
    """Index one video, replacing any rows it had, in an index `models.make_index` made; the
    index is opened only to write. With `reuse_frames` (the video unchanged, a sense to add) its
    stored frame vectors are kept."""
    began = time.monotonic()
    path, encoder, sub_files = files.video, models.image, files.subtitles
    try:
        check_file(path)
        mark, known = fingerprint(path, sub_files), identity(path)
        stored = None
        if reuse_frames:
            with open_store() as store:
                old = store.get_video(video_id(str(path)))
                if old is not None and old.fps == options.fps and old.model == encoder.model_id:
                    stored = StoredFrames(*store.frames_of(old.id), old.duration, store.pictures_of(old.id))
        vectors = encode_video(files, models, options, progress, stored)
        if fingerprint(path, sub_files) != mark:
            raise FileChanged(f"{path}: changed while being indexed; it will be indexed once it is stable")
    except OSError as exc:
        raise MediaError(f"{path}: {exc.strerror or exc}") from None
    with open_store() as store:
        if vectors.sounds is not None:
            store.add_audio(models.sound.model_id, models.sound.dim)
        vid = video_id(str(path))
        old = store.get_video(vid) or VideoRecord(vid, str(path))
        info = {"subtitles": [str(s) for s in sub_files], "extra_subs": [str(s) for s in files.extra],
                "warnings": vectors.warnings, **vectors.senses, "attempt": attempt_key(options), "file": known,
                "completions": ((old.info or {}).get("completions", 0) + 1) if reuse_frames else 0}
        # Frames kept from the index keep the precision they were encoded at.
        kept = Counter((old.info or {}).get("precisions") or {}) if stored is not None else Counter()
        if precisions := dict(kept + Counter(vectors.precisions)):
            info["precisions"] = precisions
        if vectors.pictures is not None and store.picture:
            info["pictures"] = {"model": store.picture, "encoded": vectors.pictured}
        if vectors.shots is not None:
            info["shots"] = {"cuts": list(vectors.shots.cuts), "looked": vectors.shots.looked}
        elif reuse_frames and (old.info or {}).get("shots"):
            info["shots"] = old.info["shots"]
        if looks_truncated(vectors.duration, vectors.declared):
            info["declared_duration"] = round(vectors.declared, 3)
        record = replace(old, fingerprint=mark, duration=vectors.duration, fps=options.fps,
                         model=encoder.model_id, info=info)
        done = store.replace_rows(record, vectors.slots, vectors.times, vectors.frame_vecs,
                                  vectors.cues, vectors.cue_vecs, vectors.sounds, vectors.pictures)
    return IndexResult(done, time.monotonic() - began, vectors.encoded, vectors.warnings)
