"""Reading image files of any common layout into 8-bit RGB arrays.

Why a module of its own: users point us at folders of whatever they have.
Grayscale, palette, RGBA (composited on black is wrong for photos, so alpha is
dropped), CMYK, 16-bit and EXIF-rotated files all become uint8 (H, W, 3) RGB;
anything Pillow cannot decode is reported by name, and so is what every
command refuses (``image_io.check_single_unsigned``: several frames, signed
samples) and, for training and scoring, NaN or infinite values.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from noise2noise_keras.image_io import SIGNED_SAMPLES_MESSAGE, UnsupportedImage, check_single_unsigned

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"}


class UnreadableImage(Exception):
    """A file that is not a decodable image; the message names the file."""


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode ``path`` to a uint8 (H, W, 3) RGB array.

    16-bit images are scaled to 8 bits (``value / 257``); alpha is discarded;
    EXIF orientation is applied. Raises :class:`UnreadableImage` naming the file.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                check_single_unsigned(image)
                image.load()
                image = ImageOps.exif_transpose(image)
                return _to_rgb8(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:  # UnsupportedImage too
        raise UnreadableImage(f"{path}: {error}") from None


def _to_rgb8(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        array = np.asarray(image, dtype=np.float64)
        if array.min(initial=0) < 0:
            raise UnsupportedImage(SIGNED_SAMPLES_MESSAGE)
        scale = 65535.0 if array.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
        gray = np.clip(np.round(array / scale * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode == "F":
        values = np.asarray(image)
        if not np.isfinite(values).all():
            raise UnsupportedImage("holds NaN or infinite values: training and evaluation need finite pixels (n2n denoise treats them as missing)")
        gray = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode in ("RGB;16", "RGBA;16") or (image.mode == "RGB" and np.asarray(image).dtype != np.uint8):
        array = np.asarray(image, dtype=np.float64)[..., :3]
        return np.clip(np.round(array / 257.0), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder`` (sorted by name), judged by suffix."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_images(paths: list[Path], skip_unreadable: bool = True) -> list[tuple[str, np.ndarray]]:
    """Decode every path, returning ``(name, rgb_uint8)`` pairs.

    Unreadable files are logged with their name and skipped (the policy for
    training folders: one bad download must not kill a long run); with
    ``skip_unreadable=False`` the first one raises :class:`UnreadableImage`.
    """
    images = []
    for path in paths:
        try:
            images.append((Path(path).name, read_rgb(path)))
        except UnreadableImage as error:
            if not skip_unreadable:
                raise
            log.warning("skipping unreadable image %s", error)
    return images
