"""extract/pictures.py: a query picture decodes within a memory budget, shrunk, two at a time."""

import io
import struct
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from vsearch.extract.errors import MediaError
from vsearch.extract import pictures
from vsearch.extract.frames import fit
from vsearch.extract.opening import FrameSpec
from vsearch.extract.pictures import read_picture

# Decodes one picture file in a fresh process, as picture_vector does for a 224-pixel model, and
# prints how many MB its RSS rose at the peak, then the picture's shape or the error.
MEASURE = """
import resource, sys
import psutil
from vsearch.extract.errors import MediaError
from vsearch.extract.pictures import read_picture

data = open(sys.argv[1], "rb").read()
# The peak so far (imports may have freed what they took), so only a higher peak counts.
before = max(psutil.Process().memory_info().rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
try:
    outcome = read_picture(data, "q.png", 896).shape
except MediaError as exc:
    outcome = str(exc)
print(max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before) >> 20)  # ru_maxrss: kB on Linux
print(outcome)
"""


def png16(width: int, height: int, channels: int) -> bytes:
    """A 16-bit RGB (3) or RGBA (4) PNG, every row the first: a few hundred kB for 7000x7000."""
    row = np.linspace(0, 65535, width * channels).astype(">u2").tobytes()
    up = b"\2" + bytes(len(row))  # filter "Up" with nothing to add: the row above again
    deflate = zlib.compressobj(6)
    body = deflate.compress(b"\0" + row) + b"".join(deflate.compress(up) for _ in range(height - 1))
    header = struct.pack(">IIBBBBB", width, height, 16, {3: 2, 4: 6}[channels], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body + deflate.flush()) + _chunk(b"IEND")


def _chunk(kind: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encoded(pixels: np.ndarray | Image.Image, fmt: str, **options) -> bytes:
    """`pixels` saved as `fmt`."""
    out = io.BytesIO()
    (pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)).save(out, fmt, **options)
    return out.getvalue()


def scene(width: int = 1920, height: int = 1080) -> np.ndarray:
    """A screenshot-like picture: gradients, hard-edged blocks and a little noise."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], -1)
    pixels[(x // 160 + y // 90) % 5 == 0] = (250, 250, 240)
    noise = np.random.default_rng(0).integers(-8, 9, pixels.shape)
    return np.clip(pixels + noise, 0, 255).astype(np.uint8)


def rss_growth(path) -> tuple[int, str]:
    """The peak RSS growth in MB of decoding the picture file `path` in a fresh process, and its outcome."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
    growth, outcome = done.stdout.splitlines()
    return int(growth), outcome


def all_released() -> bool:
    """Whether both decode slots are free."""
    taken = [pictures._DECODES.acquire(blocking=False) for _ in range(2)]
    for _ in filter(None, taken):
        pictures._DECODES.release()
    return all(taken)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB")
@pytest.mark.parametrize("channels", [3, 4])
def test_a_small_png_of_a_huge_16_bit_picture_is_refused_before_it_is_decoded(tmp_path, channels):
    # Before the budget, this 7000x7000 PNG (under 400 kB) cost 655 MB at the peak.
    path = tmp_path / "bomb.png"
    path.write_bytes(png16(7000, 7000, channels))
    assert path.stat().st_size < 1_000_000
    growth, outcome = rss_growth(path)
    assert growth < 150, (growth, outcome)
    assert outcome.startswith("q.png: 7000x7000 would take 196 MB") and outcome.endswith("; scale it down")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB")
def test_a_large_picture_within_the_budget_costs_about_its_decoded_size(tmp_path):
    path = tmp_path / "large.png"
    path.write_bytes(png16(5000, 5000, 3))  # 100 MB decoded: Pillow holds 16-bit RGB as 8-bit RGBX
    growth, outcome = rss_growth(path)
    assert outcome == "(1000, 1000, 3)"  # 5x smaller, the short side still at least 896
    assert growth < 150, growth


def test_an_8k_screenshot_is_within_the_budget():
    data = encoded(Image.new("RGBA", (7680, 4320), (20, 40, 60, 255)), "PNG")
    pixels = read_picture(data, "8k.png", 896)
    assert pixels.shape == (1080, 1920, 3) and (pixels == (20, 40, 60)).all()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("max_side", [None, 896, 256])
def test_a_full_hd_picture_gives_the_model_what_a_full_decode_would(fmt, max_side):
    data = encoded(scene(), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    with Image.open(io.BytesIO(data)) as image:
        full = np.asarray(image.convert("RGB"))
    pixels = read_picture(data, "hd", max_side)
    if max_side is None:
        assert np.array_equal(pixels, full)
    else:
        assert min(pixels.shape[:2]) >= max_side
    spec = FrameSpec(224, 224)
    difference = np.abs(fit(pixels, spec).astype(int) - fit(full, spec).astype(int)).mean()
    assert difference < 1.5, difference


def test_16_bit_grey_keeps_its_tones():
    grey = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    pixels = read_picture(encoded(grey, "PNG"), "grey.png")
    assert np.array_equal(pixels, np.repeat((grey >> 8).astype(np.uint8)[..., None], 3, -1))


def test_a_progressive_jpeg_counts_the_coefficients_it_keeps_at_full_size(monkeypatch):
    monkeypatch.setattr(pictures, "_MAX_DECODED_BYTES", 1_000_000)
    photo = scene(800, 600)
    assert read_picture(encoded(photo, "JPEG"), "baseline.jpg", 100).shape == (150, 200, 3)  # decoded at 1/4
    with pytest.raises(MediaError, match="800x600 would take 1 MB"):  # 800x600, 4:2:0: 1.44 MB of coefficients
        read_picture(encoded(photo, "JPEG", progressive=True), "progressive.jpg", 100)


def test_no_more_than_two_pictures_decode_at_once(monkeypatch):
    inside, most, lock = [0], [0], threading.Lock()
    pair = threading.Barrier(2, timeout=20)  # each decode waits for a second one inside with it
    convert = pictures._rgb

    def counted(image, factor):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            pair.wait()
            return convert(image, factor)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(pictures, "_rgb", counted)
    data = encoded(Image.new("RGB", (2000, 2000), "teal"), "PNG")  # 16 MB decoded each
    shapes = []
    threads = [threading.Thread(target=lambda: shapes.append(read_picture(data, "big", 500).shape)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shapes == [(500, 500, 3)] * 4
    assert most[0] == 2
    assert all_released()


def broken_png() -> bytes:
    """A valid PNG with its compressed pixels overwritten."""
    data = bytearray(encoded(scene(320, 240), "PNG"))
    start = data.index(b"IDAT") + 40
    data[start : start + 200] = bytes(range(200))
    return bytes(data)


@pytest.mark.parametrize("data", [b"", b"not a picture\n", b"<html><body>hi</body></html>",
                                  b"\x89PNG\r\n\x1a\n" + b"x" * 50,
                                  encoded(scene(320, 240), "PNG")[:3000], encoded(scene(320, 240), "JPEG")[:2000],
                                  broken_png()], ids=["empty", "text", "html", "png-signature", "cut-png", "cut-jpeg",
                                                      "broken-png"])
def test_what_is_not_a_whole_picture_gives_one_line(data):
    with pytest.raises(MediaError) as caught:
        read_picture(data, "upload", 896)
    assert str(caught.value).startswith("upload: ") and "\n" not in str(caught.value)
    assert all_released()


def test_an_icon_that_hides_a_huge_picture_is_never_decoded(tmp_path):
    """Pillow decodes an ICO's embedded PNG while opening it, before any budget can be checked."""
    inner = png16(7000, 7000, 4)
    icon = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(inner), 22) + inner
    path = tmp_path / "bomb.ico"
    path.write_bytes(icon)
    growth, outcome = rss_growth(path)
    assert growth < 150 and "not an image vsearch reads" in outcome, (growth, outcome)
