"""vsearch's word lookup (index/lexical.py) read inside Milvus Lite's own process.

The same lookup through the client, `array_contains_any` and then every candidate's word ids,
sends thousands of rows through Milvus Lite's gRPC server: 0.2 s for 8,775 candidates of a
100,000-second index. Here the candidates' ids, times and word ids come straight from the
segments' Arrow columns, with the visibility masks `rows.query` uses, and BM25 is scored on
them by the same function. tests/test_lite.py checks the ranking equals the client path's.
"""

import numpy as np

from .rows import _contains_any, _visible


def candidates(opened: str, name: str, words: list[int], video_ids: list[int] | None):
    """(ids, video ids, starts, ends, words end to end, word counts, read) of the cues of
    collection `name` in the Milvus Lite folder `opened` (held by this process) holding any of
    `words`, within `video_ids` (None: all); `read(indexes, fields)` gives those candidates'
    rows as a query would (Milvus Lite's own get by key scans every segment for each key).
    None where only the client path can tell (rows in the MemTable, keys numpy cannot compare, a
    folder this process does not hold)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    collection = _collection(opened, name)
    if collection is None:
        return None
    segments, delta = collection._read_snapshot()
    segments = [s for s in segments if s.num_rows > 0]
    if collection._memtable.to_search_snapshot(vector_field=None)[0]:
        return None  # unflushed rows: vsearch flushes every video, so only a writer mid-video sees these
    visible = _visible(segments, [], [], delta._map, collection._memtable.delete_index_snapshot())
    if visible is None:
        return None
    keys, live = visible
    bounds = np.cumsum([0] + [len(k) for k in keys])
    parts, places = [], []
    for i, seg in enumerate(segments):
        mask = live[bounds[i] : bounds[i + 1]] & _contains_any(seg.table.column("terms"), words)
        if video_ids is not None:
            held = pc.is_in(seg.table.column("video_id"), value_set=pa.array(video_ids, pa.int64()))
            mask &= held.to_numpy(zero_copy_only=False)
        if mask.any():
            rows = np.flatnonzero(mask)
            parts.append(seg.table.select(["id", "video_id", "start", "end", "terms"]).take(rows))
            places += [(seg, int(r)) for r in rows]

    def read(indexes, fields: list[str]) -> list[dict]:
        import json

        wanted = [places[int(i)] for i in indexes]
        by_segment: dict[int, list[int]] = {}
        for seg, row in wanted:
            by_segment.setdefault(id(seg), []).append(row)
        segs = {id(seg): seg for seg, _ in wanted}
        rows = {}
        for key, picked in by_segment.items():  # one Arrow take a segment
            taken = segs[key].table.select(["id", *fields]).take(picked).to_pylist()
            rows.update(((key, r), row) for r, row in zip(picked, taken))
        found = [rows[id(seg), r] for seg, r in wanted]
        for row in found:  # a JSON field as a query returns it
            if isinstance(row.get("extra"), str):
                row["extra"] = json.loads(row["extra"])
        return found

    if not parts:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty, empty, empty, read
    table = pa.concat_tables(parts).combine_chunks()
    lists = table.column("terms").chunk(0)
    offsets = lists.offsets.to_numpy()
    flat = lists.values.slice(offsets[0], offsets[-1] - offsets[0]).to_numpy(zero_copy_only=False)
    return (table.column("id").to_numpy(), table.column("video_id").to_numpy(), table.column("start").to_numpy(),
            table.column("end").to_numpy(), flat.astype(np.int64), np.diff(offsets).astype(np.int64), read)


def _collection(opened: str, name: str):
    """The Collection object of `name` in the Milvus Lite server this process runs for `opened`."""
    import os

    from milvus_lite.server_manager import server_manager_instance

    entry = server_manager_instance._servers.get(os.path.abspath(opened))
    if entry is None:
        return None
    try:
        return entry[1].get_collection(name)
    except Exception:  # noqa: BLE001  (any failure here leaves the lookup to the client path)
        return None
