"""The `vsearch` commands that index, find and keep the library: a thin click layer over the library modules."""

import sys
from pathlib import Path

import click

from vsearch.configs import default
from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display
from vsearch.extract.types import Source

from .render import (
    closest_line,
    count,
    echo_json,
    engine_line,
    gone_note,
    hms,
    ingest_line,
    metrics_table,
    models_line,
    naming,
    note_lines,
    outcome_line,
    progress_for,
    record_json,
    segment_lines,
    shown_state,
    status_line,
    status_summary,
)
from . import cli_moments  # noqa: F401  (the commands that turn moments into files join the group)
from . import cli_mcp  # noqa: F401  (`vsearch mcp` joins the group)
from .command import cli, common_options, setting_option
from .settings import Settings
from .wire import segment_json


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--subs", "subs", multiple=True, type=click.Path(path_type=Path),
              help="Subtitle file for the video (repeatable); sidecars are found anyway.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per video on stdout.")
@common_options
def index(settings: Settings, paths, subs, as_json):
    """Index videos: sample frames, read subtitles, store vectors (replaces old rows)."""
    from vsearch.indexing import index_paths

    for sub in subs:
        if not sub.is_file():
            raise VsearchError(f"{sub}: no such subtitle file")
    failed = 0

    def report(path, outcome):
        nonlocal failed
        if isinstance(outcome, VsearchError):
            failed += 1
            if as_json:
                echo_json({"path": str(path), "state": "failed", "error": str(outcome)})
            click.echo(f"failed   {naming(path, str(outcome))}", err=True)
            return
        rec = outcome.record
        for warning in outcome.warnings:
            click.echo(f"warning: {display(warning)}", err=True)
        if as_json:
            echo_json({"path": rec.path, "state": rec.state, "frames": rec.frames, "encoded": outcome.encoded,
                       "cues": rec.cues, "seconds": round(outcome.seconds, 2), "warnings": outcome.warnings})
        else:
            click.echo(f"indexed  {display(rec.path)}  {count(rec.frames, 'frame')} ({outcome.encoded} encoded), "
                       f"{count(rec.cues, 'cue')}, {outcome.seconds:.1f}s")

    index_paths(settings, paths, subs, report, None if as_json else progress_for)
    if failed:
        raise VsearchError(f"{failed} of {count(len(paths), 'video')} failed; see the lines above")


@cli.command()
@click.argument("query", required=False, default="")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path),
              help="Find where this picture (a screenshot, a photo) is seen, instead of a text query.")
@click.option("--audio", "sound", type=click.Path(dir_okay=False, path_type=Path),
              help="Find where this sound (an audio clip, any format; its first audio.query_seconds) is heard.")
@click.option("--top-k", "-k", type=int, help="Segments to return (1 to 1000) [find.top_k].")
@click.option("--video", "videos", multiple=True, help="Search only this video, or the videos under this folder "
                                                       "(repeatable).")
@click.option("--source", "sources", multiple=True, type=click.Choice([s.value for s in Source]),
              help="Match text of this source only (repeatable): subtitles, speech (asr), screen text (ocr).")
@click.option("--lang", "languages", multiple=True,
              help="Only moments whose matched cue is in this language (repeatable): a subtitle file's tag "
                   "(talk.en.vtt), the language speech was heard in; untagged subtitles have none.")
@click.option("--speaker", "speakers", multiple=True, help="Only moments whose matched cue this speaker says "
                                                            "(repeatable; a subtitle's <v Name>).")
@click.option("--clip-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each result as an MP4 clip into this folder.")
@click.option("--export", "edit_list", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results as an edit list: moments.otio, .edl or .fcpxml.")
@click.option("--all", "everything", is_flag=True, help="Every moment found, also those under the bar "
              "(find.min_score, find.background, find.min_coverage).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per segment on stdout, nothing else.")
@common_options
def find(settings: Settings, query, image, sound, top_k, videos, sources, languages, speakers, clip_dir, edit_list,
         everything, as_json):
    """Find the moments that match QUERY, --image, both (one ranking), or --audio, best first.

    Answered by a running `vsearch serve` on the same index when there is one; at a terminal,
    the first find starts one in the background (find.resident, serve.idle).
    """
    from vsearch.finding import find as answer
    from vsearch.request import from_files

    request = from_files(query, image, sound, k=settings["find.top_k"] if top_k is None else top_k,
                         videos=videos, sources=tuple(sources), languages=languages, speakers=speakers,
                         all=everything)
    queried = [p for p in (image, sound) if p is not None]  # files this find reads: never an output
    if edit_list is not None:
        from vsearch.outputs import guard
        from vsearch.timeline import check_format

        check_format(edit_list)
        guard(settings, edit_list, queried)
    found = answer(settings, request, lambda line: click.echo(line, err=True))
    segments = found.segments
    if found.gone:
        click.echo(gone_note(found.gone), err=True)
    if clip_dir is not None:
        from vsearch.outputs import export_clips

        for out, problem in export_clips(settings, segments, clip_dir, queried):
            click.echo(f"clip     {display(str(out))}" if out else f"warning: {display(problem)}", err=True)
    if edit_list is not None and segments:
        from vsearch.outputs import export_edit_list

        out = export_edit_list(settings, segments, edit_list, request.query or request.name, queried)
        click.echo(f"wrote    {display(str(out))} ({count(len(segments), 'moment')})", err=True)
    if as_json:
        for seg in segments:
            echo_json(segment_json(seg))
    elif not segments:
        click.echo("no matching moments", err=True)
    else:
        for n, seg in enumerate(segments, 1):
            click.echo(segment_lines(n, seg))
    for line in note_lines(found.notes):  # on stderr with --json too, and when nothing was found
        click.echo(line, err=True)
    if found.closest is not None:
        click.echo(closest_line(found.closest), err=True)
    if edit_list is not None and not segments:
        raise VsearchError(f"no matching moments: {display(str(edit_list))} not written")


@cli.command()
@click.option("--host", help=f"Address to listen on [serve.host, {default('serve.host')}]; another than loopback "
                             "needs a token.")
@click.option("--port", type=click.IntRange(0, 65535), help=f"Port [serve.port, {default('serve.port')}]; 0 takes a "
                                                             "free one.")
@click.option("--serve-token", help="Token every request must carry [VSEARCH_SERVE_TOKEN].")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option("--idle", type=click.FloatRange(0, 10080), default=0.0,
              help="Exit after this many minutes without a request (0, the default: never).")
@click.option("--stop", is_flag=True, help="Stop the server running for this index home, and exit.")
@click.option("--started-by", type=click.Choice(["serve", "find"]), default="serve", hidden=True)
@common_options
def serve(settings: Settings, host, port, serve_token, open_browser, idle, stop, started_by):
    """Serve the search page and its API: models loaded once, results with a player, clips.

    Exit codes: 0 stopped, 1 could not serve, 2 bad settings, 3 the port is in use.
    """
    if stop:
        from vsearch.background import stop as stop_server

        click.echo(f"vsearch: {stop_server(settings)}", err=True)
        return
    from vsearch.serve import run

    run(settings, host, port, serve_token, open_browser, idle, started_by)


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per video.")
@common_options
def list_videos(settings: Settings, as_json):
    """List indexed videos."""
    from vsearch.library import videos

    records = videos(settings)
    for rec in records:
        if as_json:
            echo_json(record_json(rec))
        else:
            click.echo(f"{shown_state(rec):<9} {hms(rec.duration)}  {rec.frames:>6} frames  {rec.cues:>5} cues  "
                       f"{display(rec.path)}")
    if not as_json:
        click.echo(count(len(records), "video"), err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@common_options
def remove(settings: Settings, paths):
    """Remove videos and all their rows from the index (the files are not touched)."""
    from vsearch.library import remove_paths

    removed, missing = remove_paths(settings, paths)
    for path in removed:
        click.echo(f"removed  {display(str(path))}")
    if missing:
        raise VsearchError(f"not in the index: {', '.join(map(display, missing))} (see `vsearch list`)")


@cli.command(name="copy")
@click.argument("target")
@click.option("--to-token", default="", envvar="VSEARCH_TO_TOKEN",
              help="Token of the target server [VSEARCH_TO_TOKEN].")
@click.option("--to-collection", help="Collection prefix in the target [the source's].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@common_options
def copy_index(settings: Settings, target, to_token, to_collection, as_json):
    """Copy the index to a Milvus server or a Milvus Lite folder, without re-encoding anything.

    \b
      vsearch copy http://milvus.internal:19530            # this machine's index -> a server
      vsearch copy ~/laptop-home --uri http://milvus.internal:19530   # a server -> a Milvus Lite home
    Run it again to finish a copy that stopped: videos already there are not copied again.
    """
    from vsearch.library import copy_to

    def said(record, copied: bool):
        if copied and not as_json:
            click.echo(f"copied   {display(record.path)}", err=True)

    done = copy_to(settings, target, to_token, to_collection, said)
    if as_json:
        echo_json({"copied": done.copied, "kept": done.kept, "rows": done.rows})
    else:
        click.echo(f"{count(done.copied, 'video')} copied ({done.rows} rows), {done.kept} already there")


def _shard(ctx, param, value: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in value.split("/"))
        if 0 <= i < n:
            return i, n
    except ValueError:
        pass
    raise click.BadParameter(f"{value!r}: use I/N with 0 <= I < N, e.g. 0/3", ctx, param)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove videos that are gone from the folder.")
@click.option("--shard", default="0/1", callback=_shard, help="I/N: index only the videos machine I of N owns.")
@setting_option("ingest.settle_seconds", "--settle", type=click.IntRange(min=0), metavar="SECONDS",
                help="Take only files unchanged this long, as a copy may still be going on; 0 takes them at once "
                     f"[ingest.settle_seconds, {default('ingest.settle_seconds')}].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@common_options
def ingest(settings: Settings, folder, prune, shard, as_json):
    """Index what is new or changed under FOLDER; safe to run from cron every few minutes.

    Exit codes: 0 all well (or another ingest is running), 1 some video failed or the run
    could not proceed, 2 bad settings, 75 the index stayed busy.
    """
    from vsearch.ingest import AlreadyRunning
    from vsearch.ingest import ingest as run

    def report(o):
        click.echo(outcome_line(o), err=as_json)
        for warning in o.warnings:
            click.echo(f"warning: {display(warning)}", err=True)

    try:
        summary = run(settings, folder, prune, shard, report, None if as_json else progress_for)
    except AlreadyRunning as exc:
        click.echo(f"vsearch: {exc}", err=True)
        return
    for problem in summary.problems:
        click.echo(f"warning: {display(problem)}", err=True)
    counts = summary.counts()
    if as_json:
        echo_json({"counts": counts, "problems": summary.problems, "seconds": round(summary.seconds, 2),
                   "videos": [o.__dict__ for o in summary.outcomes]})
    else:
        click.echo(ingest_line(counts, summary.seconds))
        if sys.stderr.isatty() and (note := summary.waiting_note()):
            click.echo(note, err=True)  # for a person: cron's logs and --json stay as they were
    if summary.failed:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per video.")
@common_options
def status(settings: Settings, as_json):
    """Show every video's state, counts and last error, and the index's models."""
    from vsearch.library import videos
    from vsearch.session import index_meta

    records = videos(settings)
    for rec in records:
        if as_json:
            echo_json(record_json(rec))
        else:
            click.echo(status_line(rec))
    if not as_json:
        from vsearch.background import describe

        click.echo(status_summary(records))
        if records and (meta := index_meta(settings)):
            click.echo(models_line(meta))
            if engine := engine_line(meta["model"], settings):
                click.echo(engine)
        if server := describe(settings):
            click.echo(server)


@cli.command(name="eval")
@click.argument("queries_file", type=click.Path(path_type=Path))
@click.option("--top-k", "-k", type=click.IntRange(5, 1000), default=10, show_default=True,
              help="Segments ranked per query (mAP uses them all).")
@click.option("--json", "as_json", is_flag=True, help="Every number as one JSON object on stdout.")
@click.option("--media-root", type=click.Path(file_okay=False, path_type=Path), envvar="VSEARCH_MEDIA_ROOT",
              help="Folder that video paths starting with {media} are under [VSEARCH_MEDIA_ROOT].")
@common_options
def evaluate(settings: Settings, queries_file, top_k, as_json, media_root):
    """Score `find` on labelled queries (JSONL: query, video, relevant_windows), per signal and fused.

    Videos not yet indexed, or changed, are indexed first. Use --home for a separate index.
    """
    from vsearch.evaluate import evaluate as run
    from vsearch.evaluate import load_queries, prepare

    queries = load_queries(queries_file, media_root)

    def report(path, outcome):
        if not isinstance(outcome, VsearchError):
            click.echo(f"indexed  {display(outcome.record.path)}", err=True)

    prepare(settings, queries, report, None if as_json else progress_for)
    result = run(settings, queries, top_k=top_k)
    if as_json:
        echo_json({"queries": len(queries), "model": result.model, "top_k": top_k,
                   "metrics": result.metrics, "per_query": result.per_query})
        return
    click.echo(metrics_table(result.metrics))
    click.echo(f"{len(queries)} queries, model {result.model}; Hit: seek within a window ±1 s; "
               "R@k at temporal IoU; mAP over IoU 0.5-0.95; NoAns: share of queries with no right answer "
               "that got none", err=True)


def main() -> None:
    """Console entry point."""
    cli(prog_name="vsearch")
