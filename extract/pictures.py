"""Pictures that are not frames of an indexed video: a query image, and thumbnails as JPEG."""

import io
from pathlib import Path

import numpy as np

from vsearch.errors import MediaError

from .stills import Stills

# Pillow refuses images above ~179 megapixels as decompression bombs; a query needs far fewer.
_MAX_PIXELS = 50_000_000


def read_picture(data: bytes, name: str = "image") -> np.ndarray:
    """RGB pixels of an image file's bytes (PNG, JPEG, WebP, ...), or a one-line MediaError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > _MAX_PIXELS:
                raise MediaError(f"{name}: {image.width}x{image.height} is too large for a query; scale it down")
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise MediaError(f"{name}: not an image (PNG, JPEG, WebP or another format Pillow reads)") from None


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
