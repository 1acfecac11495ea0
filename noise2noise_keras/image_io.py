"""Reading and writing the user's own images for denoising, keeping what a user expects kept.

Unlike training data (always 8-bit RGB), denoising must give back what came
in: bit depth (16-bit grayscale in, 16-bit out), the alpha channel untouched,
the ICC profile and EXIF data where the output format allows, upright pixels
(EXIF orientation is applied on reading and the tag dropped). Palette and CMYK
images come back as RGB (a denoised image no longer fits a palette), bilevel
as 8-bit grayscale.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from noise2noise_keras.errors import UserError

# Denoising a user's own large scan is legitimate; Pillow's default bomb limit (~179 Mpx) is not ours to keep.
MAX_PIXELS = 1_000_000_000
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


@dataclasses.dataclass
class LoadedImage:
    """Pixels as float32 (H, W, C) in [0, 1] plus what writing it back needs."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    bits: int
    info: dict


def read_image(path: str | Path) -> LoadedImage:
    """Read ``path`` for denoising; raises :class:`UserError` naming the file if it is not an image."""
    path = Path(path)
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist.") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UserError(f"{path} is not a readable image ({error}).") from None
    info = {key: image.info[key] for key in ("icc_profile", "exif", "dpi") if key in image.info}
    if image.mode in _SIXTEEN_BIT_MODES:
        array = np.asarray(image, dtype=np.float32)
        bits = 16 if image.mode.startswith("I;16") or array.max(initial=0) > 255 else 8
        return LoadedImage(array[..., None] / (65535.0 if bits == 16 else 255.0), None, bits, info)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("1", "F"):
        image = image.convert("L")
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")
    array = np.asarray(image)
    alpha = array[..., -1] if image.mode in ("LA", "RGBA") else None
    colour = array[..., :-1] if alpha is not None else array
    if colour.ndim == 2:
        colour = colour[..., None]
    return LoadedImage(colour.astype(np.float32) / 255.0, alpha, 8, info)


def write_image(path: str | Path, pixels: np.ndarray, like: LoadedImage) -> None:
    """Write float (H, W, C) ``pixels`` in [0, 1] with the bit depth, alpha and metadata of ``like``.

    Written to a temporary file and renamed, so a failure leaves no partial output.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    pixels = np.clip(np.asarray(pixels, dtype=np.float64), 0.0, 1.0)
    if like.bits == 16 and pixels.shape[-1] == 1:
        if path.suffix.lower() not in (".png", ".tif", ".tiff"):
            raise UserError(f"Cannot write 16-bit {path}: use a .png or .tif output to keep 16 bits.")
        image = Image.fromarray(np.rint(pixels[..., 0] * 65535).astype(np.uint16))  # uint16 -> mode I;16
    else:
        channels = np.rint(pixels * 255).astype(np.uint8)
        if like.alpha is not None:
            channels = np.concatenate([channels, like.alpha[..., None]], axis=-1)
        image = Image.fromarray(channels.squeeze(-1) if channels.shape[-1] == 1 else channels)
    if image.mode in ("RGBA", "LA") and path.suffix.lower() in (".jpg", ".jpeg"):
        raise UserError(f"Cannot keep the alpha channel in {path}: use a .png output.")
    options = {key: value for key, value in like.info.items() if key in ("icc_profile", "exif", "dpi")}
    if path.suffix.lower() in (".jpg", ".jpeg"):
        options["quality"] = 95
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        image.save(temporary, **options)
        os.replace(temporary, path)
    except (OSError, ValueError, KeyError) as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"Cannot write {path} ({error}): choose an output format such as .png.") from None
