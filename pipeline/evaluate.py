"""`vsearch eval QUERIES.jsonl`: retrieval quality of `find` against labelled windows."""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import absolute
from vsearch.extract.types import Source

from . import remote
from .indexing import Indexing, index_prepared
from .ingest import freshness
from .session import index_meta, load_models, query_sound, store_opener
from .settings import Settings


class EvalFileError(VsearchError):
    """The queries file is missing or a line is malformed."""

    exit_code = 2


@dataclass(frozen=True)
class EvalQuery:
    """One labelled query: the text, the video it is about, its relevant windows (none: the right
    answer is nothing), and optionally its kind (such as "said" or "shown"), which gets a row of
    its own in the report."""

    query: str
    video: Path
    windows: tuple[tuple[float, float], ...]
    line: int = 0
    kind: str = ""


def _windows(value, where: str) -> tuple[tuple[float, float], ...]:
    try:
        spans = tuple((float(a), float(b)) for a, b in value)
    except (TypeError, ValueError):
        spans = ()
    if value is None or (value and not spans) or any(not 0 <= a < b for a, b in spans):
        raise EvalFileError(f"{where}: relevant_windows must be a list of [start, end] with start < end "
                            "([] for a query whose right answer is nothing)")
    return spans


MEDIA = "{media}"


def load_queries(path: Path, media_root: Path | None = None) -> list[EvalQuery]:
    """Parse QVHighlights-style JSONL; relative video paths resolve against the file's folder,
    and a path starting with `{media}` against `media_root` (`--media-root`)."""
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise EvalFileError(f"cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise EvalFileError(f"{path} is not UTF-8 text") from None
    queries = []
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"{path} line {n}"
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("query"), str) or not row["query"].strip():
            raise EvalFileError(f'{where}: needs a non-empty "query" string')
        if not isinstance(row.get("video"), str):
            raise EvalFileError(f'{where}: needs a "video" path')
        named = row["video"]
        if named.startswith(MEDIA):
            if media_root is None:
                raise EvalFileError(f"{where}: video {named} is under the media folder: pass --media-root DIR "
                                    "(or set VSEARCH_MEDIA_ROOT), e.g. the checkout's ../shared/media")
            video = absolute(Path(media_root).expanduser() / named[len(MEDIA):].lstrip("/"))
        else:
            video = absolute(Path(path).parent / Path(named).expanduser())
        if not video.is_file():
            raise EvalFileError(f"{where}: video {row['video']} not found (looked at {video})")
        kind = row.get("kind", "")
        if not isinstance(kind, str):
            raise EvalFileError(f'{where}: "kind" must be a string such as "said" or "shown"')
        queries.append(EvalQuery(row["query"], video, _windows(row.get("relevant_windows"), where), n, kind))
    if not queries:
        raise EvalFileError(f"{path} holds no queries")
    return queries


def prepare(settings: Settings, queries: list[EvalQuery], on_result: Callable | None = None,
            progress_for: Callable | None = None) -> None:
    """Index the videos the queries refer to that are not indexed yet, or changed (video or
    subtitles) since they were; any failure stops the evaluation."""
    from vsearch.index import kept_subs, video_id

    run = Indexing(settings, index_meta(settings))
    videos = sorted({q.video for q in queries})
    with run.open_store() as store:
        records = store.get_videos({video_id(str(v)) for v in videos})
    now, stale = time.time(), []
    for video in videos:
        record = records.get(video_id(str(video)))
        files = run.prepare(video, kept_subs(record))
        if freshness(record, files, now)[0] not in ("skip", "touched"):
            stale.append((video, files))
    if not stale:
        return
    failed = [f"{p.name}: {o}" for p, o in index_prepared(run, stale, on_result, progress_for)
              if isinstance(o, VsearchError)]
    if failed:
        raise VsearchError("cannot evaluate, indexing failed for " + "; ".join(failed))


SOURCES = tuple(Source)


def signal_variants(settings: Settings) -> dict[str, object]:
    """Each signal alone, then the configured fusion: one FindOptions per row of the report. The
    sound signal has a row unless audio.mode is off; a picture, which no labelled query carries, has none."""
    from vsearch.query.fusion import SIGNALS

    base = settings.find_options()
    signals = [s for s in SIGNALS if s != "picture" and (s != "audio" or settings["audio.mode"] != "off")]
    variants = {name: replace(base, weights={s: float(s == name) for s in SIGNALS}) for name in signals}
    # Each source of text alone, with both text signals at their weights: what subtitles, speech
    # and screen text each find.
    text_only = {s: (w if s in ("cues", "bm25") else 0.0) for s, w in base.weights.items()}
    for source in SOURCES:
        variants[source] = replace(base, weights=text_only, sources=(source,))
    variants["fused"] = base
    return variants


@dataclass(frozen=True)
class EvalReport:
    """Mean metrics per variant, and every query's own numbers."""

    model: str
    metrics: Mapping[str, Mapping[str, float]]
    per_query: list[dict]


def evaluate(settings: Settings, queries: list[EvalQuery], variants: Mapping[str, object] | None = None,
             top_k: int = 10) -> EvalReport:
    """Run every query through `find`'s code under each variant and score the rankings."""
    from vsearch.query import find_many, mean_scores, score_ranking

    variants = dict(variants or signal_variants(settings))
    options = [replace(v, top_k=top_k) for v in variants.values()]
    scores: dict[str, list[dict]] = {name: [] for name in variants}
    per_query = []
    def score(q: EvalQuery, rankings: list) -> None:
        row = {"query": q.query, "video": str(q.video), "line": q.line, "kind": q.kind, "metrics": {}}
        for name, segments in zip(variants, rankings):
            ranked = [(s.start, s.end, s.seek) if s.video == str(q.video) else None for s in segments]
            metrics = score_ranking(ranked, q.windows) if q.windows else {"no_result": float(not segments)}
            scores[name].append(metrics)
            row["metrics"][name] = metrics
        row["top"] = [{"video": s.video, "start": s.start, "end": s.end, "seek": s.seek} for s in rankings[-1][:5]]
        per_query.append(row)

    # Through a running `vsearch serve` on this index (its models loaded) when there is one.
    served = remote.rank(settings, queries[0].query, options)
    if served is not None:
        model = served[0]
        for i, q in enumerate(queries):
            answer = served if i == 0 else remote.rank(settings, q.query, options)
            if answer is None:
                raise VsearchError("the running `vsearch serve` stopped answering; run eval again")
            score(q, answer[1])
    else:
        with store_opener(settings)() as store:
            meta = store.check()
            if meta is None:
                raise VsearchError("the index is empty: nothing to evaluate")
            encoder, text = load_models(settings, meta)
            audio = query_sound(settings, meta)
            model = encoder.model_id
            for q in queries:
                score(q, find_many(store, encoder, q.query, options, text=text, audio=audio))

    def mean(rows: list[dict], among: list[EvalQuery]) -> dict:
        # Ranking metrics over the answerable queries, and the share of the others answered with nothing.
        found = mean_scores([m for q, m in zip(among, rows) if q.windows])
        nothing = [m["no_result"] for q, m in zip(among, rows) if not q.windows]
        return {**found, "no_result": sum(nothing) / len(nothing)} if nothing else found

    metrics = {name: mean(rows, queries) for name, rows in scores.items()}
    last = list(variants)[-1]
    for kind in sorted({q.kind for q in queries} - {""}):
        chosen = [(q, m) for q, m in zip(queries, scores[last]) if q.kind == kind]
        metrics[f"{last}:{kind}"] = mean([m for _, m in chosen], [q for q, _ in chosen])
    return EvalReport(model, metrics, per_query)
