"""Commands that turn moments and videos into files: a clip, a supercut, a video's chapters and transcript."""

from pathlib import Path

import click

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display
from vsearch.extract.types import Source

from .command import cli, common_options
from .render import closest_line, count, echo_json, gone_note, note_lines
from .settings import Settings


@cli.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["vtt", "ffmetadata", "youtube", "json"]), default="vtt",
              show_default=True, help="WebVTT chapters, an FFmpeg metadata file, YouTube description lines, JSON lines.")
@common_options
def chapters(settings: Settings, video, fmt):
    """VIDEO's chapters: where slides change, what is said moves on, or the picture changes for long."""
    from vsearch.library import chapters as find_chapters
    from vsearch.chapter_formats import format_chapters

    click.echo(format_chapters(find_chapters(settings, video), fmt), nl=False)


@cli.command()
@click.argument("query")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="MP4 file to write.")
@click.option("--top-k", "-k", type=int, help="Moments to join, best first (1 to 1000) [find.top_k].")
@click.option("--video", "videos", multiple=True, help="Only moments of this video, or of the videos under this "
                                                       "folder (repeatable).")
@click.option("--source", "sources", multiple=True, type=click.Choice([s.value for s in Source]),
              help="Match text of this source only (repeatable).")
@click.option("--lang", "languages", multiple=True,
              help="Only moments whose matched cue is in this language (a subtitle file's tag, speech's).")
@click.option("--speaker", "speakers", multiple=True, help="Only moments this speaker says.")
@click.option("--all", "everything", is_flag=True, help="Join moments under the bar too (as `find --all`).")
@common_options
def supercut(settings: Settings, query, output, top_k, videos, sources, languages, speakers, everything):
    """Join the moments that match QUERY, best first, into one MP4, each cut to the frame."""
    from vsearch.finding import find
    from vsearch.outputs import guard, supercut as join
    from vsearch.request import from_files

    request = from_files(query, k=settings["find.top_k"] if top_k is None else top_k, videos=videos,
                         sources=tuple(sources), languages=languages, speakers=speakers, all=everything)
    guard(settings, output)
    found = find(settings, request, lambda line: click.echo(line, err=True))
    for line in ([gone_note(found.gone)] if found.gone else []) + note_lines(found.notes):
        click.echo(line, err=True)
    if found.closest is not None:
        click.echo(closest_line(found.closest), err=True)
    if not found.segments:
        raise VsearchError(f"no matching moments: {display(str(output))} not written")
    out = join(settings, found.segments, output)
    seconds = sum(s.end - s.start for s in found.segments)
    click.echo(f"wrote    {display(str(out))} ({count(len(found.segments), 'moment')}, {seconds:.1f} s)", err=True)


@cli.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.argument("start", type=float)
@click.argument("end", type=float)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="MP4 file to write.")
@click.option("--pad", type=click.FloatRange(0, 600), default=0.0, help="Seconds added before and after.")
@common_options
def clip(settings: Settings, video, start, end, output, pad):
    """Cut START-END seconds of VIDEO into an MP4 whose first frame is the one at START."""
    from vsearch.outputs import export

    out, first, last = export(settings, video, start, end, output, pad)
    if last < end + pad - 0.001:
        click.echo(f"note: the video ends at {last:g} s, so the clip is {first:g}-{last:g} s", err=True)
    click.echo(f"wrote    {display(str(out))}", err=True)


@cli.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["vtt", "srt", "json"]), default="vtt", show_default=True,
              help="WebVTT or SubRip (a subtitle file for a player), or one JSON object per cue.")
@click.option("--source", type=click.Choice([s.value for s in Source]),
              help="What was said (asr; the default, or the subtitles where no speech was transcribed), "
                   "shown on screen (ocr), or the subtitles read.")
@common_options
def transcript(settings: Settings, video, fmt, source):
    """Print the stored transcript of VIDEO (what was said), e.g. as subtitles for a player."""
    from vsearch.library import transcript as stored
    from vsearch.extract.subtitles import write_subtitles
    from vsearch.wire import cue_json

    cues, used = stored(settings, video, source)
    if used != (source or Source.ASR):
        click.echo(f"note: no speech was transcribed for {display(str(video))}; these are its subtitles "
                   "(--source subtitle)", err=True)
    if fmt == "json":
        for cue in cues:
            echo_json(cue_json(cue))
        return
    click.echo(write_subtitles(cues, fmt), nl=False)
