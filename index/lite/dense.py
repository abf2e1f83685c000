"""Milvus Lite 3.2.2's dense (vector) search with numpy masks and one stacked matrix."""

import numpy as np

from .rows import _BySegments, _segment_rows, _split, _visible

_stacked = _BySegments()


def _each_source(query_vectors, segments, masks, mt_vecs, vector_field, metric_type, top_k, search_params):
    """Each source's top-k as arrays, merged once (the MemTable or an approximate index is in play)."""
    from milvus_lite.index.brute_force import BruteForceIndex

    nq = int(query_vectors.shape[0])
    found_dists, found_sources, found_lids = [], [], []
    for source, mask in enumerate(masks):
        if source < len(segments):
            vectors, null_mask = segments[source].vector_data(vector_field)
            index = segments[source].indexes.get(vector_field)
            if null_mask is not None:
                mask &= null_mask
        else:
            vectors, index = mt_vecs, None
        if not mask.any():
            continue
        if index is None:
            index = BruteForceIndex.build(vectors, metric_type)
        ids, dists = index.search(query_vectors, top_k, valid_mask=None if mask.all() else mask,
                                  params=search_params)
        found_dists.append(dists.astype(np.float64))
        found_lids.append(ids)
        found_sources.append(np.full(ids.shape, source, dtype=np.int64))
    return _merge_top(found_dists, found_sources, found_lids, nq, top_k)


def _stacked_search(query_vectors, segments, masks, vector_field, metric_type, top_k):
    """Exact search over every segment's vectors as one matrix, kept while those segments are.

    A video per segment makes hundreds of segments: searched one by one, with a Python tuple per
    candidate, they cost more than the rest of a query (docs/performance.md, "Queries"); as one
    matrix it is one product and one sort.
    """
    from milvus_lite.search.distance import compute_distances

    def stack():
        data = [seg.vector_data(vector_field) for seg in segments]
        parts = [np.asarray(vectors, dtype=np.float32) for vectors, _ in data]
        nulls = [valid for _, valid in data]  # rows whose vector is not null; None: all of them
        present = None
        if any(valid is not None for valid in nulls):
            present = np.concatenate([np.ones(len(p), bool) if v is None else v for p, v in zip(parts, nulls)])
        return (np.concatenate(parts), present, np.repeat(np.arange(len(segments)), [len(p) for p in parts]),
                np.concatenate([np.arange(len(p)) for p in parts]))

    vectors, present, sources, lids = _stacked.get(segments, stack)
    mask = np.concatenate(masks[: len(segments)])
    if present is not None:
        mask &= present
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return [[] for _ in range(query_vectors.shape[0])]
    # No copy of the matrix when every row counts (a search without a filter).
    dists = compute_distances(query_vectors, vectors if rows.size == len(vectors) else vectors[rows], metric_type)
    if dists.ndim == 1:
        dists = dists.reshape(1, -1)
    merged = []
    for q in range(dists.shape[0]):
        d = dists[q].astype(np.float64)
        if top_k < d.size:
            part = np.argpartition(d, top_k - 1)[:top_k]
            # Rows tied with the last kept distance are all candidates, then ordered by source and row.
            part = np.flatnonzero(d <= d[part].max())
        else:
            part = np.arange(d.size)
        order = part[np.lexsort((lids[rows[part]], sources[rows[part]], d[part]))][:top_k]
        merged.append([(float(d[i]), int(sources[rows[i]]), int(lids[rows[i]])) for i in order])
    return merged


def _merge_top(dists: list, sources: list, lids: list, nq: int, top_k: int) -> list[list[tuple[float, int, int]]]:
    """Per query, the best `top_k` (distance, source, row) of every source's top-k, ordered as
    `sorted` orders those tuples; -1 rows pad a source's tail."""
    if not dists:
        return [[] for _ in range(nq)]
    dist, source, lid = (np.concatenate(a, axis=1) for a in (dists, sources, lids))
    merged = []
    for q in range(nq):
        keep = lid[q] >= 0
        d, s, r = dist[q][keep], source[q][keep], lid[q][keep]
        order = np.lexsort((r, s, d))[:top_k]
        merged.append([(float(d[i]), int(s[i]), int(r[i])) for i in order])
    return merged


def search_dense(query_vectors, segments, memtable, delta_index, top_k, metric_type, pk_field,
                 vector_field, partition_names=None, compiled_filter=None, output_fields=None,
                 indexed_filter_plan=None, project_record_fn=None, search_params=None):
    """`execute_search_with_index` of Milvus Lite 3.2.2 with numpy masks; same arguments, same results."""
    from milvus_lite.index.brute_force import BruteForceIndex
    from milvus_lite.search import executor_indexed

    args = (query_vectors, segments, memtable, delta_index, top_k, metric_type, pk_field,
            vector_field, partition_names, compiled_filter, output_fields, indexed_filter_plan,
            project_record_fn, search_params)
    if query_vectors.ndim == 1:
        query_vectors = query_vectors.reshape(1, -1)
    query_vectors = query_vectors.astype(np.float32, copy=False)
    nq = int(query_vectors.shape[0])
    if nq == 0 or top_k <= 0:
        return [[] for _ in range(nq)]
    wanted = set(partition_names) if partition_names else None
    segments = [s for s in segments if s.num_rows > 0 and (wanted is None or s.partition in wanted)]
    mt_pks, mt_seqs, mt_vecs, mt_row_refs, mt_table = memtable.to_search_snapshot(
        vector_field=vector_field, partition_names=partition_names,
        include_table=compiled_filter is not None,
    )
    if not segments and not mt_pks:
        return [[] for _ in range(nq)]

    visible = _visible(segments, mt_pks, mt_seqs, delta_index._map, memtable.delete_index_snapshot())
    if visible is None:
        return executor_indexed.execute_search_with_index(*args)
    keys, mask = visible
    masks = _split(mask, [len(k) for k in keys])

    if compiled_filter is not None:
        from milvus_lite.search.filter import evaluate_mask
        from milvus_lite.search.indexed_filter import evaluate_segment_filter

        for i, seg in enumerate(segments):
            masks[i] &= evaluate_segment_filter(seg, compiled_filter, indexed_filter_plan).astype(bool)
        if mt_pks and mt_table is not None:
            masks[-1] &= evaluate_mask(compiled_filter, mt_table).astype(bool)

    if not mt_pks and all(type(s.indexes.get(vector_field)) is BruteForceIndex for s in segments):
        winners = _stacked_search(query_vectors, segments, masks, vector_field, metric_type, top_k)
    else:
        winners = _each_source(query_vectors, segments, masks, mt_vecs, vector_field, metric_type, top_k,
                               search_params)

    if project_record_fn is not None:
        project = project_record_fn
    elif output_fields is None:
        def project(record: dict) -> dict:
            return {k: v for k, v in record.items() if k not in (pk_field, vector_field)}
    else:
        keep = set(output_fields) - {pk_field}

        def project(record: dict) -> dict:
            return {k: record[k] for k in keep if k in record}

    records: dict[tuple[int, int], dict] = {}
    for source, seg in enumerate(segments):
        lids = sorted({lid for found in winners for _, s, lid in found if s == source})
        if not lids:
            continue
        rows = _segment_rows(seg, lids, None if output_fields is None else {*output_fields, pk_field})
        records.update(((source, lid), row) for lid, row in zip(lids, rows))
    for found in winners:
        for _, source, lid in found:
            if source == len(segments):
                records[source, lid] = memtable.materialize_row(*mt_row_refs[lid])

    def pk_of(source: int, lid: int):
        return segments[source].pks[lid] if source < len(segments) else mt_pks[lid]

    return [
        [{"id": record[pk_field] if pk_field in record else pk_of(source, lid), "distance": dist,
          "entity": project(record)}
         for dist, source, lid in found for record in [records[source, lid]]]
        for found in winners
    ]
