"""Which threads a piece of code left running."""

import threading


def started_since(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads running now that were not in `before` (a `set(threading.enumerate())`): counting
    all threads would blame the code under test for other threads that ended meanwhile."""
    return [t for t in threading.enumerate() if t not in before]
