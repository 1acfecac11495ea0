"""Reading and writing the user's own images for denoising, keeping what a user expects kept.

Unlike training data (always 8-bit RGB), denoising must give back what came
in. Pixels stay in the file's own sample type (uint8, uint16, float32), so
16-bit and float data keep every bit and a huge 8-bit image costs one byte
per sample in memory. The alpha channel is kept untouched, the ICC profile and
EXIF data where the output format allows, and pixels are made upright (EXIF
orientation is applied on reading and the tag dropped). Palette and CMYK
images come back as RGB (a denoised image no longer fits a palette), bilevel
as 8-bit grayscale.

TIFF goes through ``tifffile`` (the format of scientific cameras and
microscopes: 16-bit and float colour, planar layouts, which Pillow cannot
represent); PNG is read with Pillow (``pypng`` for 16 bits: Pillow reduces
16-bit colour to 8 bits) and written with ``pypng``, streamed from the array;
every other format through Pillow.

This is the one reader of the package: training and evaluation data come
through it too (``datasets.images`` converts its result to 8-bit RGB). Its
guard against decompression bombs is set once, here: images of more than
``N2N_MAX_IMAGE_PIXELS`` pixels (default 10⁹, a 31623² photo; ``0``: no
limit) are refused with a sentence naming that setting.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import png
import tifffile
from PIL import Image, ImageOps

from noise2noise_keras.atomic import atomic_path, cannot_write
from noise2noise_keras.errors import UserError

# Denoising a user's own large scan is legitimate; Pillow's default bomb limit (~179 Mpx) is not ours to keep.
MAX_PIXELS_VARIABLE = "N2N_MAX_IMAGE_PIXELS"
MAX_PIXELS = int(os.environ.get(MAX_PIXELS_VARIABLE, "1000000000") or 0)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS or None  # Pillow warns above it (an error here) and refuses twice it
TIFF_SUFFIXES = (".tif", ".tiff")
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_ICC_TAG = 34675
_SAMPLE_FORMAT_TAG, _SIGNED_INTEGER = 339, 2  # TIFF SampleFormat: 1 unsigned, 2 signed integer, 3 float
SIGNED_SAMPLES_MESSAGE = "holds signed integer samples: convert it to unsigned 8/16-bit or to float in [0, 1]"
_ORIENTATION_TAG = 274  # EXIF and TIFF share it
# EXIF orientation -> the array operation that makes the stored pixels upright (as Pillow's exif_transpose).
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


class TooLarge(ValueError):
    """An image with more pixels than the decompression-bomb limit."""

    def __init__(self) -> None:
        super().__init__(
            f"has more than {MAX_PIXELS:,} pixels, the limit that guards against decompression bombs: if you trust the file, "
            f"set {MAX_PIXELS_VARIABLE} to a larger number (0: no limit) and run again"
        )


class UnsupportedImage(ValueError):
    """A decodable file this package refuses in every command (several frames, signed samples); says why and what to do."""


def check_single_unsigned(image: Image.Image) -> None:
    """The one acceptance policy of every reader: one frame, unsigned or float samples.

    Animations, multi-page files and signed integers have no faithful
    single-image meaning for a denoiser; taking the first frame or clipping
    negative values would silently change the data.
    """
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise UnsupportedImage(f"holds {frames} frames (an animation or a multi-page file): save each frame as an image file of its own")
    sample_format = getattr(image, "tag_v2", {}).get(_SAMPLE_FORMAT_TAG, ())
    if _SIGNED_INTEGER in (sample_format if isinstance(sample_format, tuple) else (sample_format,)):
        raise UnsupportedImage(SIGNED_SAMPLES_MESSAGE)


@dataclasses.dataclass
class LoadedImage:
    """Pixels (H, W, C) in the file's sample type (uint8, uint16 or float32 in [0, 1]) plus what writing back needs."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    info: dict


def read_image(path: str | Path) -> LoadedImage:
    """Read ``path`` for denoising; raises :class:`UserError` naming the file if it is not an image."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _read_tiff(path) if path.suffix.lower() in TIFF_SUFFIXES else _read_with_pillow(path)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist.") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UserError(f"{path} {TooLarge()}.") from None
    except (UnsupportedImage, TooLarge) as error:
        raise UserError(f"{path} {error}.") from None
    except (OSError, ValueError, SyntaxError, tifffile.TiffFileError, png.Error) as error:
        raise UserError(f"{path} is not a readable image ({error}).") from None


def upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` (H, W[, C]) turned as its EXIF/TIFF ``orientation`` tag says a viewer shows it."""
    turn = _UPRIGHT.get(int(orientation))
    return np.ascontiguousarray(turn(array)) if turn else array


def _read_with_pillow(path: Path) -> LoadedImage:
    with Image.open(path) as image:
        check_single_unsigned(image)
        info = {key: image.info[key] for key in ("icc_profile", "exif", "dpi") if key in image.info}
        if image.format == "PNG" and _png_bit_depth(path) == 16:
            exif = Image.Exif()
            if "exif" in info:  # from the header: image.getexif() would decode the pixels (at 8 bits) to look further
                exif.load(info.pop("exif"))
            return _read_png_sixteen(path, info, exif.get(_ORIENTATION_TAG, 1))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # in place: a copy would double the memory of a huge image
        info = {key: image.info[key] for key in ("icc_profile", "exif", "dpi") if key in image.info}
        if image.mode in _SIXTEEN_BIT_MODES:
            array = _pixels_in_bands(image)
            if image.mode == "I":  # 32-bit integer: holds 8- or 16-bit samples
                if array.min(initial=0) < 0:
                    raise UnsupportedImage(SIGNED_SAMPLES_MESSAGE)
                array = np.clip(array, 0, 65535).astype(np.uint8 if array.max(initial=0) <= 255 else np.uint16)
            return LoadedImage(array.astype(array.dtype.newbyteorder("=")).reshape(array.shape + (1,)), None, info)
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode in ("1", "F"):
            image = image.convert("L")
        elif image.mode not in ("L", "LA", "RGB", "RGBA"):
            image = image.convert("RGB")
        array = _pixels_in_bands(image)
        has_alpha = image.mode in ("LA", "RGBA")
    return _split_alpha(array, has_alpha, info)


def _pixels_in_bands(image: Image.Image, rows: int = 256) -> np.ndarray:
    """``np.asarray(image)`` without its transient copies: Pillow's ``tobytes()`` joins chunks of the
    whole image, so a huge photo briefly costs twice its size more. Copying bands of rows costs one band."""
    first = np.asarray(image.crop((0, 0, image.width, min(rows, image.height))))
    if image.height <= rows:
        return first
    array = np.empty((image.height, *first.shape[1:]), first.dtype)
    array[:rows] = first
    for top in range(rows, image.height, rows):
        array[top : top + rows] = np.asarray(image.crop((0, top, image.width, min(top + rows, image.height))))
    return array


def _png_bit_depth(path: Path) -> int:
    with path.open("rb") as file:
        return file.read(25)[24]  # IHDR always comes first: signature (8), length, type, width, height, depth


def _read_png_sixteen(path: Path, info: dict, orientation: int) -> LoadedImage:
    width, height, rows, meta = png.Reader(filename=str(path)).read()  # raw samples: no sBIT rescaling
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, meta["planes"])
    return _split_alpha(upright(array, orientation), meta["alpha"], info)


def _read_tiff(path: Path) -> LoadedImage:
    with tifffile.TiffFile(path) as tiff:
        if len(tiff.pages) > 1:
            raise UnsupportedImage(f"holds {len(tiff.pages)} pages (a multi-page file): save each page as an image file of its own")
        series = tiff.series[0]
        if MAX_PIXELS and np.prod([side for side, axis in zip(series.shape, series.axes) if axis in "YX"]) > MAX_PIXELS:
            raise TooLarge()
        array, axes = series.asarray(), series.axes
        tags = tiff.pages[0].tags
        icc, orientation = tags.get(_ICC_TAG), tags.get(_ORIENTATION_TAG)
        info = {"icc_profile": bytes(icc.value)} if icc is not None else {}
    if axes[0] in "SC" and array.ndim == 3 and array.shape[0] <= 4:  # planar: samples first
        array, axes = np.moveaxis(array, 0, -1), axes[1:] + "S"
    if axes not in ("YX", "YXS"):
        raise UnsupportedImage(f"holds a {axes} stack of shape {array.shape}: save one 2-D image per file")
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    elif array.dtype.kind == "i":
        raise UnsupportedImage(SIGNED_SAMPLES_MESSAGE)
    elif array.dtype not in (np.uint8, np.uint16):
        raise UnsupportedImage(f"holds {array.dtype} samples: use uint8, uint16 or float in [0, 1]")
    if array.ndim == 2:
        array = array[..., None]
    return _split_alpha(upright(array, orientation.value if orientation else 1), array.shape[-1] in (2, 4), info)


def _split_alpha(array: np.ndarray, has_alpha: bool, info: dict) -> LoadedImage:
    if array.ndim == 2:
        array = array[..., None]
    if has_alpha:
        return LoadedImage(array[..., :-1], array[..., -1], info)
    return LoadedImage(array, None, info)


def write_image(path: str | Path, pixels: np.ndarray, like: LoadedImage) -> None:
    """Write (H, W, C) ``pixels`` (the sample type of ``like``) with the alpha and metadata of ``like``.

    TIFF keeps any sample type; PNG keeps 8 bits and 16-bit grayscale; other
    formats 8 bits: anything else is refused rather than silently reduced.
    Written to a temporary file and renamed, so a failure leaves no partial output.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    channels = pixels if like.alpha is None else np.concatenate([pixels, like.alpha[..., None]], axis=-1)
    suffix = path.suffix.lower()
    try:
        with atomic_path(path) as temporary:
            if suffix in TIFF_SUFFIXES:
                _write_tiff(temporary, channels, like)
            elif suffix == ".png" and channels.dtype in (np.uint8, np.uint16):
                _write_png(temporary, channels, like.info)
            else:
                _write_with_pillow(temporary, path, channels, like)
    except OSError as error:
        if error.errno is None:  # Pillow's "cannot write mode ... as ..." carries no errno
            raise UserError(f"Cannot write {path} ({error}): choose an output format such as .png or .tif.") from None
        raise cannot_write(error, path, "run the command again (written files are kept; pass --overwrite or another -o)") from None
    except (ValueError, KeyError) as error:
        raise UserError(f"Cannot write {path} ({error}): choose an output format such as .png or .tif.") from None


def _write_tiff(path: Path, channels: np.ndarray, like: LoadedImage) -> None:
    colour = channels.shape[-1] >= 3
    tifffile.imwrite(
        path,
        channels if channels.shape[-1] > 1 else channels[..., 0],
        photometric="rgb" if colour else "minisblack",
        extrasamples=["unassalpha"] if like.alpha is not None else None,
        iccprofile=like.info.get("icc_profile"),
    )


class _PngWriter(png.Writer):
    """pypng's streaming writer plus the metadata chunks it has no option for, written right after its header."""

    def __init__(self, *args: object, chunks: list[tuple[bytes, bytes]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.metadata_chunks = chunks

    def write_preamble(self, outfile: BinaryIO) -> None:
        super().write_preamble(outfile)
        for tag, data in self.metadata_chunks:
            png.write_chunk(outfile, tag, data)


def _write_png(path: Path, channels: np.ndarray, info: dict) -> None:
    """8- or 16-bit PNG streamed row by row from the array: Pillow would first copy the whole image
    into its own 4-bytes-a-pixel buffer and keeps 16-bit colour at 8 bits.

    ICC profile, EXIF and dpi are written as Pillow writes them. Rows are not filtered: at zlib level 1
    that writes faster than Pillow, for files somewhat larger (docs/inference.md has the measurement)."""
    height, width, planes = channels.shape
    chunks = []
    if info.get("icc_profile"):  # name, NUL, deflate method 0, profile
        chunks.append((b"iCCP", b"ICC profile\0\0" + zlib.compress(info["icc_profile"])))
    if info.get("exif"):
        exif = info["exif"].tobytes() if isinstance(info["exif"], Image.Exif) else info["exif"]
        chunks.append((b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
    per_metre = [int(value / 0.0254 + 0.5) for value in info["dpi"]] if info.get("dpi") else [None, None]
    bits = channels.dtype.itemsize * 8
    writer = _PngWriter(
        width, height, greyscale=planes < 3, alpha=planes in (2, 4), bitdepth=bits, compression=1, chunks=chunks,
        x_pixels_per_unit=per_metre[0], y_pixels_per_unit=per_metre[1], unit_is_meter=per_metre[0] is not None,
    )  # fmt: skip
    rows = channels.reshape(height, -1)
    with path.open("wb") as file:
        writer.write_packed(file, (row if bits == 8 else row.astype(">u2").tobytes() for row in rows))


def _write_with_pillow(temporary: Path, path: Path, channels: np.ndarray, like: LoadedImage) -> None:
    suffix = path.suffix.lower()
    if channels.dtype != np.uint8:
        kind = "float" if channels.dtype.kind == "f" else f"{channels.dtype.itemsize * 8}-bit"
        raise UserError(f"Cannot keep {kind} pixels in {path}: use a .tif output (or .png for 16-bit).")
    if channels.shape[-1] in (2, 4) and suffix in (".jpg", ".jpeg"):
        raise UserError(f"Cannot keep the alpha channel in {path}: use a .png output.")
    image = Image.fromarray(channels[..., 0] if channels.shape[-1] == 1 else channels)  # uint16 -> mode I;16
    options = {key: value for key, value in like.info.items() if key in ("icc_profile", "exif", "dpi")}
    if suffix in (".jpg", ".jpeg"):
        options["quality"] = 95
    image.save(temporary, format=Image.registered_extensions().get(suffix), **options)
