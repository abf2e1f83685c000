"""Which stored rows a Milvus Lite 3.2.2 search or query may return, as numpy masks, and
reading the rows found; `query` itself. See index/lite/__init__.py."""

import threading
import weakref

import numpy as np

# Milvus Lite's own query, kept by `install` for what numpy cannot compare.
STOCK: dict = {}


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


_arrays, _latest_of = _BySegments(), _BySegments()


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


def _rows(table, lids: list[int], columns: list[str]) -> list[dict]:
    """Rows `lids` of `table`, only `columns`, in one Arrow take instead of a cell at a time."""
    import pyarrow as pa

    return table.select(columns).take(pa.array(lids, type=pa.int64())).to_pylist()


def segment_filter(compiled, indexed_plan, schema):
    """Milvus Lite's `evaluate_segment_filter` as a function of a segment, with each
    `array_contains_any(field, [integers])` among the filter's top-level ANDs computed by Arrow:
    Milvus Lite evaluates one a row at a time in Python (0.7 s over 100k cue rows). The rest of
    the filter, compiled once here, is Milvus Lite's own."""
    from milvus_lite.search.filter import compile_expr
    from milvus_lite.search.filter.ast import And
    from milvus_lite.search.indexed_filter import evaluate_segment_filter

    ast = compiled.ast
    parts = ast.operands if isinstance(ast, And) else (ast,)
    lookups = [(p.value.name, [e.value for e in p.values.elements]) for p in parts if _integer_lookup(p)]
    if not lookups:
        return lambda seg: evaluate_segment_filter(seg, compiled, indexed_plan)
    rest = [p for p in parts if not _integer_lookup(p)]
    remaining = rest[0] if len(rest) == 1 else And(operands=tuple(rest), pos=ast.pos) if rest else None
    others = compile_expr(remaining, schema, source=compiled.source) if remaining is not None else None

    def mask(seg) -> np.ndarray:
        found = np.ones(seg.num_rows, dtype=bool)
        for field, values in lookups:
            found &= _contains_any(seg.table.column(field), values)
        if others is not None:
            found &= evaluate_segment_filter(seg, others, None)
        return found
    return mask


def _integer_lookup(node) -> bool:
    """`array_contains_any(field, [integer, ...])`, the form vsearch's word lookups take."""
    from milvus_lite.search.filter.ast import ArrayContainsOp, FieldRef, IntLit, ListLit

    return (isinstance(node, ArrayContainsOp) and node.mode == "any" and isinstance(node.value, FieldRef)
            and isinstance(node.values, ListLit) and all(type(e) is IntLit for e in node.values.elements))


def _contains_any(column, values: list[int]) -> np.ndarray:
    """Rows whose array holds any of `values`; a null or empty array holds none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    mask = np.zeros(len(lists), dtype=bool)
    # Each row's values by its offsets, so a null row whose offsets still span values is no
    # row's parent but its own (and then dropped as null).
    offsets = lists.offsets.to_numpy()
    held = lists.values.slice(offsets[0], offsets[-1] - offsets[0])
    if len(held):
        hit = pc.is_in(held, value_set=pa.array(values, type=held.type)).to_numpy(zero_copy_only=False)
        mask[np.repeat(np.arange(len(lists)), np.diff(offsets))[hit]] = True
    return mask & lists.is_valid().to_numpy(zero_copy_only=False)


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


def query(self, expr=None, output_fields=None, partition_names=None, limit=None, offset=0,
          timezone=None, order_by_pk=False):
    """`Collection.query` of Milvus Lite 3.2.2 with numpy masks; same arguments, same results.

    Deletes by filter run through it, and Milvus Lite's own copies every stored vector first.
    """
    from milvus_lite.engine.projection import build_projection_plan
    from milvus_lite.search.filter import evaluate_mask

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
        return STOCK["query"](self, expr, output_fields, partition_names, limit, offset, timezone, order_by_pk)
    keys, mask = visible
    if compiled is not None:
        segment_mask = segment_filter(compiled, indexed_plan, self._schema)
        parts = [segment_mask(s) for s in segments]
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
