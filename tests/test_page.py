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
    page.goto(page_url)
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    first = page.evaluate("window.vsearch.results[0]")
    # The moment begins with its shot, green from 6 s (find.snap), and plays from the words at 7 s.
    assert (first["start"], first["seek"], first["shot_start"]) == (6.0, 7.0, 6.0) and first["source"] == "subtitle"
    # The colour model's text tower, the cue model here, reads no paraphrases: the page says so.
    assert page.text_content("#status") == "text " + first["notes"]["cues"]
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
    page.keyboard.press("/")  # focuses and selects the query, ready to type over
    assert page.evaluate("[document.activeElement.id, document.activeElement.selectionStart, "
                         "document.activeElement.selectionEnd]") == ["q", 0, len("lighthouse")]
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
