"""What an index holds for a video, counted row by row (the record's own counts could lie)."""


def stored_rows(store, vid: int) -> tuple[int, int]:
    """(frames, cues) rows an open index (index/store.py Store) holds for a video id."""
    if store.check() is None:  # nothing indexed; otherwise its collections are loaded for reading
        return 0, 0
    frames, cues = (store.count(store.names[kind], f"video_id == {int(vid)}") for kind in ("frames", "cues"))
    return frames, cues
