"""`vsearch mcp`: the tools of mcp_tools.py served to an assistant over stdio, on the official MCP SDK.

The SDK is an optional extra, imported only here and only when the server starts. Every call
answers: a VsearchError is a tool error of one line, anything else an internal error without a
traceback (VSEARCH_DEBUG=1 writes it to stderr, the assistant's log of this server); the server
itself ends only when the assistant closes its stdin or stops it.
"""

import os
import threading

from vsearch import __version__
from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display

from .settings import Settings

INSTALL = "pip install 'vsearch[mcp]'"
INSTRUCTIONS = ("vsearch finds moments in the user's indexed videos. find_moments answers ranked moments with "
                "a video_id and start/end seconds; get_transcript reads what was said around one, list_chapters "
                "outlines a video, cut_clip writes a moment as an MP4 and answers its path.")


class ExtraMissing(VsearchError):
    """An optional extra that a command needs is not installed."""

    exit_code = 2


def run(settings: Settings) -> None:
    """Serve the tools on stdin and stdout until the assistant closes them."""
    try:
        import anyio
        import mcp.types as types
        from mcp.server.lowlevel import Server
        from mcp.server.stdio import stdio_server
    except ImportError:
        raise ExtraMissing(f"`vsearch mcp` needs the MCP SDK: {INSTALL}") from None
    from .mcp_tools import Tools, WRITES

    tools = Tools(settings)
    one_at_a_time = anyio.CapacityLimiter(1)  # the models and the index answer one request at a time

    def failed(message: str):
        return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[
            types.Tool(name=name, description=description, input_schema=schema,
                       annotations=types.ToolAnnotations(read_only_hint=name not in WRITES, destructive_hint=False,
                                                         open_world_hint=False))
            for name, (description, schema) in tools.schemas.items()])

    async def call_tool(ctx, params):
        try:
            reply = await anyio.to_thread.run_sync(tools.call, params.name, params.arguments, limiter=one_at_a_time)
        except VsearchError as exc:
            return failed(display(str(exc)))
        except Exception as exc:
            if os.environ.get("VSEARCH_DEBUG"):
                import traceback

                traceback.print_exc()
            return failed(f"internal error: {type(exc).__name__}: {display(str(exc))} "
                          "(VSEARCH_DEBUG=1 writes a traceback to the server's log)")
        return types.CallToolResult(content=[types.TextContent(type="text", text=reply.text)],
                                    structured_content=reply.data)

    server = Server("vsearch", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                    on_call_tool=call_tool)

    async def serve():
        async with stdio_server() as (read, write):
            # The models load while the assistant starts: its first call waits for them, not its handshake.
            threading.Thread(target=tools.warm, daemon=True, name="vsearch-warm").start()
            await server.run(read, write, server.create_initialization_options())

    try:
        anyio.run(serve)
    finally:
        tools.close()
