"""What `vsearch serve` keeps loaded: the models, and the index while requests come.

Milvus Lite lets one process open an index at a time. The server holds it open while it is
answering and for `serve.hold` seconds after, then lets it go, so an `ingest` waiting for it
(up to its `busy_timeout`) writes in between; the next request opens it again and so sees every
video indexed meanwhile. Requests are answered one at a time, under one lock.
"""

import threading
import time
from dataclasses import replace

from .finding import Loaded, answer, heard, pictured
from .library import chapters_in, transcript_in
from .request import FindRequest
from .session import EMPTY, hearing, index_meta, load_models, load_picture, query_sound, store_opener
from .settings import Settings
from .wire import Answer


class Resident:
    """The models and the index of one `vsearch serve`."""

    def __init__(self, settings: Settings, meta: dict | None = None):
        """`meta` is the index's meta row where the caller has read it already (None: read it here)."""
        self.settings = settings
        meta = meta or index_meta(settings)
        self.encoder, self.text = load_models(settings, meta)
        self._audio = query_sound(settings, meta, with_text=settings["find.weight_audio"] > 0)
        self._looks = load_picture(settings, meta)
        self._open = store_opener(settings, write=False)
        self._store = None
        self._lock = threading.RLock()
        self._release = None
        # Records by id as of the index's last opening, read without the lock: the media routes
        # never wait behind a search (one_record).
        self._records: dict = {}
        self._records_read = 0.0

    def close(self) -> None:
        """Let the index go now."""
        with self._lock:
            if self._release is not None:
                self._release.cancel()
            if self._store is not None:
                store, self._store = self._store, None
                store.close()

    def _with_store(self, fn, searching: bool = False):
        """Run `fn(store)` on the open index (opening it if needed), then hold it for a while; None
        where there is no index yet, or for a search, an error saying so.

        A connection that fails (its Milvus server restarted or let go) is opened again once.
        """
        from vsearch.extract.errors import VsearchError
        from vsearch.index import NoIndex, StoreError

        with self._lock:
            if self._release is not None:
                self._release.cancel()
            try:
                for attempt in (1, 2):
                    try:
                        if self._store is None:
                            self._store = self._open()
                            self._records = {r.id: r for r in self._store.videos()}
                            self._records_read = time.monotonic()
                        return fn(self._store)
                    except NoIndex:
                        if searching:
                            raise VsearchError(EMPTY) from None
                        return None
                    except StoreError:
                        self.close()
                        if attempt == 2:
                            raise
            finally:
                self._release = threading.Timer(self.settings["serve.hold"], self.close)
                self._release.daemon = True
                self._release.start()

    def record(self, vid: int):
        """The record of an indexed video id as of the index's last opening, or None; an id not
        known then is looked up in the index at most once a second (a video indexed meanwhile)."""
        found = self._records.get(vid)
        if found is None and time.monotonic() - self._records_read > 1.0:
            self._records_read = time.monotonic()
            found = self._with_store(lambda store: store.get_video(vid))
        return found

    def videos(self) -> list:
        return self._with_store(lambda store: store.videos()) or []

    def audio(self, store, for_text: bool = True):
        """The sound model, loaded once the index has sounds (an ingest may add them while serving);
        None for a text query while the sound signal is weighted 0."""
        weighed = self.settings["find.weight_audio"] > 0
        if self._audio is None:
            meta = store.peek()
            if meta and meta.get("audio_model"):
                self._audio = query_sound(self.settings, meta, with_text=weighed)
            elif meta and not for_text:  # no sounds: the image model's ear, where it has one (ImageBind)
                self._audio = hearing(self.settings, meta)
        return self._audio if weighed or not for_text else None

    def looks(self, store):
        """The picture model, loaded once the index holds its vectors (an ingest may add them while serving)."""
        if self._looks is None:
            self._looks = load_picture(self.settings, store.peek())
        return self._looks

    def find(self, request: FindRequest) -> Answer:
        """The answer to a checked request, as `vsearch find` gives it (finding.answer)."""

        def run(store):
            if request.heard:
                loaded = heard(self.audio(store, for_text=False), request, self.settings["audio.query_seconds"])
            else:
                looks, picture = pictured(request, self.encoder, lambda: self.looks(store))
                loaded = Loaded(self.encoder, self.text, self.audio(store) if request.query else None, picture,
                                looks=looks)
            return answer(store, request, request.options(self.settings.find_options()), loaded)

        return self._with_store(run, searching=True)

    def rank(self, query: str, variants: list) -> list[list]:
        """Rankings of one query under each option set, searching once (as `vsearch eval` does)."""
        from vsearch.query import find_many

        return self._with_store(lambda store: find_many(store, self.encoder, query, variants, text=self.text,
                                                        audio=self.audio(store)), searching=True)

    def chapters(self, record) -> list:
        """The chapters of an indexed video (query/chapters.py), for the player's markers."""
        return self._with_store(lambda store: chapters_in(store, record, self.settings["chapters.min_length"]))

    def transcript(self, record, source: str | None = None) -> tuple[list, str]:
        """An indexed video's cues of one source, or what was said (library.transcript)."""
        return self._with_store(lambda store: transcript_in(store, record, source), searching=True)

    def similar(self, record, t: float, k: int) -> list:
        """Moments that look like second `t` of an indexed video, itself left out (query/search.py more_like)."""
        from vsearch.query import more_like

        options = replace(self.settings.find_options(), top_k=k)
        return self._with_store(lambda store: more_like(store, self.encoder, record.id, t, options)) or []
