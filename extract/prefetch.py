"""Run an iterator in a thread, a few items ahead of its consumer."""

import queue
import threading
from collections.abc import Iterable

_DONE = object()


class Prefetch:
    """Iterate `items` in a thread started at once, `depth` items ahead, so decoding overlaps encoding.

    Use it as a context manager: on leaving, early or not (an error, Ctrl-C), the thread is
    stopped and waited for, since a daemon thread left inside decord at interpreter exit
    crashes the process instead of letting it print its one-line error.
    """

    def __init__(self, items: Iterable, depth: int = 2):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, args=(iter(items),), daemon=True)
        self._worker.start()

    def _work(self, source) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = next(source)
                except StopIteration:
                    self._queue.put(_DONE)
                    return
                self._queue.put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._queue.put(exc)
        finally:
            # A generator source (FrameStream) stops its own readers here, in this thread.
            getattr(source, "close", lambda: None)()

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is _DONE:
            self._queue.put(_DONE)  # a later next() ends again instead of blocking
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        while self._worker.is_alive():
            try:
                self._queue.get(timeout=0.05)  # frees a put blocked on a full queue
            except queue.Empty:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
