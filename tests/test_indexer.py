import numpy as np
import pytest

from vsearch.extract.thumbs import thumbnail


@pytest.mark.parametrize("shape", [(224, 224, 3), (256, 144, 3), (37, 50, 3), (16, 16, 3)])
def test_thumbnail_is_the_mean_of_each_cell(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    bh, bw = shape[0] // 16, shape[1] // 16
    cells = pixels[: bh * 16, : bw * 16].astype(np.float64).reshape(16, bh, 16, bw, 3).mean(axis=(1, 3))
    thumb = thumbnail(pixels)
    assert thumb.dtype == np.float32 and thumb.shape == (16, 16, 3)
    np.testing.assert_allclose(thumb, cells, rtol=1e-6)


def test_thumbnail_keeps_colour():
    red, green = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
    red[..., 0], green[..., 1] = 200, 200
    assert np.abs(thumbnail(red) - thumbnail(green)).mean() > 100
