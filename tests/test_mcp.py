"""`vsearch mcp` as an assistant meets it: the real process on stdio, through the MCP SDK's own
client and once as raw JSON-RPC lines; each tool's good and bad arguments (README, "Assistants")."""

import json
import os
import subprocess
import sys

import anyio
import pytest
from conftest import run_cli

TOOLS = {"find_moments", "get_transcript", "list_chapters", "list_videos", "cut_clip"}


@pytest.fixture(scope="module")
def lib(rgb_video, tmp_path_factory):
    """The 12 s red/green/blue video, its subtitles ("now the grass appears" at 4.5-6.5 s) indexed
    into a private home; (the video's indexed path, the server's environment, its clip folder)."""
    root = tmp_path_factory.mktemp("mcp")
    env = {"VSEARCH_HOME": str(root / "home"), "VSEARCH_MODEL": "test-colors", "VSEARCH_TEXT_MODEL": "image",
           "VSEARCH_PLUGINS": "vsearch.testing.color_encoder", "VSEARCH_BUSY_TIMEOUT": "3", "VSEARCH_ASR_MODE": "off",
           "VSEARCH_OCR_MODE": "off", "VSEARCH_AUDIO_MODE": "off", "VSEARCH_SERVE_HOLD": "0.2",
           "VSEARCH_MCP_OUTPUT_DIR": str(root / "clips"), "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"],
           "PATH": os.environ["PATH"]}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        run_cli("index", str(rgb_video))
    return str(rgb_video.resolve()), env, root / "clips"


def _session(env: dict, steps) -> None:
    """Start `vsearch mcp` with `env` through the SDK's stdio client, initialize, and run `steps(session)`."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    async def main():
        server = StdioServerParameters(command=sys.executable, args=["-m", "vsearch", "mcp"], env=env)
        async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
            assert (await session.initialize()).server_info.name == "vsearch"
            await steps(session)

    anyio.run(main)


async def _ok(session, tool: str, **arguments) -> dict:
    """A call's structured content; the call must have succeeded."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    assert result.content[0].text and result.structured_content is not None
    return result.structured_content


async def _error(session, tool: str, arguments) -> str:
    """A call's one-line error; the call must have failed as a tool error, not a crash."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    [text] = [c.text for c in result.content]
    assert "\n" not in text and "Traceback" not in text
    return text


def test_the_tools_are_listed_with_their_schemas_and_find_answers_the_subtitle_moment(lib):
    video, env, _ = lib

    async def steps(session):
        listed = {t.name: t for t in (await session.list_tools()).tools}
        assert set(listed) == TOOLS
        for tool in listed.values():
            assert tool.description and tool.input_schema["additionalProperties"] is False
        assert listed["find_moments"].input_schema["required"] == ["query"]
        assert listed["cut_clip"].annotations.read_only_hint is False
        assert listed["find_moments"].annotations.read_only_hint is True

        found = await _ok(session, "find_moments", query="grass", k=3)
        best = found["results"][0]
        assert (best["video"], best["cue"], best["source"]) == (video, "now the grass appears", "subtitle")
        assert best["start"] <= 4.5 < best["end"] and best["start"] <= best["seek"] < best["end"]
        assert best["url"].startswith("file://") and best["player"].startswith("mpv --start=")
        # The same find, narrowed to the video by its id and to subtitles.
        again = await _ok(session, "find_moments", query="grass", video=best["video_id"], source="subtitles")
        assert again["results"][0]["cue"] == "now the grass appears"
        # Hostile text is only a query: searched for, never run or parsed.
        await _ok(session, "find_moments", query="<script>alert(1)</script>' OR 1=1; \"$(rm -rf ~)\" ../../..",
                  video=os.path.dirname(video))
        # Nothing found is an empty answer with its note, not an error (no screen text was read).
        nothing = await _ok(session, "find_moments", query="grass", source="shown")
        assert nothing["results"] == [] and "no matching moments" in nothing["note"]
        # Every colour alike: nothing passes the bar; the note names the closest, all=true shows them.
        under = await _ok(session, "find_moments", query="red green blue yellow")
        assert under["results"] == [] and under["closest"]["video"] == video and "all=true" in under["note"]
        assert (await _ok(session, "find_moments", query="red green blue yellow", all=True))["results"]

    _session(env, steps)


def test_transcript_chapters_and_videos(lib):
    video, env, _ = lib

    async def steps(session):
        [listed] = (await _ok(session, "list_videos"))["videos"]
        assert (listed["path"], listed["state"], listed["duration"]) == (video, "done", 12.0)
        said = await _ok(session, "get_transcript", video=video)
        assert said["source"] == "subtitle" and "its subtitles" in said["notes"][0]  # no speech transcribed
        assert {c["text"] for c in said["cues"]} == {"now the grass appears", "这里讲向量数据库"}
        around = await _ok(session, "get_transcript", video=listed["video_id"], start=4, end=7)
        assert [(c["start"], c["end"], c["text"]) for c in around["cues"]] == [(4.5, 6.5, "now the grass appears")]
        chapters = (await _ok(session, "list_chapters", video=video))["chapters"]
        assert chapters[0]["start"] == 0 and chapters[-1]["end"] == 12.0 and all(c["title"] for c in chapters)

    _session(env, steps)


def test_bad_arguments_are_tool_errors_naming_the_field(lib):
    video, env, _ = lib

    async def steps(session):
        bad = {
            ("find_moments", "query is over 1000 characters"): {"query": "x" * 10_000},
            ("find_moments", "k must be between 1 and 1000"): {"query": "grass", "k": 10**6},
            ("find_moments", "k must be an integer"): {"query": "grass", "k": "5"},
            ("find_moments", "query is required"): {"k": 3},
            ("find_moments", "source must be one of"): {"query": "grass", "source": "smelled"},
            ("find_moments", "unknown argument 'top_k'"): {"query": "grass", "top_k": 3},
            ("find_moments", "not indexed: /nowhere/x.mp4"): {"query": "grass", "video": "/nowhere/x.mp4"},
            ("find_moments", "not indexed: ../../etc/passwd"): {"query": "grass", "video": "../../etc/passwd"},
            ("get_transcript", "not indexed: /etc/passwd"): {"video": "/etc/passwd"},
            ("get_transcript", "not indexed: 123"): {"video": "123"},
            ("get_transcript", "start must be at least 0"): {"video": video, "start": -5},
            ("get_transcript", "end must be after start"): {"video": video, "start": 6, "end": 2},
            ("get_transcript", "no ocr cues"): {"video": video, "source": "shown"},
            ("list_chapters", "video must be at most 4096 characters"): {"video": "/" * 10_000},
            ("cut_clip", "start must be at least 0"): {"video": video, "start": -3, "end": 2},
            ("cut_clip", "longer than 600 s"): {"video": video, "start": 0, "end": 10**6},
            ("cut_clip", "only 12 s long"): {"video": video, "start": 20, "end": 25},
            ("cut_clip", "end is required"): {"video": video, "start": 1},
            ("cut_clip", "end is out of range"): {"video": video, "start": 1, "end": 10**400},
            ("no_such_tool", "no tool 'no_such_tool'"): {},
        }
        for (tool, said), arguments in bad.items():
            assert said in await _error(session, tool, arguments), (tool, arguments)
        assert (await _ok(session, "find_moments", query="grass"))["results"]  # still serving
        assert "k must be an integer" in await _error(session, "find_moments", {"query": "grass", "k": 2.5})
        assert len((await _ok(session, "find_moments", query="grass", k=1.0))["results"]) == 1  # JSON's 1.0 is 1

    _session(env, steps)


def test_cut_clip_writes_a_new_file_only_into_its_folder(lib, tmp_path):
    from vsearch.extract.probe import declared_duration

    video, env, clips = lib
    victim = tmp_path / "victim.mp4"
    victim.write_bytes(b"not mine")

    async def steps(session):
        first = await _ok(session, "cut_clip", video=video, start=4.5, end=6.5)
        assert os.path.dirname(first["path"]) == str(clips) and abs(declared_duration(first["path"]) - 2) < 0.2
        # A name taken, by a clip or by a link someone put there, is left as it is: the next is used.
        taken = first["path"].replace(".mp4", "-2.mp4")
        os.symlink(victim, taken)
        second = await _ok(session, "cut_clip", video=video, start=4.5, end=6.5)
        assert second["path"] == first["path"].replace(".mp4", "-3.mp4")
        assert victim.read_bytes() == b"not mine" and os.readlink(taken) == str(victim)

    before = set(os.listdir(clips)) if clips.exists() else set()
    _session(env, steps)
    made = set(os.listdir(clips)) - before
    assert {name.rsplit("-", 1)[-1] for name in made} == {"6.5.mp4", "2.mp4", "3.mp4"}, made  # no temporary file


def test_the_wire_is_newline_delimited_json_rpc(lib):
    """The exchange an assistant has, written by hand: no SDK on this side."""
    _, env, _ = lib
    server = subprocess.Popen([sys.executable, "-m", "vsearch", "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8")

    def ask(message: dict) -> dict | None:
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
        if "id" not in message:
            return None
        answer = json.loads(server.stdout.readline())  # every line on stdout is one JSON-RPC message
        assert answer["jsonrpc"] == "2.0" and answer["id"] == message["id"], answer
        return answer

    try:
        hello = ask({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "by-hand", "version": "0"}}})
        assert hello["result"]["protocolVersion"] == "2025-06-18" and "tools" in hello["result"]["capabilities"]
        assert hello["result"]["serverInfo"]["name"] == "vsearch"
        ask({"jsonrpc": "2.0", "method": "notifications/initialized"})
        listed = ask({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})["result"]["tools"]
        assert {t["name"] for t in listed} == TOOLS and all("inputSchema" in t for t in listed)
        found = ask({"jsonrpc": "2.0", "id": "three", "method": "tools/call",
                     "params": {"name": "find_moments", "arguments": {"query": "grass", "k": 1}}})["result"]
        assert found["structuredContent"]["results"][0]["cue"] == "now the grass appears"
        assert found["content"][0]["type"] == "text" and "grass" in found["content"][0]["text"]
        assert not found.get("isError")
        bad = ask({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                   "params": {"name": "cut_clip", "arguments": {"video": "x", "start": -1, "end": 1e308}}})
        assert bad["result"]["isError"] is True and "not indexed" in bad["result"]["content"][0]["text"]
        assert "result" in ask({"jsonrpc": "2.0", "id": 5, "method": "ping"})
    finally:
        rest, errors = server.communicate(timeout=30)  # closes stdin: how an assistant ends it
    assert server.returncode == 0 and rest == "", errors
    assert "Traceback" not in errors


def test_without_the_extra_one_line_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # as where it is not installed: importing it fails
    result = run_cli("mcp", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["vsearch: error: `vsearch mcp` needs the MCP SDK: "
                                                  "pip install 'vsearch[mcp]'"]


def test_the_command_line_does_not_load_the_sdk():
    loaded = subprocess.run([sys.executable, "-c", "import sys, vsearch.cli; print(sorted(m for m in sys.modules "
                             "if m.split('.')[0] in ('mcp', 'mcp_types', 'anyio', 'torch')))"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_an_empty_index_is_a_tool_error_and_the_server_stays(lib, tmp_path):
    _, env, _ = lib

    async def steps(session):
        for _ in range(2):  # no models chosen yet: each call looks again
            assert "the index is empty" in await _error(session, "list_videos", {})

    _session({**env, "VSEARCH_HOME": str(tmp_path / "empty")}, steps)


def test_a_name_that_is_not_utf8_still_travels(env, tmp_path):
    """JSON-RPC is UTF-8: a file name's undecodable bytes go as \\xNN, and its id still names the file."""
    import mcp.types as types

    from vsearch.mcp_tools import Tools
    from vsearch.settings import load_settings
    from vsearch.testing.media import colour_video

    video = colour_video(tmp_path / os.fsdecode(b"caf\xe9.mp4"), [("red", 2)])
    run_cli("index", str(video))
    tools = Tools(load_settings())
    try:
        [listed] = tools.call("list_videos", {}).data["videos"]
        assert listed["path"].endswith("caf\\xe9.mp4")
        reply = tools.call("cut_clip", {"video": listed["video_id"], "start": 0, "end": 1})
    finally:
        tools.close()
    assert reply.data["video"].endswith("caf\\xe9.mp4") and os.path.exists(reply.data["path"])
    types.CallToolResult(content=[types.TextContent(type="text", text=reply.text)],
                         structured_content=reply.data).model_dump_json()  # raised on a lone surrogate


def test_a_full_clip_folder_takes_no_more_clips(env, tmp_path):
    """mcp.max_clips bounds what an assistant looping on cut_clip leaves on disk."""
    from vsearch.extract.errors import VsearchError
    from vsearch.mcp_tools import Tools
    from vsearch.settings import load_settings
    from vsearch.testing.media import colour_video

    video = colour_video(tmp_path / "red.mp4", [("red", 2)])
    run_cli("index", str(video))
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / ".a.vsearch-part.mp4").write_bytes(b"")  # a killed cut's part file, a folder, a link: no clips
    (clips / "dir.mp4").mkdir()
    (clips / "link.mp4").symlink_to(video)
    tools = Tools(load_settings(flags={"mcp.output_dir": str(clips), "mcp.max_clips": 2}))
    try:
        for end in (1, 2):
            tools.call("cut_clip", {"video": str(video), "start": 0, "end": end})
        with pytest.raises(VsearchError, match=r"holds 2 clips \(mcp.max_clips\): delete some there"):
            tools.call("cut_clip", {"video": str(video), "start": 0, "end": 1.5})
        (clips / "red-0-1.mp4").unlink()
        tools.call("cut_clip", {"video": str(video), "start": 0, "end": 1.5})
    finally:
        tools.close()
    assert sorted(os.listdir(clips)) == [".a.vsearch-part.mp4", "dir.mp4", "link.mp4", "red-0-1.5.mp4", "red-0-2.mp4"]
    held = sum(os.path.getsize(clips / name) for name in ("red-0-1.5.mp4", "red-0-2.mp4"))
    tools = Tools(load_settings(flags={"mcp.output_dir": str(clips), "mcp.max_clips_gb": held / 1e9}))
    try:
        with pytest.raises(VsearchError, match=r"holds [0-9.e-]+ GB of clips \(mcp.max_clips_gb\)"):
            tools.call("cut_clip", {"video": str(video), "start": 0, "end": 1})
    finally:
        tools.close()
