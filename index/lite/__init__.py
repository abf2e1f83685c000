"""Milvus Lite 3.2's searches and queries with their per-row Python loops done by numpy.

Milvus Lite 3.2 decides which stored rows a search or query may return (each primary key's
newest version, not deleted) in Python loops over every row, about 1 µs a row, evaluates
`array_contains_any` (the lexical signal's lookup of word ids) a row at a time, and its query
(which deletes by filter run through) first copies every stored vector: 100 of a 100k-row
`find`'s 250 ms, and 4 s and 1.6 GB for a delete at 1M rows. `dense.search_dense` and
`rows.query` compute the same masks with numpy and Arrow, read result rows with one Arrow take,
and otherwise follow Milvus Lite's code step by step: tests/test_lite.py checks that results are
identical, ids, distances and fields, on collections with upserts, deletes, partitions, filters
and ties. They are installed only over the Milvus Lite versions they mirror (`MIRRORED`); any
other version keeps its own code. The two modules are one mirror split by job, and share their
underscored helpers. index/milvus_lite.py is the only caller of `install` and `uninstall`.
"""

from . import rows

# The Milvus Lite versions this mirrors; pyproject.toml admits only these.
MIRRORED = ("3.2.2",)


def install() -> bool:
    """Use our searches and query in this process's Milvus Lite if we mirror its version."""
    try:
        import milvus_lite
        from milvus_lite.engine import collection
    except ImportError:
        return False
    if milvus_lite.__version__ not in MIRRORED:
        return False
    from .dense import search_dense

    if collection.Collection.query is not rows.query:
        rows.STOCK.update(query=collection.Collection.query)
    collection.execute_search_with_index = search_dense
    collection.Collection.query = rows.query
    collection.project_record = rows.project_record
    return True


def installed() -> bool:
    """Whether this process's Milvus Lite runs our searches and query (`install` took)."""
    try:
        from milvus_lite.engine import collection
    except ImportError:
        return False
    return collection.Collection.query is rows.query


def uninstall() -> None:
    """Give this process's Milvus Lite its own searches and query back."""
    try:
        from milvus_lite.engine import collection, projection
        from milvus_lite.search import executor_indexed
    except ImportError:
        return
    collection.execute_search_with_index = executor_indexed.execute_search_with_index
    collection.project_record = projection.project_record
    if rows.STOCK:
        collection.Collection.query = rows.STOCK["query"]
