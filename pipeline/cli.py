"""The `vsearch` command: a thin click layer over vsearch.api."""

import functools
import os
import signal
import sys
import threading
from pathlib import Path

import click

from vsearch import __version__
from vsearch.configs import default
from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display
from vsearch.extract.types import Source

from .render import (
    echo_json,
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
    segment_json,
    segment_lines,
    shown_state,
    status_line,
    status_summary,
)
from .settings import MAX_TOP_K, Settings, load_settings

INTERNAL_ERROR = 70


class Terminated(BaseException):
    """SIGTERM arrived (`timeout`, a service manager): stop the way Ctrl-C does."""


def _terminate(signum, frame):
    raise Terminated


class Cli(click.Group):
    """Prints VsearchErrors as one line with their exit code instead of a traceback."""

    def invoke(self, ctx):
        # By default SIGTERM ends Python at once: no temp folder deleted, no index closed.
        main = threading.current_thread() is threading.main_thread()  # the only one that may set handlers
        previous = signal.signal(signal.SIGTERM, _terminate) if main else None
        try:
            return super().invoke(ctx)
        except VsearchError as exc:
            click.echo(f"vsearch: error: {display(str(exc))}", err=True)  # a name in it may hold control characters
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("vsearch: interrupted", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("vsearch: terminated; what was indexed is kept, run it again to go on", err=True)
            sys.exit(128 + signal.SIGTERM)
        except BrokenPipeError:
            # The reader went away (`vsearch find ... | head -1`): normal shell use. Point stdout
            # at /dev/null so that flushing it at exit raises nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("VSEARCH_DEBUG"):
                raise
            click.echo(f"vsearch: internal error: {type(exc).__name__}: {display(str(exc))} "
                       "(set VSEARCH_DEBUG=1 for a traceback)", err=True)
            sys.exit(INTERNAL_ERROR)
        finally:
            if previous is not None:  # None also where a non-Python handler was in place
                signal.signal(signal.SIGTERM, previous)


def common_options(fn):
    """Storage, model and config options every command takes."""
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="TOML settings file (see configs/default.toml)."),
        click.option("--home", help="Folder of the Milvus Lite index [VSEARCH_HOME]."),
        click.option("--uri", help="Milvus server URI, e.g. http://host:19530 [VSEARCH_URI]."),
        click.option("--token", help="Milvus server token [VSEARCH_TOKEN]."),
        click.option("--collection", help="Collection prefix: another prefix is another index."),
        click.option("--model", help="Preset (siglip2, chinese-clip, clip), HF id or folder [VSEARCH_MODEL]."),
        click.option("--text-model", help="Model of cue vectors: multilingual-e5-small, bge-m3, minilm, image, "
                                          "HF id or folder [VSEARCH_TEXT_MODEL]."),
        click.option("--audio-model", help="Sound model: clap, clap-general, HF id or folder [VSEARCH_AUDIO_MODEL]."),
        click.option("--device", help="auto, cpu, cuda [VSEARCH_DEVICE]."),
    ]

    @functools.wraps(fn)
    def wrapper(*args, config_file, home, uri, token, collection, model, text_model, audio_model, device, **kwargs):
        flags = {"home": home, "uri": uri, "token": token, "collection": collection, "model": model,
                 "text_model": text_model, "audio.model": audio_model, "device": device}
        settings = load_settings(config_file, flags)
        return fn(settings, *args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsearch")
def cli():
    """Find moments in videos by what is seen and said, in any language.

    \b
      vsearch index lecture.mp4            # frames, subtitles -> index
      vsearch find "讲到向量数据库的部分"     # ranked segments with seek offsets
    """
    # transformers' and huggingface_hub's own warnings and progress bars would break one-line
    # errors and clean --json; a failed model load gets our message. Users can still override.
    for name, value in (("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_VERBOSITY", "error"),
                        ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(name, value)


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
            click.echo(f"indexed  {display(rec.path)}  {rec.frames} frames ({outcome.encoded} encoded), "
                       f"{rec.cues} cues, {outcome.seconds:.1f}s")

    index_paths(settings, paths, subs, report, None if as_json else progress_for)
    if failed:
        raise VsearchError(f"{failed} of {len(paths)} videos failed; see the lines above")


@cli.command()
@click.argument("query", required=False, default="")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path),
              help="Find where this picture (a screenshot, a photo) is seen, instead of a text query.")
@click.option("--audio", "sound", type=click.Path(dir_okay=False, path_type=Path),
              help="Find where this sound (an audio clip, any format; its first audio.query_seconds) is heard.")
@click.option("--top-k", "-k", type=click.IntRange(1, MAX_TOP_K), help="Segments to return.")
@click.option("--video", "videos", multiple=True, help="Search only this video (repeatable).")
@click.option("--source", "sources", multiple=True, type=click.Choice([s.value for s in Source]),
              help="Match text of this source only (repeatable): subtitles, speech (asr), screen text (ocr).")
@click.option("--clip-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each result as an MP4 clip into this folder.")
@click.option("--export", "edit_list", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results as an edit list: moments.otio, .edl or .fcpxml.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per segment on stdout, nothing else.")
@common_options
def find(settings: Settings, query, image, sound, top_k, videos, sources, clip_dir, edit_list, as_json):
    """Find the moments that match QUERY, --image, both (one ranking), or --audio, best first.

    Answered by a running `vsearch serve` on the same index when there is one; at a terminal,
    the first find starts one in the background (find.resident, serve.idle).
    """
    if not (query.strip() or image or sound):
        raise VsearchError("the query is empty; say what you are looking for (or give --image PICTURE or --audio CLIP)")
    if sound and (query.strip() or image):
        raise VsearchError("give --audio alone: a sound is not searched together with text or a picture")
    from vsearch.api import find_moments

    queried = [p for p in (image, sound) if p is not None]  # files this find reads: never an output
    if edit_list is not None:
        from vsearch.outputs import guard
        from vsearch.timeline import check_format

        check_format(edit_list)
        guard(settings, edit_list, queried)
    segments, notes, gone = find_moments(settings, query, image, sound, top_k, videos, tuple(sources),
                                         lambda line: click.echo(line, err=True))
    if gone:
        click.echo(gone_note(gone), err=True)
    if clip_dir is not None:
        from vsearch.outputs import export_clips

        for out, problem in export_clips(settings, segments, clip_dir, queried):
            click.echo(f"clip     {display(str(out))}" if out else f"warning: {display(problem)}", err=True)
    if edit_list is not None and segments:
        from vsearch.outputs import export_edit_list

        out = export_edit_list(settings, segments, edit_list, query or display((image or sound).name), queried)
        click.echo(f"wrote    {display(str(out))} ({len(segments)} moments)", err=True)
    if as_json:
        for seg in segments:
            echo_json(segment_json(seg))
    elif not segments:
        click.echo("no matching moments", err=True)
    else:
        for n, seg in enumerate(segments, 1):
            click.echo(segment_lines(n, seg))
    for line in note_lines(notes):  # on stderr with --json too, and when nothing was found
        click.echo(line, err=True)


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
    from vsearch.api import videos

    records = videos(settings)
    for rec in records:
        if as_json:
            echo_json(record_json(rec))
        else:
            click.echo(f"{shown_state(rec):<9} {hms(rec.duration)}  {rec.frames:>6} frames  {rec.cues:>5} cues  "
                       f"{display(rec.path)}")
    if not as_json:
        click.echo(f"{len(records)} videos", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@common_options
def remove(settings: Settings, paths):
    """Remove videos and all their rows from the index (the files are not touched)."""
    from vsearch.api import remove_paths

    removed, missing = remove_paths(settings, paths)
    for path in removed:
        click.echo(f"removed  {display(str(path))}")
    if missing:
        raise VsearchError(f"not in the index: {', '.join(map(display, missing))} (see `vsearch list`)")


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
    if summary.failed:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per video.")
@common_options
def status(settings: Settings, as_json):
    """Show every video's state, counts and last error, and the index's models."""
    from vsearch.api import index_meta, videos

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


# The commands that turn moments into files join the group from their own module.
from . import cli_moments  # noqa: E402,F401

def main() -> None:
    """Console entry point."""
    cli(prog_name="vsearch")
