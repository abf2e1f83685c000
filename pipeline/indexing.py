"""One per-video pipeline for `index`, `ingest` and `eval`: a video's files looked up once, then
decoded, transcribed, read and encoded, then written, with one set of models per run and the index
made for them once."""

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from vsearch.extract.errors import MediaError, VsearchError
from vsearch.extract.native import few_arenas, malloc_trim
from vsearch.extract.scratch import sweep_scratch

from .api import absolute, index_meta, load_models, sound_name, store_opener
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
        self.options = settings.index_options()
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
            from vsearch.index.text_encoders import IMAGE_TOWER

            image, text = load_models(self.settings, self.meta)
            models = Models(image, text, *_sound_model(self.settings, self.meta))
            with self.open_store() as store:  # failures are recorded there too
                models.make_index(store)
            # The image model's text tower was opened only to measure its levels, which the index
            # now keeps; indexing encodes no text with it unless it makes the cue vectors too.
            if text.model_id != IMAGE_TOWER and hasattr(image, "close_text_tower"):
                image.close_text_tower()
            malloc_trim()
            self._models = models
        return self._models

    def index(self, files, progress: Callable | None = None, reuse_frames: bool = False):
        """Index one prepared video (index/indexer.py index_video)."""
        from vsearch.index import index_video

        try:
            return index_video(files, self.open_store, self.models(), self.options, progress, reuse_frames)
        finally:
            malloc_trim()  # what one video's decoding and transcription freed, before the next

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


def backoff(attempts: int, base: int, cap: int) -> int:
    """Seconds before a video that failed `attempts` times is tried again."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def _sound_model(settings: Settings, meta: dict | None) -> tuple:
    """(the sound model for indexing, without its text tower, or None; why none, "" when
    audio.mode is off): a sound model that cannot load costs the sound signal, never a video."""
    from vsearch.index import ModelError, load_audio_encoder
    from vsearch.index.engines import cuda_visible

    if settings["audio.mode"] == "off":
        return None, ""
    device = settings["device"]
    if settings["audio.mode"] == "auto" and not (device.startswith("cuda") or (device == "auto" and cuda_visible())):
        return None, CPU_SOUNDS
    try:
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
    paths = list(paths)
    unread = [(p, problem) for p in paths if (problem := _unreadable(p)) is not None]
    for path, problem in unread if on_result else ():
        on_result(path, problem)
    paths = [p for p in paths if p not in dict(unread)]
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
    """Why `path` is no file this process can read (a one-line error), or None."""
    from vsearch.extract.opening import check_file

    try:
        check_file(path)
        with open(path, "rb"):
            return None
    except MediaError as exc:
        return exc
    except OSError as exc:
        return MediaError(f"{path}: cannot read it ({exc.strerror})")


def index_prepared(run: Indexing, prepared: list, on_result: Callable | None = None,
                   progress_for: Callable | None = None) -> list:
    """Index (path as given, its prepared files) pairs one by one; (path, result or error) each."""
    from vsearch.index import StoreError, VideoRecord, video_id

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
                try:
                    quick = files.quick()
                except OSError:
                    quick = None
                if quick is not None:
                    vid = video_id(str(files.video))
                    with run.open_store() as store:
                        record = store.get_video(vid) or VideoRecord(vid, str(files.video))
                    run.failed(record, quick, str(exc))
        outcomes.append((path, outcome))
        if on_result:
            on_result(path, outcome)
    return outcomes
