"""The one measure of "the picture changed" (extract/change.py): pure cases on drawn pixels, then
every kind of slide a lecture shows, generated with ffmpeg and read by the real RapidOCR."""

import numpy as np
import pytest

from vsearch.extract.change import ChangeOptions, Scene, look, thumbnail
from vsearch.extract.ocr import OcrOptions, ScreenPlan

OPTIONS = ChangeOptions(pixel_change=16, changed_pixels=3)
H, W = 224, 398


@pytest.mark.parametrize("shape", [(224, 224, 3), (256, 144, 3), (37, 50, 3), (16, 16, 3)])
def test_thumbnail_is_the_mean_of_each_cell(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    bh, bw = shape[0] // 16, shape[1] // 16
    cells = pixels[: bh * 16, : bw * 16].astype(np.float64).reshape(16, bh, 16, bw, 3).mean(axis=(1, 3))
    thumb = thumbnail(pixels)
    assert thumb.dtype == np.float32 and thumb.shape == (16, 16, 3)
    np.testing.assert_allclose(thumb, cells, rtol=1e-6)


def page(text_rows=(), number=None, brightness=0, noise=0.0, seed=0, corner=None):
    """A cream slide with dark 2-px strokes for text rows, a tiny page-number glyph, optional sensor
    noise, exposure offset and a moving corner (its pattern drawn from `corner` as a seed)."""
    rng = np.random.default_rng(seed)
    pixels = np.full((H, W, 3), (246, 240, 222), np.float32)
    for row in text_rows:
        for x in range(30, 300, 9):  # a dashed line of "letters", 2 px tall
            pixels[40 + 20 * row : 42 + 20 * row, x : x + 5 + row % 3] = 30
    if number is not None:  # a 3x5 glyph whose strokes depend on the number, bottom right
        glyph = np.array([[int(c) for c in f"{(number * 2654435761) % 2 ** 15:015b}"]]).reshape(5, 3)
        pixels[200:205, 380:383][glyph.astype(bool)] = 90
    if corner is not None:
        pixels[H - 56 :, :100] = np.random.default_rng(corner).integers(0, 256, (56, 100, 3))
    pixels += brightness + rng.normal(0, noise, pixels.shape)
    return look(np.clip(pixels, 0, 255).astype(np.uint8))


def reshaped_after(frames) -> list[bool]:
    """Scene.reshaped of each frame against the one before, after the scene saw both."""
    scene, out = Scene(OPTIONS), []
    for a, b in zip(frames, frames[1:]):
        scene.see(a) if scene.prev is None else None
        scene.see(b)
        out.append(scene.reshaped(a, b))
    return out


@pytest.mark.parametrize("case,frames,expected", [
    ("a new line of text", [page([0]), page([0, 1])], [True]),
    ("the page number only", [page([0], number=1), page([0], number=2)], [True]),
    ("the same slide again", [page([0, 1], number=3), page([0, 1], number=3)], [False]),
    ("sensor noise on a filmed slide", [page([0], noise=4, seed=s) for s in range(4)], [False] * 3),
    ("auto-exposure brightening it", [page([0], brightness=b) for b in (0, 6, 12, -8)], [False] * 3),
])
def test_what_changes_the_shape_of_a_picture(case, frames, expected):
    assert reshaped_after(frames) == expected, case


def test_colour_alone_is_a_new_picture_to_encode_but_not_to_read():
    red, green = (look(np.full((H, W, 3), c, np.uint8)) for c in ((200, 0, 0), (0, 200, 0)))
    scene = Scene(OPTIONS)
    scene.see(red), scene.see(green)
    assert scene.differs(red, green, 2.0) and not scene.reshaped(red, green)
    assert scene.differs(red, red, 0) and not scene.differs(red, red, 2.0)


def test_a_moving_corner_is_left_out_once_it_keeps_moving_and_text_still_counts():
    scene = Scene(OPTIONS)
    frames = [page([0], corner=i) for i in range(6)]
    for frame in frames:
        scene.see(frame)
    assert not scene.moved and not scene.reshaped(frames[-2], frames[-1])
    new_line = page([0, 1], corner=7)
    scene.see(new_line)
    assert scene.moved and scene.reshaped(frames[-1], new_line)


def test_a_picture_that_moves_all_over_is_never_left_out():
    scene = Scene(OPTIONS)
    rng = np.random.default_rng(1)
    frames = [look(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)) for _ in range(6)]
    for frame in frames:
        scene.see(frame)
    assert scene.moved and scene.reshaped(frames[-2], frames[-1])


def plan_of(frames, mode: str) -> list[tuple[str, float]]:
    scene = Scene(OPTIONS)
    plan = ScreenPlan(OcrOptions(mode=mode), scene)
    got = []
    for t, frame in enumerate(frames):
        scene.see(frame)
        got.append(plan.decide(frame, float(t)))
    return got


@pytest.mark.parametrize("mode,expected", [
    # A slide at 0; a new line at 3, read once the next frame shows it held, from 3; a new slide
    # at 7 (its colour moved: "changed" in auto) whose next second adds a line: read then, from 7.
    ("auto", [("changed", 0), ("read", 0), ("same", 2), ("same", 3), ("read", 3), ("same", 5), ("same", 6),
              ("changed", 7), ("read", 7), ("same", 9), ("same", 10)]),
    ("on", [("read", 0), ("same", 1), ("same", 2), ("same", 3), ("read", 3), ("same", 5), ("same", 6),
            ("read", 7), ("same", 8), ("read", 8), ("same", 10)]),
])
def test_screen_plan_reads_each_picture_once_from_when_it_appeared(mode, expected):
    frames = [page([0])] * 3 + [page([0, 1])] * 4 + [page([4])] + [page([4, 5])] * 3
    assert plan_of(frames, mode) == [(kind, float(t)) for kind, t in expected]


def test_text_that_changes_twice_in_a_few_seconds_is_read_once_it_holds_from_when_it_appeared():
    # The lines at 3 and at 5 change the same part of the picture, which then counts as moving
    # for a few seconds: the slide is read once that lapses, as shown from 5.
    frames = [page([0])] * 3 + [page([0, 1])] * 2 + [page([1, 2])] * 8
    got = plan_of(frames, "auto")
    reads = [(t, since) for t, (kind, since) in enumerate(got) if kind == "read"]
    assert reads[0] == (1, 0.0) and reads[-1][1] == 5.0 and reads[-1][0] <= 10


def test_the_ocr_engine_loads_at_the_first_frame_to_read_and_a_failed_load_is_the_readers_error(tmp_path):
    from vsearch.extract.ocr import ScreenReader

    def broken():
        loads.append(1)
        raise RuntimeError("no engine")

    loads = []
    moving = ScreenReader(tmp_path / "film.mp4", OcrOptions(), 1.0, broken)
    for t in range(5):  # a film's moving shots under auto: nothing to read, so nothing loaded
        moving.note("changed", float(t), float(t))
    assert moving.finish() == ([], "") and loads == []
    read = ScreenReader(tmp_path / "film.mp4", OcrOptions(), 1.0, broken)
    for t in range(3):
        read.note("read", float(t), float(t), np.zeros((H, W, 3), np.uint8))
    assert read.finish() == ([], "cannot read on-screen text (no engine)") and loads == [1]
