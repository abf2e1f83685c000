"""Milvus Lite 3.2's searches and queries with their per-row Python loops done by numpy.

Milvus Lite 3.2 decides which stored rows a search or query may return (each primary key's
newest version, not deleted) in Python loops over every row, about 1 µs a row, scores BM25 a
posting at a time, and its query (which deletes by filter run through) first copies every stored
vector: 100 of a 100k-row `find`'s 250 ms, and 4 s and 1.6 GB for a delete at 1M rows.
`search_dense`, `search_sparse` and `query` compute the same masks with numpy, score BM25 on
arrays, read result rows with one Arrow take, and otherwise follow Milvus Lite's code step by
step: tests/test_lite.py checks that results are identical, ids, distances and fields, on
collections with upserts, deletes, partitions, filters and ties. They are installed only over
the Milvus Lite versions they mirror; any other version keeps its own code.
"""

import math
import threading
import weakref

import numpy as np

MIRRORED = ("3.2.2",)
# NumPy 1 computes Python float x float32 scalars in float64, arrays in float32: only under
# NumPy 2's rules do array steps round exactly as Milvus Lite's scalar BM25 does.
_NUMPY2 = int(np.__version__.split(".")[0]) >= 2

_stock_sparse = _stock_query = None


class _BySegments:
    """Values computed from segments, kept while those very segments are loaded.

    A segment is one immutable data file, but a compaction may write a file of the same name, so
    a value is tied to the segments' sequence arrays themselves (weakly, to keep no memory alive).
    """

    def __init__(self):
        self._items: dict[tuple[str, ...], tuple] = {}
        self._lock = threading.Lock()

    def get(self, segments: list, make):
        key = tuple(s.file_path for s in segments)
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and all(ref() is s.seqs for ref, s in zip(hit[0], segments)):
            return hit[1]
        value = make()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if all(ref() is not None for ref in v[0])}
            self._items[key] = (tuple(weakref.ref(s.seqs) for s in segments), value)
        return value


_arrays, _latest_of, _stacked = _BySegments(), _BySegments(), _BySegments()


def install() -> bool:
    """Use our searches and query in this process's Milvus Lite if we mirror its version."""
    global _stock_sparse, _stock_query
    try:
        import milvus_lite
        from milvus_lite.engine import collection
    except ImportError:
        return False
    if milvus_lite.__version__ not in MIRRORED:
        return False
    if collection.Collection._search_sparse is not search_sparse:
        _stock_sparse = collection.Collection._search_sparse
        _stock_query = collection.Collection.query
    collection.execute_search_with_index = search_dense
    collection.Collection._search_sparse = search_sparse
    collection.Collection.query = query
    collection.project_record = project_record
    return True


def uninstall() -> None:
    """Give this process's Milvus Lite its own searches and query back."""
    try:
        from milvus_lite.engine import collection
        from milvus_lite.search import executor_indexed
    except ImportError:
        return
    from milvus_lite.engine import projection

    collection.execute_search_with_index = executor_indexed.execute_search_with_index
    collection.project_record = projection.project_record
    if _stock_sparse is not None:
        collection.Collection._search_sparse = _stock_sparse
        collection.Collection.query = _stock_query


def _pk_array(pks: list) -> np.ndarray | None:
    """The keys as an int64 or str array; None for keys numpy cannot compare as one type."""
    arr = np.asarray(pks) if pks else np.zeros(0, dtype=np.int64)
    return arr if arr.ndim == 1 and arr.dtype.kind in "iuU" else None


def _segment_arrays(seg) -> tuple[np.ndarray, np.ndarray] | None:
    """A segment's keys and sequences as arrays, built once per loaded segment; None to fall back."""
    def make():
        keys = _pk_array(seg.pks)
        return None if keys is None else (keys, seg.seqs.astype(np.int64))
    return _arrays.get([seg], make)


def _versions(segments: list, mt_pks: list, mt_seqs) -> tuple[list, list, np.ndarray] | None:
    """Keys and sequences per source (the segments, then MemTable rows if any), and which rows
    hold their key's newest version; None where numpy cannot compare the keys."""
    arrays = [_segment_arrays(s) for s in segments]
    if any(a is None for a in arrays):
        return None
    keys, seqs = [a[0] for a in arrays], [a[1] for a in arrays]
    if mt_pks:
        keys.append(_pk_array(mt_pks))
        seqs.append(np.asarray(mt_seqs, dtype=np.int64))
        latest = _latest(keys, seqs)
    else:  # the usual case once written rows are flushed: the same answer until files change
        latest = _latest_of.get(segments, lambda: _latest(keys, seqs))
    return None if latest is None else (keys, seqs, latest)


def _deleted(keys: list, seqs: list, watermarks: dict) -> np.ndarray | None:
    """Rows of all sources whose key has a delete newer than the row; None to fall back."""
    if not watermarks:
        return np.zeros(sum(len(k) for k in keys), dtype=bool)
    return _newer(_concat(keys), _concat(seqs), watermarks)


def _visible(segments: list, mt_pks: list, mt_seqs, delta_map: dict, mt_deletes: dict):
    """Keys per source (the segments, then MemTable rows if any) and, over all rows, those that
    are their key's newest version and deleted neither on disk nor in the MemTable; None to fall
    back. A MemTable delete hides a row here whatever its partition, as in Milvus Lite's dense
    search and query."""
    versions = _versions(segments, mt_pks, mt_seqs)
    if versions is None:
        return None
    keys, seqs, latest = versions
    deleted = _deleted(keys, seqs, delta_map)
    pending = _deleted(keys, seqs, {pk: entry[0] for pk, entry in mt_deletes.items()})
    if deleted is None or pending is None:
        return None
    return keys, latest & ~deleted & ~pending


def _newer(pks: np.ndarray, seqs: np.ndarray, watermarks: dict) -> np.ndarray | None:
    """Rows whose key has a watermark above the row's sequence; None when types don't mix."""
    if not watermarks or not len(pks):
        return np.zeros(len(pks), dtype=bool)
    keys = _pk_array(list(watermarks))
    if keys is None or keys.dtype.kind != pks.dtype.kind:
        return None
    marks = np.fromiter(watermarks.values(), dtype=np.int64, count=len(watermarks))
    order = np.argsort(keys, kind="stable")
    keys, marks = keys[order], marks[order]
    at = np.searchsorted(keys, pks).clip(0, len(keys) - 1)
    return (keys[at] == pks) & (marks[at] > seqs)


def _latest(keys: list[np.ndarray], seqs: list[np.ndarray]) -> np.ndarray | None:
    """Over all rows given, those holding their key's highest sequence; None to fall back."""
    if any(k is None for k in keys) or len({k.dtype.kind for k in keys if len(k)}) > 1:
        return None
    every, every_seq = _concat(keys), _concat(seqs)
    unique, inverse = np.unique(every, return_inverse=True)
    if len(unique) == len(every):
        return np.ones(len(every), dtype=bool)
    top = np.full(len(unique), np.iinfo(np.int64).min)
    np.maximum.at(top, inverse, every_seq)
    return every_seq == top[inverse]


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays end to end; empty ones, whatever their type, add nothing."""
    full = [a for a in arrays if len(a)]
    return np.concatenate(full) if full else np.zeros(0, dtype=np.int64)


def _split(mask: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return np.split(mask, np.cumsum(sizes)[:-1]) if sizes else []


def _columns(table, wanted) -> list[str] | None:
    """Columns a projection of `wanted` fields reads; None where only a whole row will do."""
    names = table.column_names
    if wanted is None or "$meta" in names or any(f not in names for f in wanted):
        return None
    return [n for n in names if n in wanted]


def _segment_rows(seg, lids: list[int], wanted) -> list[dict]:
    """Rows `lids` of a segment as Milvus Lite's `row_to_dict` gives them, or only the `wanted`
    columns where a projection of those reads nothing else."""
    columns = _columns(seg.table, wanted)
    return _rows(seg.table, lids, columns) if columns is not None else [seg.row_to_dict(lid) for lid in lids]


def _ranked(ids: np.ndarray, dists: np.ndarray):
    """(query, row, distance) for each filled slot of an index's top-k; -1 pads a query's tail."""
    for q in range(ids.shape[0]):
        for j in range(ids.shape[1]):
            lid = int(ids[q, j])
            if lid < 0:
                break
            yield q, lid, float(dists[q, j])


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
    candidate, 100,000 stored seconds took 172 ms; as one matrix it is one product and one sort.
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


def _rows(table, lids: list[int], columns: list[str]) -> list[dict]:
    """Rows `lids` of `table`, only `columns`, in one Arrow take instead of a cell at a time."""
    import pyarrow as pa

    return table.select(columns).take(pa.array(lids, type=pa.int64())).to_pylist()


def project_record(record: dict, schema, plan) -> dict:
    """Milvus Lite's `project_record`, short for rows without dynamic fields (40 µs -> 3 µs a row).

    Such a row has no `$meta` and only schema or internal columns, so Milvus Lite's projection
    reduces to copying the plan's schema fields (less the primary key in search results).
    """
    from milvus_lite.engine.projection import _INTERNAL_FIELDS
    from milvus_lite.engine.projection import project_record as stock

    names = {f.name for f in schema.fields}
    if "$meta" in record or not names.union(_INTERNAL_FIELDS).issuperset(record):
        return stock(record, schema, plan)
    primary = [f.name for f in schema.fields if f.is_primary]
    search = plan.api_kind == "search"
    result = {n: record[n] for n in plan.response_schema_fields
              if n in record and not (search and n in primary)}
    if not search and primary and primary[0] in record:
        result[primary[0]] = record[primary[0]]
    return result


def _postings(index, term: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A BM25 posting list as (rows, term frequencies), built once per index and term."""
    cache = index.__dict__.setdefault("_vsearch_postings", {})
    if term not in cache:
        posting = index._posting_lists.get(term)
        cache[term] = (np.array([p[0] for p in posting], dtype=np.int64),
                       np.array([p[1] for p in posting], dtype=np.float64)) if posting else None
    return cache[term]


def _bm25(index, queries: list[dict], top_k: int, valid: np.ndarray | None):
    """`SparseInvertedIndex.search` in numpy: the same float32 arithmetic and order of ties.

    Milvus Lite scores a posting at a time with Python floats against float32 document lengths;
    under NumPy 2's promotion rules each step is a float32 operation, repeated here on arrays.
    """
    from milvus_lite.index.sparse_common import empty_results

    out_ids, out_dists = empty_results(len(queries), top_k)
    if index.doc_count == 0:
        return out_ids, out_dists
    n, k1, b = index.doc_count, index.k1, index.b
    avgdl = index.avgdl if index.avgdl > 0 else 1.0
    docs = len(index._doc_lengths)
    for q, terms in enumerate(queries):
        scores = np.zeros(docs, dtype=np.float32)
        first = np.full(docs, len(terms), dtype=np.int64)  # the term that first scored a row
        for t, (term, weight) in enumerate(terms.items()):
            posting = _postings(index, term)
            if posting is None:
                continue
            rows, tf = posting
            if valid is not None:
                rows, tf = rows[valid[rows]], tf[valid[rows]]
            df = index._df[term]
            idf = math.log((n - df + 0.5) / (df + 0.5) + 1.0)
            dl = index._doc_lengths[rows]
            norm = (tf * (k1 + 1.0)).astype(np.float32) / (
                tf.astype(np.float32) + k1 * (1.0 - b + b * dl / avgdl))
            scores[rows] += idf * norm * weight
            first[rows] = np.minimum(first[rows], t)
        scored = np.flatnonzero(first < len(terms))
        # Milvus Lite sorts (row, score) pairs in the order rows were first scored, stably.
        best = scored[np.lexsort((scored, first[scored], -scores[scored]))][:top_k]
        out_ids[q, : len(best)] = best
        out_dists[q, : len(best)] = -scores[best]
    return out_ids, out_dists


def _sparse_search(index, queries: list[dict], top_k: int, valid: np.ndarray | None):
    """Score one sparse index: BM25 in numpy where its arithmetic is reproducible, else Milvus Lite's."""
    from milvus_lite.index.sparse_factory import _search_prepared_sparse_index
    from milvus_lite.index.sparse_inverted import SparseInvertedIndex

    if type(index) is SparseInvertedIndex and _NUMPY2:
        return _bm25(index, queries, top_k, valid)
    return _search_prepared_sparse_index(index, queries, top_k, valid_mask=valid)


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


def search_sparse(self, query_vectors, vector_field, top_k, metric_type, partition_names, expr,
                  output_fields, timezone=None):
    """`Collection._search_sparse` of Milvus Lite 3.2.2 with numpy masks; same arguments, same results."""
    from milvus_lite.analyzer.sparse import bytes_to_sparse
    from milvus_lite.constants import ALL_PARTITIONS
    from milvus_lite.engine.projection import build_projection_plan
    from milvus_lite.index.sparse_factory import create_sparse_index, sparse_index_matches

    seg_snapshot, delta_snap = self._read_snapshot()
    mt = self._memtable
    mt_deletes = mt.delete_index_snapshot()
    mt_latest = {pk: pos[2] for pk, pos in mt.pk_index_snapshot()}
    versions = _versions(seg_snapshot, list(mt_latest), list(mt_latest.values()))
    deleted = None if versions is None else _deleted(versions[0], versions[1], delta_snap._map)
    if deleted is None:
        return _stock_sparse(self, query_vectors, vector_field, top_k, metric_type,
                             partition_names, expr, output_fields, timezone)
    keys, seqs, latest = versions
    visible = _split(latest & ~deleted, [len(k) for k in keys])

    partition_filter = set(partition_names) if partition_names else None
    plan = build_projection_plan(output_fields, self._schema, api_kind="search")
    spec = self._index_specs.get(vector_field)
    index_params = spec.build_params if spec else {}
    queries = self._prepare_sparse_queries(query_vectors, vector_field)
    nq = len(queries)
    compiled_filter = self._compile_filter(expr, timezone=timezone) if expr else None
    indexed_filter_plan = self._indexed_filter_plan(compiled_filter)
    # (distance, pk, seq, source): source is (segment, row) or a MemTable record
    candidates: list[list[tuple]] = [[] for _ in range(nq)]

    for i, seg in enumerate(seg_snapshot):
        if partition_filter is not None and seg.partition not in partition_filter:
            continue
        table = seg.table
        if table is None or len(table) == 0:
            continue
        index = seg.sparse_indexes.get(vector_field)
        if not sparse_index_matches(index, metric_type, index_params):
            rows = table.column(vector_field).to_pylist()
            index = create_sparse_index(metric_type, index_params)
            index.build([bytes_to_sparse(r) if isinstance(r, bytes) else (r or {}) for r in rows])
            seg.sparse_indexes[vector_field] = index
        pending = _newer(keys[i], seqs[i], {
            pk: seq for pk, (seq, partition) in mt_deletes.items()
            if partition in (ALL_PARTITIONS, seg.partition)
        })
        if pending is None:
            return _stock_sparse(self, query_vectors, vector_field, top_k, metric_type,
                                 partition_names, expr, output_fields, timezone)
        valid = visible[i] & ~pending
        if compiled_filter is not None:
            from milvus_lite.search.indexed_filter import evaluate_segment_filter

            valid = valid & evaluate_segment_filter(seg, compiled_filter, indexed_filter_plan)
        if not valid.any():
            continue
        for q, lid, dist in _ranked(*_sparse_search(index, queries, top_k, valid)):
            candidates[q].append((dist, seg.pks[lid], int(seg.seqs[lid]), (seg, lid)))

    # The MemTable is small and rebuilt per search, as in Milvus Lite.
    mt_pks, mt_vectors, mt_refs = [], [], []
    for pk, seq, record in mt.active_record_snapshots(partition_names=partition_names):
        if delta_snap.is_deleted(pk, seq) or mt_latest.get(pk, -1) > seq:
            continue
        raw = record.get(vector_field)
        mt_pks.append(pk)
        mt_vectors.append(bytes_to_sparse(raw) if isinstance(raw, bytes) else (raw or {}))
        mt_refs.append((record, seq))
    if mt_pks:
        mt_valid = np.ones(len(mt_pks), dtype=bool)
        if compiled_filter is not None:
            from milvus_lite.search.filter.eval.python_backend import _eval_row

            mt_valid = np.array([_eval_row(compiled_filter.ast, r) for r, _ in mt_refs], dtype=bool)
        mt_index = create_sparse_index(metric_type, index_params)
        mt_index.build(mt_vectors, valid_mask=mt_valid)
        for q, lid, dist in _ranked(*_sparse_search(mt_index, queries, top_k, None)):
            record, seq = mt_refs[lid]
            candidates[q].append((dist, mt_pks[lid], int(seq), record))

    winners = []
    for found in candidates:
        best: dict = {}
        for cand in found:
            if cand[1] not in best or cand[2] > best[cand[1]][2]:
                best[cand[1]] = cand
        winners.append(sorted(best.values(), key=lambda c: c[0])[:top_k])
    records = {}
    wanted = {*plan.response_schema_fields, self._pk_name}
    for seg in {id(c[3][0]): c[3][0] for found in winners for c in found if isinstance(c[3], tuple)}.values():
        lids = sorted({c[3][1] for found in winners for c in found if isinstance(c[3], tuple) and c[3][0] is seg})
        columns = _columns(seg.table, wanted) if not plan.include_all_dynamic else None
        if columns is None:
            columns = [n for n in seg.table.column_names if n not in ("_seq", "_partition")]
        records.update(((id(seg), lid), row) for lid, row in zip(lids, _rows(seg.table, lids, columns)))
    return [
        [{"id": pk, "distance": dist,
          "entity": project_record(records[id(src[0]), src[1]] if isinstance(src, tuple) else src,
                                   self._schema, plan)}
         for dist, pk, _, src in found]
        for found in winners
    ]


def query(self, expr=None, output_fields=None, partition_names=None, limit=None, offset=0,
          timezone=None, order_by_pk=False):
    """`Collection.query` of Milvus Lite 3.2.2 with numpy masks; same arguments, same results.

    Deletes by filter run through it, and Milvus Lite's own copies every stored vector first.
    """
    from milvus_lite.engine.projection import build_projection_plan
    from milvus_lite.search.filter import evaluate_mask
    from milvus_lite.search.indexed_filter import evaluate_segment_filter

    if expr is not None and not isinstance(expr, str):
        raise TypeError("query() expr must be a string or None")
    self._require_loaded()
    compiled = self._compile_filter(expr, timezone=timezone) if expr else None
    plan = build_projection_plan(output_fields, self._schema, api_kind="query")
    indexed_plan = self._indexed_filter_plan(compiled)
    seg_snapshot, delta_snap = self._read_snapshot()
    wanted = set(partition_names) if partition_names else None
    segments = [s for s in seg_snapshot if s.num_rows > 0 and (wanted is None or s.partition in wanted)]
    mt_pks, mt_seqs, _, mt_refs, mt_table = self._memtable.to_search_snapshot(
        vector_field=None, partition_names=partition_names, include_table=compiled is not None,
    )
    if not segments and not mt_pks:
        return []
    visible = _visible(segments, mt_pks, mt_seqs, delta_snap._map, self._memtable.delete_index_snapshot())
    if visible is None:
        return _stock_query(self, expr, output_fields, partition_names, limit, offset, timezone, order_by_pk)
    keys, mask = visible
    if compiled is not None:
        parts = [evaluate_segment_filter(s, compiled, indexed_plan) for s in segments]
        if mt_pks and mt_table is not None:
            parts.append(evaluate_mask(compiled, mt_table))
        mask &= np.concatenate(parts).astype(bool)

    live = np.flatnonzero(mask)
    if order_by_pk:
        live = live[np.argsort(_concat(keys)[live], kind="stable")]
    if limit is not None:
        live = live[: offset + limit]
    bounds = np.cumsum([0] + [len(k) for k in keys])
    sources = np.searchsorted(bounds, live, side="right") - 1
    records: dict[int, dict] = {}
    columns_wanted = {*plan.response_schema_fields, self._pk_name}
    for source, seg in enumerate(segments):
        rows = live[sources == source] - bounds[source]
        if not len(rows):
            continue
        lids = rows.tolist()
        found = _segment_rows(seg, lids, None if plan.include_all_dynamic else columns_wanted)
        records.update(zip((lid + int(bounds[source]) for lid in lids), found))
    for i in live[sources == len(segments)].tolist():
        records[i] = self._memtable.materialize_row(*mt_refs[i - int(bounds[-2])])
    return [project_record(records[i], self._schema, plan) for i in live.tolist()][offset:]
