"""What an index holds for a video, counted row by row (the record's own counts could lie)."""


def stored_rows(store, vid: int) -> tuple[int, int]:
    """(frames, cues) rows an open index (index/store.py Store) holds for a video id."""
    if store.check() is None:  # nothing indexed; otherwise its collections are loaded for reading
        return 0, 0
    counts = []
    for kind in ("frames", "cues"):
        rows = store.call("read", store.client.query, store.names[kind],
                          filter=f"video_id == {int(vid)}", output_fields=["count(*)"])
        counts.append(int(rows[0]["count(*)"]) if rows else 0)
    return counts[0], counts[1]
