"""`vsearch mcp`: the library as tools for an assistant (mcp_server.py)."""

import click

from .command import cli, common_options, setting_option
from .settings import Settings


@cli.command(name="mcp")
@setting_option("mcp.output_dir", "--output-dir", type=click.Path(file_okay=False, path_type=str),
                help="Folder cut_clip writes clips into, and the only place it writes [mcp.output_dir; "
                     "HOME/clips].")
@common_options
def mcp_command(settings: Settings):
    """Serve find, transcripts, chapters and clips to an assistant: MCP on stdin and stdout.

    Needs the extra: pip install 'vsearch[mcp]'. Configure the assistant to run `vsearch mcp`
    (README, "Assistants (MCP)"). Models load once; nothing is indexed or removed through it.
    """
    from vsearch.mcp_server import run

    run(settings)
