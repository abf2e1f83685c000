"""The search page in a real browser: Debian's chromium driven by playwright (no browser download)."""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import free_port, run_cli

from vsearch.testing.media import colour_video, write_vtt

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install -y chromium (.ci/run does)")]
# A file name and cues that would run script if the page ever parsed index text as HTML.
NAME = '<img src=x onerror="window.pwned=1"> talk'
XSS = '<script>window.pwned=2</script> "><img src=y onerror="window.pwned=3"> javascript:alert(4) beacon'
# Subtitle markup is stripped when read; written as entities, the same text survives as text.
XSS_VTT = XSS.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@pytest.fixture
def page_url(env, tmp_path, monkeypatch):
    """A real server (uvicorn in a thread) over a VP9 WebM, which any chromium plays."""
    from vsearch.settings import load_settings
    from vsearch.web import create_app

    video = colour_video(tmp_path / f"{NAME}.webm", [("red", 6), ("green", 6), ("blue", 4), ("green", 4)],
                         codec="libvpx-vp9")
    write_vtt(tmp_path / f"{NAME}.en.vtt", [(2.0, 4.0, "he stole the stolen map"), (7.0, 9.5, "the lighthouse keeper speaks"),
                                           (14.0, 16.0, XSS_VTT)])
    run_cli("index", str(video))
    yield from _served(create_app(load_settings()))


def _served(app):
    """A real uvicorn server of `app` in a thread; yields its URL, then stops it."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=20)


def _marking(page, notes=None, strip=False):
    """/api/find's answers to `page` as the server sends them, or without "marks" with `strip`;
    `notes` (a function) rewrites the notes."""
    def answer(route):
        response = route.fetch()
        body = response.json()
        for r in body.get("results", []) if strip else []:
            r.pop("marks", None)
        if notes:
            body["notes"] = notes(body.get("notes", {}))
        route.fulfill(response=response, json=body)

    page.route("**/api/find?*", answer)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox",
                                                                    "--autoplay-policy=no-user-gesture-required"])
        yield launched
        launched.close()


def test_search_click_and_the_player_lands_on_the_seek(page_url, browser, tmp_path):
    # bypass_csp: playwright's waiting evaluates script text, which the page's policy forbids.
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _marking(page)
    page.goto(page_url)
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    first = page.evaluate("window.vsearch.results[0]")
    # The moment begins with its shot, green from 6 s (find.snap), and plays from the words at 7 s.
    assert (first["start"], first["seek"], first["shot_start"]) == (6.0, 7.0, 6.0) and first["source"] == "subtitle"
    # The colour model's text tower, the cue model here, reads no paraphrases: the page says so.
    status = page.text_content("#status")
    assert status.startswith("text " + first["notes"]["cues"] + " · ")
    assert status.endswith("seen: 20 frames are too few for a background")
    assert page.get_attribute("#status", "class") == "note"
    with page.expect_download() as downloading:  # every moment shown, as an edit list
        page.click("#export a[data-format=otio]")
    import opentimelineio as otio

    clips = list(otio.adapters.read_from_file(downloading.value.path(), "otio_json").find_clips())
    shown = page.evaluate("window.vsearch.results.map(r => [r.start, r.end])")
    assert [[c.source_range.start_time.to_seconds(), c.source_range.end_time_exclusive().to_seconds()]
            for c in clips] == shown
    page.click(".card >> nth=0")
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {first['seek']}) < 1",
                           timeout=20000)
    assert page.eval_on_selector(".card mark", "m => m.textContent").lower() == "lighthouse"
    shot = Path(os.environ.get("VSEARCH_SCREENSHOT") or tmp_path / "page.png")
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.click("#similar")  # more like the moment playing: the other stretches of the video
    page.wait_for_function("window.vsearch.results.length > 0 && window.vsearch.results[0].start === 16")
    page.fill("#q", "zebra stampede")  # nothing found: the page says so, and why
    page.press("#q", "Enter")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('no matching moments · text left out')")
    assert page.evaluate("document.querySelectorAll('.card').length") == 0 and page.is_hidden("#export")
    assert not errors


@pytest.fixture
def short_chapters(env, monkeypatch):
    monkeypatch.setenv("VSEARCH_CHAPTERS_MIN_LENGTH", "3")  # the test video is 20 s long


def test_the_player_marks_where_chapters_begin(short_chapters, page_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page.goto(page_url)
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    page.click(".card >> nth=0")
    page.wait_for_selector("#marks .chapter", state="attached")
    vid = page.evaluate("window.vsearch.results[0].video_id")
    chapters = page.evaluate(f"fetch('/api/chapters?video_id={vid}').then(r => r.json())")["chapters"]
    ticks = page.eval_on_selector_all("#marks .chapter", "ts => ts.map(t => [t.style.left, t.title])")
    assert len(chapters) >= 2 and len(ticks) == len(chapters) - 1
    for (left, title), chapter in zip(ticks, chapters[1:]):
        assert abs(float(left.rstrip("%")) - 100 * chapter["start"] / chapters[-1]["end"]) < 0.01
        assert title.endswith(chapter["title"])


@pytest.fixture
def high_bar(env, monkeypatch):
    monkeypatch.setenv("VSEARCH_FIND_MIN_SCORE", "5")  # over any moment's score: every one is under the bar


def test_nothing_over_the_bar_names_the_closest_and_shows_all_on_a_click(high_bar, page_url, browser):
    page = browser.new_page(bypass_csp=True)
    page.goto(page_url)
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_function("document.getElementById('status').textContent.includes('closest under the bar')")
    assert page.evaluate("document.querySelectorAll('.card').length") == 0
    assert NAME in page.text_content("#status")  # the file's name, as text
    page.click("#status button.all")
    page.wait_for_selector(".card")
    assert "lighthouse" in page.eval_on_selector(".card .cue", "c => c.textContent")


def test_text_from_videos_is_shown_as_text_never_run(page_url, browser):
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#q", "beacon")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    cue = page.eval_on_selector(".card .cue", "c => c.textContent")
    name = page.eval_on_selector(".card .name", "n => n.textContent")
    assert cue == XSS and name == f"{NAME}.webm"
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.querySelectorAll('#results script, #results img:not(.thumb)').length") == 0
    page.keyboard.press("ArrowDown")  # from the search box to the first result
    page.wait_for_selector(".card.active")


def test_a_sound_dropped_on_the_page_finds_where_it_is_heard(env, tmp_path, monkeypatch, browser):
    from vsearch.settings import load_settings
    from vsearch.testing.media import ffmpeg, sound_video
    from vsearch.web import create_app

    for name, value in {"VSEARCH_PLUGINS": "vsearch.testing.color_encoder,vsearch.testing.tone_encoder", "VSEARCH_AUDIO_MODEL": "test-tones",
                        "VSEARCH_AUDIO_MODE": "on"}.items():
        monkeypatch.setenv(name, value)
    video = sound_video(tmp_path / "tones.mp4", [("silence", 3), ("whistle", 3), ("hum", 3)])
    clip = sound_video(tmp_path / "clip.mp4", [("whistle", 2)])
    ffmpeg("-i", str(clip), "-vn", "-c:a", "libopus", str(tmp_path / "whistle.ogg"))
    run_cli("index", str(video))
    url = next(served := _served(create_app(load_settings())))
    try:
        page = browser.new_page(bypass_csp=True)
        page.goto(url)
        page.set_input_files("#image", str(tmp_path / "whistle.ogg"))
        page.wait_for_selector(".card")
        first = page.evaluate("window.vsearch.results[0]")
        assert first["source"] == "audio" and abs(first["seek"] - 3.0) <= 1.0
        assert page.eval_on_selector(".card .sense", "s => s.textContent") == "heard"
    finally:
        next(served, None)


def _no_sideways_scroll(page, *selectors: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    for selector in selectors:
        box = page.eval_on_selector(selector, "n => { const r = n.getBoundingClientRect(); return [r.left, r.right]; }")
        assert box[0] >= 0 and box[1] <= page.viewport_size["width"] + 0.5, (selector, box)


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_the_page_fits_a_phone_and_a_desktop(page_url, browser, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height}, bypass_csp=True)
    page.goto(page_url)
    _no_sideways_scroll(page, "header", "#q")
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    page.click(".card >> nth=0")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20000)
    _no_sideways_scroll(page, "header", "#player", "#results", ".card")
    player = page.eval_on_selector("#player", "n => n.getBoundingClientRect().width")
    assert player > width * (0.8 if width < 700 else 0.4)  # one column on a phone: the player spans it
    assert page.eval_on_selector(".when", "n => getComputedStyle(n).whiteSpace") == "nowrap"
    shot = tmp_path / f"page-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_errors_notes_keys_and_words(page_url, browser, tmp_path):
    from vsearch.testing.media import ffmpeg

    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    _marking(page)
    page.goto(page_url)
    page.press("#q", "Enter")  # an empty query
    assert page.text_content("#status") == "query is empty"
    page.fill("#q", "stole map")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    # Whole words are marked: "stole", not the start of "stolen".
    assert page.eval_on_selector_all(".card >> nth=0 >> mark", "ms => ms.map(m => m.textContent)") == ["stole", "map"]
    # A sound with no sounds indexed: the server's 503 where the query is typed, the old results gone.
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=880:duration=1", str(tmp_path / "beep.ogg"))
    page.set_input_files("#image", str(tmp_path / "beep.ogg"))
    page.wait_for_function("document.getElementById('status').className === 'error'")
    assert "no sounds to search" in page.text_content("#status")
    assert page.evaluate("document.querySelectorAll('.card').length") == 0
    page.fill("#q", "lighthouse")  # the next search clears the error
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    assert page.get_attribute("#status", "class") == "note"
    page.click(".card >> nth=0")
    page.keyboard.press("/")  # from a result: focuses and selects the query, ready to type over
    assert page.evaluate("[document.activeElement.id, document.activeElement.selectionStart, "
                         "document.activeElement.selectionEnd]") == ["q", 0, len("lighthouse")]
    page.unroute_all()  # with any route set, playwright's chromium fails every fetch of /favicon.ico
    assert page.evaluate("fetch('/favicon.ico').then(r => r.headers.get('content-type'))") == "image/svg+xml"


def test_the_page_speaks_chinese_to_a_chinese_browser(page_url, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    page.goto(page_url)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.get_attribute("#q", "placeholder").startswith("想找什么")
    assert page.text_content("#search button") == "搜索"
    assert "Noto Sans CJK SC" in page.evaluate("getComputedStyle(document.body).fontFamily")
    page.press("#q", "Enter")
    assert page.text_content("#status") == "查询为空"
    page.fill("#q", "斑马")
    page.press("#q", "Enter")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('没有匹配的片段')")
    said = page.text_content("#status")
    assert "已略去文本信号" in said and "（实测）" in said and "left out" not in said, said
    context.close()


def test_slash_jumps_to_the_query_box_and_types_in_fields(page_url, browser):
    # As on GitHub or YouTube: nothing is focused on load, "/" outside a text field goes to the query box
    # (no stray slash in it), and in a text field it is typed.
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page.goto(page_url)
    assert page.evaluate("document.activeElement === document.body")
    assert page.get_attribute("#q", "aria-keyshortcuts") == "/" and "press /" in page.get_attribute("#q", "title")
    page.keyboard.press("/")
    assert page.evaluate("[document.activeElement.id, document.activeElement.value]") == ["q", ""]
    page.keyboard.type("/red")
    assert page.input_value("#q") == "/red"
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    page.focus("#speaker")
    page.keyboard.type("a/b")
    assert page.input_value("#speaker") == "a/b" and page.evaluate("document.activeElement.id") == "speaker"
    page.fill("#speaker", "")
    page.focus("#video")  # ↓ in a field with suggestions moves among them, not to the results
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.querySelectorAll('.card.active').length") == 0
    page.focus("#drop")
    page.keyboard.press("/")
    assert page.evaluate("[document.activeElement.id, document.activeElement.selectionStart, "
                         "document.activeElement.selectionEnd]") == ["q", 0, len("lighthouse")]


def test_the_player_shows_only_for_an_opened_result(page_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_url)
    assert page.is_hidden("#viewer") and page.is_hidden("#player")  # no empty black player before a search
    page.fill("#q", "beacon")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    assert page.is_hidden("#player")
    page.click(".card >> nth=0")
    seek = page.evaluate("window.vsearch.results[0].seek")
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {seek}) < 1", timeout=20000)
    assert page.is_visible("#player") and page.text_content("#now").startswith(page.text_content(".card .name"))
    closed = """(() => { const p = document.getElementById('player');
        return [document.getElementById('viewer').hidden, p.paused, p.hasAttribute('src'),
                document.getElementById('now').textContent, document.querySelectorAll('#marks .chapter').length,
                document.getElementById('clip').disabled, document.querySelectorAll('.card.active').length]; })()"""
    page.fill("#q", "lighthouse")  # a new search closes it: stopped, emptied, hidden
    page.press("#q", "Enter")
    page.wait_for_function("window.vsearch.results.length && window.vsearch.results[0].cue.includes('lighthouse')")
    assert page.evaluate(closed) == [True, True, False, "", 0, True, 0]
    page.keyboard.press(" ")  # Space plays nothing now
    assert page.evaluate(closed)[:3] == [True, True, False]
    page.click(".card >> nth=0")  # opened again: from the new result's seek
    seek = page.evaluate("window.vsearch.results[0].seek")
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {seek}) < 1", timeout=20000)
    page.click("#similar")  # "More like this" is a new search too: the other green stretch
    page.wait_for_function("window.vsearch.results.length > 0 && window.vsearch.results[0].start === 16")
    assert page.evaluate(closed) == [True, True, False, "", 0, True, 0]
    assert not errors


@pytest.fixture
def library_url(env, tmp_path):
    """Four friday.mp4 in different folders (one named like markup) and one unique name, served;
    yields (URL, the library's folder)."""
    from vsearch.settings import load_settings
    from vsearch.web import create_app

    lib = tmp_path / "lib"
    videos = []
    for folder, colour in [("2023", "red"), ("<i>2024", "green"), ("x/talks", "blue"), ("y/talks", "yellow")]:
        (lib / folder).mkdir(parents=True)
        videos.append(colour_video(lib / folder / "friday.mp4", [(colour, 4)]))
    write_vtt(lib / "2023" / "friday.en.vtt", [(1.0, 3.0, "The Keeper of the lighthouse speaks of the lighthouse")])
    write_vtt(lib / "<i>2024" / "friday.zh.vtt", [(1.0, 3.0, "这里讲向量数据库的部分")])
    videos.append(colour_video(lib / "unique.mp4", [("white", 4)]))
    run_cli("index", *map(str, videos))
    for url in _served(create_app(load_settings())):
        yield url, lib


def test_videos_of_one_name_show_as_much_of_their_folders_as_tells_them_apart(library_url, browser):
    url, lib = library_url
    shown = {"2023/friday.mp4": "…/2023/friday.mp4", "<i>2024/friday.mp4": "…/<i>2024/friday.mp4",
             "x/talks/friday.mp4": "…/x/talks/friday.mp4", "y/talks/friday.mp4": "…/y/talks/friday.mp4",
             "unique.mp4": "unique.mp4"}
    shown = {str((lib / path).resolve()): label for path, label in shown.items()}
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('#videos option').length === 5")
    listed = page.eval_on_selector_all("#videos option", "os => os.map(o => [o.value, o.label])")
    assert {str(Path(path).resolve()): label for path, label in listed} == shown  # the value: the path, the filter
    page.fill("#q", "red green blue yellow white")  # every video alike: none stands out, all are shown
    page.press("#q", "Enter")
    page.click("#status button.all")
    page.wait_for_selector(".card")
    titles = page.eval_on_selector_all(".card", "cs => cs.map(c => c.querySelector('.folder').textContent + "
                                                 "c.querySelector('.name').textContent)")
    videos = [str(Path(v).resolve()) for v in page.evaluate("window.vsearch.results.map(r => r.video)")]
    assert set(videos) == set(shown) and titles == [shown[v] for v in videos]
    assert page.evaluate("document.querySelectorAll('#results i').length") == 0  # a folder's name is text
    n = videos.index(str((lib / "<i>2024/friday.mp4").resolve()))
    page.click(f".card >> nth={n}")
    assert page.text_content("#now").startswith("…/<i>2024/friday.mp4  ")


def test_notes_name_a_model_by_its_short_name(page_url, browser):
    import re

    local = "/home/u/.venv/lib/python3.11/site-packages/vsearch/models/clip-vit-b32/"
    real = {}

    def notes(got):  # the server's own sentence, its model loaded from a folder; a hub id; another shape
        real.update(got)
        return {"cues": re.sub(r"(?<= model )\S+(?= does not )", local, got["cues"]),
                "audio": "left out: the sound model laion/clap-htsat-unfused reads latin text, and this query is han",
                "frames": "left out: the image model C:\\Users\\u\\models\\siglip could not be read"}

    for locale, said in [("en-US", "no matching moments · text {cues} · heard left out: the sound model "
                                   "laion/clap-htsat-unfused reads latin text, and this query is han · "
                                   "seen left out: the image model siglip could not be read"),
                         ("zh-CN", "没有匹配的片段 · 已略去文本信号：文本模型 clip-vit-b32 无法分辨该文字的近义表达（实测），查询为拉丁字母"
                                   " · 已略去声音信号：声音模型 laion/clap-htsat-unfused 只读拉丁字母文本，而此查询为中文"
                                   " · 已略去画面信号：the image model siglip could not be read")]:
        context = browser.new_context(locale=locale, bypass_csp=True)
        page = context.new_page()
        _marking(page, notes=notes)
        page.goto(page_url)
        page.fill("#q", "zebra stampede")
        page.press("#q", "Enter")
        page.wait_for_function("document.getElementById('status').textContent.includes('siglip')")
        assert re.fullmatch(r"left out: the text model \S+ does not tell latin paraphrases apart \(measured\)", real["cues"])
        cues = re.sub(r"(?<= model )\S+(?= does not )", "clip-vit-b32", real["cues"])
        assert page.text_content("#status") == said.format(cues=cues)
        context.close()


def test_only_the_query_s_distinctive_words_are_marked(library_url, browser):
    from vsearch.index.tokens import STOP_WORDS

    url, _ = library_url
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    _marking(page)
    page.goto(url)
    marked = "cs => cs.map(c => [c.querySelector('.cue').textContent, [...c.querySelectorAll('mark')].map(m => m.textContent)])"
    for query, cue, marks in [
        ("the part about the lighthouse keepers", "The Keeper of the lighthouse speaks of the lighthouse",
         ["Keeper", "lighthouse", "lighthouse"]),  # stop words never, a plural by its stem, any case
        ("讲向量数据库的部分", "这里讲向量数据库的部分", ["向量", "数据库"]),  # jieba's words, not 讲, 的 or 部分
    ]:
        page.fill("#q", query)
        page.press("#q", "Enter")
        page.wait_for_function(f"window.vsearch.results.some(r => r.cue === {cue!r})")
        cards = page.eval_on_selector_all(".card", marked)
        assert [m for c, m in cards if c == cue] == [marks]
        assert not {m.lower() for _, ms in cards for m in ms} & STOP_WORDS


def test_without_marks_nothing_is_marked(page_url, browser):
    page = browser.new_page(bypass_csp=True)
    _marking(page, strip=True)
    page.goto(page_url)
    page.fill("#q", "the stole map")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    assert "he stole the stolen map" in page.eval_on_selector_all(".card .cue", "cs => cs.map(c => c.textContent)")
    assert page.evaluate("document.querySelectorAll('#results mark').length") == 0


def test_the_server_marks_the_distinctive_words(page_url, browser):
    from vsearch.index.tokens import STOP_WORDS

    page = browser.new_page(bypass_csp=True)
    page.goto(page_url)
    page.fill("#q", "the stole map")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    results = page.evaluate("window.vsearch.results")
    assert all(isinstance(r.get("marks"), list) for r in results)
    assert not {m for r in results for m in r["marks"]} & STOP_WORDS
    stole = [r["cue"] for r in results].index("he stole the stolen map")
    assert page.eval_on_selector_all(f".card >> nth={stole} >> mark", "ms => ms.map(m => m.textContent)") == ["stole", "map"]
