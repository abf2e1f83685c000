"""One per-video pipeline for `index`, `ingest` and `eval`: a video's files looked up once, then
decoded, transcribed, read and encoded, then written, with one set of models per run and the index
made for them once."""

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from vsearch.extract.errors import MediaError, VsearchError
from vsearch.extract.native import few_arenas, malloc_trim, trimming
from vsearch.extract.paths import absolute
from vsearch.extract.scratch import sweep_scratch

from .session import index_meta, index_options, load_models, load_picture, sound_name, store_opener
from .settings import Settings

# On a CPU the sound model adds about half a film's frames-only time, and with the CPU default
# speech model takes the default models past 2 GB (docs/sounds.md): "auto" embeds sounds on a GPU.
CPU_SOUNDS = "audio.mode auto embeds sounds on a GPU only; set audio.mode = on to embed them on this CPU"


class Indexing:
    """One run over some videos: the models load, and the index is made for them, when the first
    video needs them (`meta`: the index's meta row as read, None when there is none yet)."""

    def __init__(self, settings: Settings, meta: dict | None):
        few_arenas()  # before the run starts its decoding, speech and screen-text threads
        self.settings, self.meta = settings, meta
        self.options = index_options(settings, meta)
        self.open_store = store_opener(settings)
        self._models = None

    def prepare(self, video: Path, extra: Iterable[Path] = ()):
        """The video (made absolute) and its subtitle files: `extra` ones and its sidecars."""
        from vsearch.index import video_files

        return video_files(absolute(video), extra, self.options.sidecar_subs)

    def models(self):
        """The run's models (index/indexer.py Models), loaded on first use with the index made for them."""
        if self._models is None:
            from vsearch.index import Models
            from vsearch.index.weights import sense_models

            senses = sense_models(self.options, sound_name(self.settings, self.meta))
            image, text = load_models(self.settings, self.meta, also=senses)
            models = Models(image, text, *_sound_model(self.settings, self.meta),
                            picture=load_picture(self.settings, self.meta, querying=False))
            with self.open_store() as store:  # failures are recorded there too
                models.make_index(store)
            _close_text_towers(models)
            self._models = models
        return self._models

    def index(self, files, progress: Callable | None = None, reuse_frames: bool = False):
        """Index one prepared video (index/indexer.py index_video)."""
        from vsearch.index import index_video

        try:
            with trimming():
                return index_video(files, self.open_store, self.models(), self.options, progress, reuse_frames)
        finally:
            _close_text_towers(self._models)

    def failed(self, record, quick: str, error: str) -> None:
        """Note a failure with its retry time. An indexed video keeps its rows and stays searchable."""
        settings = self.settings
        attempts = record.attempts + 1
        retry_at = int(time.time()) + backoff(attempts, settings["ingest.retry_base"], settings["ingest.retry_max"])
        failed = replace(record, error=error, attempts=attempts, retry_at=retry_at,
                         info={**(record.info or {}), "failed": quick})
        with self.open_store() as store:
            if record.state != "done":
                store.delete_rows(record.id)  # no half-written rows
                failed = replace(failed, state="failed", fingerprint=quick)
            store.put_video(failed)


def _close_text_towers(models) -> None:
    """Close the text towers and trim what they and a video's decoding and transcription freed.

    A text tower is opened to measure its model's levels on a new index (which keeps them), and
    to encode a video's cues once its frames and speech are done; in between, while frames,
    speech and screen text are at their peak, none is used (the image model's SigLIP2 text tower
    holds about 400 MB once run, e5-small over 100 MB). Each opens again when it next encodes.
    """
    for model in (models.image, models.text) if models is not None else ():
        if hasattr(model, "close_text_tower"):
            model.close_text_tower()
    malloc_trim()


def backoff(attempts: int, base: int, cap: int) -> int:
    """Seconds before a video that failed `attempts` times is tried again."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def _sound_model(settings: Settings, meta: dict | None) -> tuple:
    """(the sound model for indexing, without its text tower, or None; why none, "" when
    audio.mode is off): a sound model that cannot load costs the sound signal, never a video."""
    from vsearch.index import ModelError, load_audio_encoder
    from vsearch.index.audio_encoders import embeds_sounds

    if settings["audio.mode"] == "off":
        return None, ""
    try:
        if not embeds_sounds(settings["audio.mode"], settings["device"]):
            return None, CPU_SOUNDS
        return load_audio_encoder(sound_name(settings, meta), settings.encoder_options(), with_text=False), ""
    except ModelError as exc:
        return None, str(exc)


def index_paths(
    settings: Settings, paths: Iterable[Path], subs: Iterable[Path] = (),
    on_result: Callable | None = None, progress_for: Callable | None = None,
) -> list:
    """Index videos one by one; a failure is recorded and reported, never fatal to the rest.

    Without `subs`, a video keeps the subtitle files an earlier `--subs` gave it.
    """
    from vsearch.index import kept_subs, video_id

    # A mistyped or unreadable name is said before the models take their seconds to load.
    unread, readable = [], []
    for path in paths:
        problem = _unreadable(path)
        if problem is None:
            readable.append(path)
            continue
        unread.append((path, problem))
        if on_result:
            on_result(path, problem)
    paths = readable
    if not paths:
        return unread
    run = Indexing(settings, index_meta(settings))
    run.models()  # a model that cannot load stops the run before the index is touched
    with run.open_store() as store:
        known = store.get_videos(video_id(str(absolute(p))) for p in paths)
    subs = [absolute(s) for s in subs]
    prepared = [(path, run.prepare(path, subs or kept_subs(known.get(video_id(str(absolute(path)))))))
                for path in paths]
    return unread + index_prepared(run, prepared, on_result, progress_for)


def _unreadable(path: Path) -> MediaError | None:
    """Why `path` is no video this process can read (a one-line error), or None. Said before the
    models load, and never recorded: the file is no video to retry."""
    from vsearch.extract.opening import check_file
    from vsearch.extract.subtitles import SUBTITLE_EXTENSIONS

    try:
        check_file(path)
        with open(path, "rb") as fh:
            if path.suffix.lower() in SUBTITLE_EXTENSIONS:
                return MediaError(f"{path}: a subtitle file, not a video; index the video it belongs to "
                                  "(a sidecar named like the video is read with it, --subs names any other)")
            if _still_picture(fh):  # FFmpeg would read it as a video of one frame
                return MediaError(f"{path}: a picture, not a video; `vsearch find --image` finds where it is seen")
            return None
    except MediaError as exc:
        return exc
    except OSError as exc:
        return MediaError(f"{path}: cannot read it ({exc.strerror})")


def _still_picture(fh) -> bool:
    """Whether an open file is one picture (PNG, JPEG, WebP, ...): FFmpeg's demuxers of single
    pictures are the ones named *_pipe. Anything it cannot open is left for decoding to explain."""
    import av

    try:
        with av.open(fh) as container:
            return container.format.name.endswith("_pipe")
    except (OSError, av.FFmpegError, ValueError):
        return False


def video_suffixes(extensions: Iterable[str]) -> set[str]:
    """File suffixes (".mp4") of the videos ingest takes, from the ingest.extensions setting."""
    return {"." + e.lower().lstrip(".") for e in extensions}


def index_prepared(run: Indexing, prepared: list, on_result: Callable | None = None,
                   progress_for: Callable | None = None) -> list:
    """Index (path as given, its prepared files) pairs one by one; (path, result or error) each."""
    from vsearch.index import StoreError

    sweep_scratch()
    run.models()  # a model that cannot load stops the run before any video is tried
    outcomes = []
    for path, files in prepared:
        try:
            outcome = run.index(files, progress_for(path) if progress_for else None)
        except StoreError:
            raise  # the index is unusable: every other video would fail too
        except VsearchError as exc:
            outcome = exc
            if isinstance(exc, MediaError) and files.video.is_file():  # a mistyped name gets no record
                _note_failure(run, files, str(exc))
        outcomes.append((path, outcome))
        if on_result:
            on_result(path, outcome)
    return outcomes


def _note_failure(run: Indexing, files, error: str) -> None:
    """Record a video's failure: ingest backs off from it and `status` explains it. A file of no
    ingest.extensions (a text file, a song) gets no new record: ingest never takes it, so the
    record would only sit in `list` and `status` for good; the error said now is enough."""
    from vsearch.index import VideoRecord, video_id

    try:
        quick = files.quick()
    except OSError:
        return
    vid = video_id(str(files.video))
    with run.open_store() as store:
        record = store.get_video(vid)
    if record is None and files.video.suffix.lower() not in video_suffixes(run.settings["ingest.extensions"]):
        return
    run.failed(record or VideoRecord(vid, str(files.video)), quick, error)
