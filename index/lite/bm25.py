"""Milvus Lite 3.2.2's BM25 (sparse) search with numpy masks and array scoring."""

import math

import numpy as np

from .rows import STOCK, _columns, _deleted, _newer, _rows, _split, _versions, project_record

# NumPy 1 computes Python float x float32 scalars in float64, arrays in float32: only under
# NumPy 2's rules do array steps round exactly as Milvus Lite's scalar BM25 does.
_NUMPY2 = int(np.__version__.split(".")[0]) >= 2


def _ranked(ids: np.ndarray, dists: np.ndarray):
    """(query, row, distance) for each filled slot of an index's top-k; -1 pads a query's tail."""
    for q in range(ids.shape[0]):
        for j in range(ids.shape[1]):
            lid = int(ids[q, j])
            if lid < 0:
                break
            yield q, lid, float(dists[q, j])


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
        return STOCK["sparse"](self, query_vectors, vector_field, top_k, metric_type,
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
            return STOCK["sparse"](self, query_vectors, vector_field, top_k, metric_type,
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
