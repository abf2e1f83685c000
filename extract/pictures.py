"""Pictures that are not frames of an indexed video: a query image, and thumbnails as JPEG."""

import io
import threading
from pathlib import Path

import numpy as np

from vsearch.extract.errors import MediaError

from .native import malloc_trim
from .stills import Stills

# The most memory one query picture may take to decode, worked out from its header before any
# decoding. An 8K screenshot or photo (7680x4320; Pillow holds RGB as RGBX, 4 bytes a pixel) takes
# 133 MB: 160 MB lets it through with room, and refuses a 7000x7000 RGB(A) PNG (196 MB; 16 bits a
# channel are decoded to 8), which a cap of 50 megapixels let cost 620 MB from a 381 kB upload.
_MAX_DECODED_BYTES = 160_000_000

# Decoders that hold copies of the whole picture besides Pillow's while decoding, as measured
# (Pillow 13): libwebp's animation decoder, which Pillow uses for every WebP, keeps its canvas and
# a copy and hands over a third as bytes; OpenJPEG keeps 4 bytes a sample; libavif its YUV planes.
_DECODER_COPIES = {"WEBP": 4, "JPEG2000": 5, "AVIF": 2}

# Two decodes at a time, each within the budget: uploads that arrive together wait their turn
# rather than add a picture each to the peak (four at once reached 2.5 GB), and a second user's
# query still need not wait behind a slow one.
_DECODES = threading.BoundedSemaphore(2)

# Decodes above this size are trimmed after: glibc keeps what they free (four uploads at once left
# 1.8 GB held); below it a walk of the heap is not worth it.
_TRIM_ABOVE = 16_000_000

# The formats a query picture may be in: those whose opening reads only the header, so the budget
# is checked before any decoding (Pillow's ICO and others decode a whole embedded image on open).
_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "JPEG2000")

# Pictures are converted to RGB this many pixels at a time, so no full-size copy is made.
_STRIP_PIXELS = 1 << 20


def read_picture(data: bytes, name: str = "image", max_side: int | None = None) -> np.ndarray:
    """RGB pixels of an image file's bytes (PNG, JPEG, WebP, ...), or a one-line MediaError.

    With `max_side`, the picture is shrunk by a whole factor (box averages; JPEGs decoded at 1/2,
    1/4 or 1/8 size) as far as its short side stays at least `max_side`: a few times the model's
    side leaves the final resize (frames.fit) enough pixels to average.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
            return _pixels(image, name, max_side)
    except Image.DecompressionBombError:
        raise MediaError(f"{name}: too large for a query; scale it down") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise MediaError(f"{name}: not an image vsearch reads (PNG, JPEG, WebP, GIF, BMP, TIFF, AVIF)") from None


def _pixels(image, name: str, max_side: int | None) -> np.ndarray:
    """RGB pixels of an opened picture, refused unless it decodes within the budget."""
    width, height = image.size
    coefficients = _coefficient_bytes(image)  # at full size, before the draft
    if max_side:
        image.draft("RGB", (max_side, max_side))  # a JPEG's short side stays at least max_side
    cost = _decoded_bytes(image) * _DECODER_COPIES.get(image.format, 1) + coefficients
    if cost > _MAX_DECODED_BYTES:
        raise MediaError(f"{name}: {width}x{height} would take {cost // 1_000_000} MB to decode, over the "
                         f"{_MAX_DECODED_BYTES // 1_000_000} MB a query may; scale it down")
    factor = max(1, min(image.size) // max_side) if max_side else 1
    with _DECODES:
        try:
            image.load()
            return _rgb(image, factor)
        finally:
            image.close()  # frees the decoded picture now, for the trim
            if cost > _TRIM_ABOVE:
                malloc_trim()


def _decoded_bytes(image) -> int:
    """Bytes Pillow holds for a picture's pixels once decoded, from its size and mode."""
    from PIL import Image, ImageMode

    bands = Image.getmodebands(image.mode)
    depth = np.dtype(ImageMode.getmode(image.mode).typestr).itemsize  # a band: 2 bytes for I;16, 4 for I and F
    # Pillow keeps a pixel of 2 to 4 one-byte bands in 4 bytes (RGB as RGBX, LA as L--A).
    return image.width * image.height * (4 if bands > 1 else depth)


def _coefficient_bytes(image) -> int:
    """Bytes libjpeg holds for a progressive JPEG's DCT coefficients (2 a sample at full size, however
    small it is decoded); 0 for any other picture (only JPEGs are marked progressive)."""
    if not image.info.get("progressive"):
        return 0
    h_max = max(h for _, h, _, _ in image.layer)
    v_max = max(v for _, _, v, _ in image.layer)
    samples = sum(h * v for _, h, v, _ in image.layer) / (h_max * v_max)  # per pixel, chroma subsampled
    return int(image.width * image.height * samples * 2)


def _rgb(image, factor: int) -> np.ndarray:
    """RGB pixels of a decoded picture shrunk `factor` times, a strip of rows at a time."""
    width, height = image.size
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))  # whole boxes of `factor` rows
    out = np.empty((-(-height // factor), -(-width // factor), 3), np.uint8)
    for top in range(0, height, rows):
        strip = _eight_bit(image.crop((0, top, width, min(top + rows, height)))).convert("RGB")
        small = np.asarray(strip.reduce(factor))
        out[top // factor : top // factor + len(small)] = small
    return out


def _eight_bit(image):
    """A 16-bit grey picture as 8-bit grey (Pillow's own conversion clips it at 255); others as they are."""
    from PIL import Image

    if not image.mode.startswith("I;16"):
        return image
    return Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))


def jpeg(pixels: np.ndarray, quality: int = 80) -> bytes:
    """JPEG bytes of RGB pixels."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def thumbnail(video: Path, t: float, max_side: int = 320) -> bytes | None:
    """A JPEG of the frame shown at `t` seconds of `video`; None where there is none."""
    import av

    try:
        with Stills(video, max_side) as stills:
            pixels = stills.at(max(0.0, t))
    except (OSError, av.FFmpegError, IndexError, ValueError):
        return None
    return None if pixels is None else jpeg(pixels)
