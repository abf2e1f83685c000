"""What `vsearch serve` keeps loaded: the models, and the index while requests come.

Milvus Lite lets one process open an index at a time. The server holds it open while it is
answering and for `serve.hold` seconds after, then lets it go, so an `ingest` waiting for it
(up to its `busy_timeout`) writes in between; the next request opens it again and so sees every
video indexed meanwhile. Requests are answered one at a time, under one lock.
"""

import os
import threading
from collections.abc import Iterable
from dataclasses import replace

from .api import absolute, index_meta, load_models, picture_vector, store_opener
from .settings import Settings


class Resident:
    """The models and the index of one `vsearch serve`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.encoder, self.text = load_models(settings, index_meta(settings))
        self._open = store_opener(settings, write=False)
        self._store = None
        self._lock = threading.RLock()
        self._release = None

    def close(self) -> None:
        """Let the index go now."""
        with self._lock:
            if self._release is not None:
                self._release.cancel()
            if self._store is not None:
                store, self._store = self._store, None
                store.close()

    def _with_store(self, fn):
        """Run `fn(store)` on the open index (opening it if needed), then hold it for a while.

        A connection that fails (its Milvus server restarted or let go) is opened again once.
        """
        from vsearch.index import NoIndex, StoreError

        with self._lock:
            if self._release is not None:
                self._release.cancel()
            try:
                for attempt in (1, 2):
                    try:
                        if self._store is None:
                            self._store = self._open()
                        return fn(self._store)
                    except NoIndex:
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
        """The record of an indexed video id, or None."""
        return self._with_store(lambda store: store.get_video(vid))

    def videos(self) -> list:
        return self._with_store(lambda store: store.videos()) or []

    def _ids(self, store, videos: Iterable[str]) -> list[int] | None:
        """Ids of the videos named by path or under folders named; None for no filter."""
        wanted = [str(absolute(v)) for v in videos if v]
        if not wanted:
            return None
        return [r.id for r in store.videos()
                if any(r.path == w or r.path.startswith(w.rstrip(os.sep) + os.sep) for w in wanted)]

    def find(self, query: str, options, videos: Iterable[str] = ()) -> list:
        """Ranked segments for a text query, as `vsearch find` gives them."""
        from vsearch.query import find

        def run(store):
            ids = self._ids(store, videos)
            return [] if ids == [] else find(store, self.encoder, query, options, ids, text=self.text)

        return self._with_store(run) or []

    def rank(self, query: str, variants: list) -> list[list]:
        """Rankings of one query under each option set, searching once (as `vsearch eval` does)."""
        from vsearch.query import find_many

        found = self._with_store(lambda store: find_many(store, self.encoder, query, variants, text=self.text))
        return found or [[] for _ in variants]

    def find_picture(self, data: bytes, k: int) -> list:
        """Moments whose frames look like a picture (image file bytes)."""
        from vsearch.query import find_frames

        vector = picture_vector(self.encoder, data)
        options = replace(self.settings.find_options(), top_k=k)
        return self._with_store(lambda store: find_frames(store, self.encoder, vector, options)) or []

    def similar(self, record, t: float, k: int) -> list:
        """Moments that look like second `t` of an indexed video, itself left out."""
        from vsearch.query import find_frames

        options = replace(self.settings.find_options(), top_k=k)

        def run(store):
            vector = store.frame_vector(record.id, t)
            if vector is None:
                return []
            return find_frames(store, self.encoder, vector, options, leave_out=(record.id, t))

        return self._with_store(run) or []
