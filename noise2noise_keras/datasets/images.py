"""Training and evaluation images: every file read by ``image_io.read_image``, then made 8-bit RGB.

Why a module of its own: users point us at folders of whatever they have.
The one reader of the package decodes them (any sample type, EXIF
orientation applied, alpha kept aside, multi-frame and signed files refused,
the decompression-bomb limit applied); here grayscale becomes RGB, alpha is
dropped (composited on black is wrong for photos), 16-bit and float samples
are scaled to 8 bits, and NaN or infinite values are refused (training and
scoring need finite pixels). A file that fails is reported by name.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import read_image

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"}


class UnreadableImage(Exception):
    """A file that is not a decodable image; the message names the file."""


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode ``path`` to a uint8 (H, W, 3) RGB array (16-bit as ``value / 257``, floats in [0, 1] times 255, alpha dropped).

    Raises :class:`UnreadableImage` naming the file.
    """
    try:
        pixels = read_image(path).pixels
    except UserError as error:
        raise UnreadableImage(str(error).rstrip(".")) from None
    return to_rgb8(pixels, path)


def to_rgb8(pixels: np.ndarray, path: str | Path = "the image") -> np.ndarray:
    """(H, W, C) pixels of any sample type ``image_io`` returns as uint8 (H, W, 3) RGB."""
    if pixels.dtype == np.uint16:
        pixels = np.round(pixels / 257.0).astype(np.uint8)
    elif pixels.dtype.kind == "f":
        if not np.isfinite(pixels).all():
            raise UnreadableImage(f"{path} holds NaN or infinite values: training and evaluation need finite pixels (n2n denoise treats them as missing)")
        pixels = np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(pixels, 3, axis=2) if pixels.shape[-1] == 1 else np.ascontiguousarray(pixels)


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
