import itertools
import threading

import pytest

from vsearch.extract.prefetch import Prefetch
from vsearch.testing.threads import started_since


def test_items_arrive_in_order_and_errors_reach_the_consumer():
    def items():
        yield 1
        yield 2
        raise ValueError("boom")

    with Prefetch(items()) as ahead:
        assert [next(ahead), next(ahead)] == [1, 2]
        with pytest.raises(ValueError, match="boom"):
            next(ahead)


def test_leaving_early_stops_the_thread_and_closes_the_source():
    closed = []

    def endless():
        try:
            yield from itertools.count()
        finally:
            closed.append(True)

    before = set(threading.enumerate())
    with Prefetch(endless(), depth=1) as ahead:
        assert next(ahead) == 0
    assert started_since(before) == [] and closed == [True]


def test_exhausted_stays_exhausted():
    with Prefetch(iter([1])) as ahead:
        assert list(ahead) == [1] and list(ahead) == []
