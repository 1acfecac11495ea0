"""Denoising images of any size with a trained model: padding, tiling and test-time augmentation.

A network needs sides that are multiples of its pooling grid (32 for the
paper's U-Net; see ``models.GEOMETRY``): images are reflect-padded at the
bottom/right up to the next multiple (as the official code does at test
time), denoised, and cropped back. Large images are processed in tiles: each
tile's output core is computed from a window extended by the architecture's
margin of context on every side (clipped at the image edges) and aligned to
its grid. The margin covers the receptive field, so tiled output equals
whole-image output up to float rounding.

Memory is bounded by the window, not the image: windows are padded and
converted to float one at a time, and integer images (uint8, uint16) stay
integer in memory, so a 20000 x 20000 RGB photo costs its two uint8 copies
(input and output) plus one window of activations.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from noise2noise_keras.errors import UserError
from noise2noise_keras.models import GEOMETRY, Geometry
from noise2noise_keras.normalization import Normalization

log = logging.getLogger(__name__)

DEFAULT_GEOMETRY = GEOMETRY["unet"]  # for a bare network: the paper's U-Net, whose grid and margin also cover every other architecture
AUTO_TILE = 512  # tile side used when ``tile`` is None and the image is larger than AUTO_TILE_PIXELS
AUTO_TILE_PIXELS = 2048 * 2048  # up to here one pass is fastest and fits comfortably in memory

# The 8 flips/rotations of the square's symmetry group, as (forward, inverse) pairs.
_DIHEDRAL = [
    (lambda a, k=k, f=f: np.rot90(a[:, ::-1] if f else a, k), lambda a, k=k, f=f: np.rot90(a, -k)[:, ::-1] if f else np.rot90(a, -k))
    for f in (False, True)
    for k in range(4)
]


def _windows(height: int, width: int, tile: int, geometry: Geometry) -> Iterator[tuple[slice, slice, slice, slice]]:
    """(window rows, window cols, output rows, output cols) covering the image padded to the architecture's grid."""
    multiple, margin = geometry.size_multiple, geometry.margin
    padded_h, padded_w = height + -height % multiple, width + -width % multiple
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            y0, x0 = max(0, top - margin), max(0, left - margin)
            y1, x1 = min(padded_h, top + tile + margin), min(padded_w, left + tile + margin)
            yield slice(y0, y1), slice(x0, x1), slice(top, min(top + tile, height)), slice(left, min(left + tile, width))


def _fill_values(image: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """Per-channel mean of the ``finite`` values: what missing (non-finite) pixels are given for the network."""
    if not finite.any():
        raise UserError("Every value of the image is NaN or infinite: there is nothing to denoise.")
    overall = float(image.mean(where=finite))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_channel = image.mean(axis=(0, 1), where=finite)
    return np.where(np.isfinite(per_channel), per_channel, overall).astype(np.float32)


def _float_window(image: np.ndarray, rows: slice, cols: slice, pad_mode: str, normalization: Normalization, fill: np.ndarray | None = None) -> np.ndarray:
    """Rows/cols of ``image`` in model units (float32), reflect-padded where they run past the bottom/right edge.

    Equal to the same window of the whole padded image: windows past an edge
    always start at least a margin (more than the padding) before it. Non-finite
    values become ``fill`` (model units) when it is given.
    """
    height, width = image.shape[:2]
    window = normalization.to_units(image[rows.start : min(rows.stop, height), cols.start : min(cols.stop, width)])
    if fill is not None:
        missing = ~np.isfinite(window)
        if missing.any():
            np.copyto(window, np.broadcast_to(fill, window.shape), where=missing)
    pad = ((0, rows.stop - min(rows.stop, height)), (0, cols.stop - min(cols.stop, width)), (0, 0))
    return np.pad(window, pad, mode=pad_mode) if pad[0][1] or pad[1][1] else window


def _predictor(model: keras.Model, tta: bool, gray_through_rgb: bool) -> Callable[[np.ndarray], np.ndarray]:
    """A function from one float32 (H, W, C) window (sides multiples of 32) to the model's float32 output."""

    def call(window: np.ndarray) -> np.ndarray:
        # predict_on_batch runs a cached graph: it frees each activation once used, where an eager call of a
        # functional model holds them all (more than twice the memory for a large window), and it is faster.
        return np.asarray(model.predict_on_batch(np.ascontiguousarray(window)[None]), dtype=np.float32)[0]

    def predict(window: np.ndarray) -> np.ndarray:
        if gray_through_rgb:
            window = np.repeat(window, 3, axis=-1)
        if tta:
            result = sum(inverse(call(forward(window))) for forward, inverse in _DIHEDRAL) / len(_DIHEDRAL)
        else:
            result = call(window)
        return result.mean(axis=-1, keepdims=True) if gray_through_rgb else result

    return predict


def denoise(
    image: np.ndarray,
    model: keras.Model,
    tile: int | None = None,
    tta: bool = False,
    progress: bool = False,
    normalization: Normalization | None = None,
    in_place: bool = False,
    geometry: Geometry = DEFAULT_GEOMETRY,
    label: str = "image",
) -> np.ndarray:
    """Denoise an (H, W) or (H, W, C) image; returns (H, W, C) of the same kind, clipped to its range.

    uint8 and uint16 images are read over their full range and come back in
    the same dtype (rounded); float images are taken in [0, 1] and come back
    as float32. ``normalization`` overrides that mapping (a model trained with
    percentile normalisation records its own). ``C`` may be 1 with an RGB model (the gray image is replicated
    to RGB and the result averaged back), or match the model's channels.
    ``tile`` bounds memory for large images: ``None`` tiles only images above
    ``AUTO_TILE_PIXELS`` (tiling costs the context margins), ``0`` never.
    ``geometry`` is the architecture's grid and tile margin (a
    :class:`~noise2noise_keras.denoiser.Denoiser` passes its own). ``tta`` averages the 8
    flips/rotations, which costs 8x the time. ``progress`` shows a bar over
    the tiles when there are several. ``in_place`` writes the result into
    ``image`` itself (when it is uint8, uint16 or float32), so a huge image
    costs its own memory once, not twice: each tile row's result is held back
    until no later tile reads those pixels as context.

    Non-finite values of a float image (NaN, ±inf: masked pixels in
    microscopy data) are treated as missing: the network sees the channel's
    mean of the finite values there, and the output keeps the original
    non-finite value at the same positions, so they never spread; a warning
    names ``label`` and counts them.
    """
    image = np.asarray(image)
    if image.dtype.kind not in "uf":
        raise UserError(f"Images must be unsigned integers (uint8, uint16) or floats in [0, 1], not {image.dtype}: convert the array first.")
    if image.ndim == 2:
        image = image[..., None]
    model_channels = model.output_shape[-1]
    gray_through_rgb = image.shape[-1] == 1 and model_channels == 3
    if image.shape[-1] != model_channels and not gray_through_rgb:
        raise UserError(f"The image has {image.shape[-1]} channels but the model expects {model_channels}.")
    height, width = image.shape[:2]
    if tile is None:
        tile = AUTO_TILE if height * width > AUTO_TILE_PIXELS else 0
    multiple = geometry.size_multiple
    if tile < 0 or tile % multiple:
        raise UserError(f"--tile {tile} must be 0 or a positive multiple of {multiple}.")
    if tile == 0:
        tile = max(height, width)  # one window: the whole padded image
    pad_mode = "reflect" if min(height, width) > max(-height % multiple, -width % multiple) else "symmetric"
    normalization = normalization or Normalization.for_dtype(image.dtype)
    dtype = image.dtype if np.issubdtype(image.dtype, np.integer) else np.dtype(np.float32)
    output = image if in_place and image.dtype == dtype and image.flags.writeable else np.empty(image.shape, dtype=dtype)
    finite = np.isfinite(image) if image.dtype.kind == "f" else None  # one pass over the image; integers are always finite
    missing = ~finite if finite is not None and not finite.all() else None
    missing_values = image[missing] if missing is not None else None
    fill = normalization.to_units(_fill_values(image, finite)) if missing is not None else None
    if missing is not None:
        log.warning("%s: %d non-finite value(s) treated as missing: filled for the network, left non-finite in the output", label, missing_values.size)
    predict = _predictor(model, tta, gray_through_rgb)
    tiles = -(-height // tile) * -(-width // tile)
    pending: list[tuple[slice, slice, np.ndarray]] = []  # results not yet written: their pixels may still be context
    for rows, cols, out_rows, out_cols in tqdm(_windows(height, width, tile, geometry), "tiles", tiles, leave=False, disable=not progress or tiles == 1):
        if cols.start == 0:  # a new tile row: rows above its first window are never read again
            pending = _write_finished(output, pending, below=rows.start)
        result = predict(_float_window(image, rows, cols, pad_mode, normalization, fill))
        block = result[out_rows.start - rows.start : out_rows.stop - rows.start, out_cols.start - cols.start : out_cols.stop - cols.start]
        pending.append((out_rows, out_cols, normalization.to_pixels(block, dtype)))
    _write_finished(output, pending, below=height)
    if missing is not None:
        output[missing] = missing_values
    return output


def _write_finished(output: np.ndarray, pending: list[tuple[slice, slice, np.ndarray]], below: int) -> list[tuple[slice, slice, np.ndarray]]:
    """Write the pending blocks that end above row ``below`` into ``output``; returns the others."""
    for rows, cols, block in pending:
        if rows.stop <= below:
            output[rows, cols] = block
    return [entry for entry in pending if entry[0].stop > below]


def load_model(path: str | Path) -> keras.Model:
    """The network in a ``.keras`` file, checked to be an image denoiser (``artifacts.load_denoiser`` finds it by name)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Model file '{path}' does not exist: pass a run directory, a model folder or a .keras file.")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a Keras model file (a .keras file is a zip archive and this one is not): pass a model saved by noise2noise_keras.")
    try:
        model = keras.saving.load_model(path, compile=False)  # safe mode: no arbitrary code runs
    except Exception as error:  # a foreign archive can fail anywhere inside Keras' loader; each case becomes one sentence
        raise UserError(_load_failure(path, error)) from None
    check_denoiser(model, path)
    return model


def _load_failure(path: Path, error: Exception) -> str:
    message = str(error)
    if "safe_mode" in message or "could not be deserialized" in message:
        return (
            f"{path} holds Python code or objects this package does not define (for example a Lambda layer), "
            "which are not loaded for safety: pass a model saved by noise2noise_keras."
        )
    first_line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    return f"{path} could not be loaded as a Keras model ({type(error).__name__}: {first_line[:200]}): pass a .keras file saved by noise2noise_keras."


def check_denoiser(model: keras.Model, path: str | Path) -> None:
    """Refuse a loaded Keras model that cannot denoise images of any size: one image in, an image of as many channels out."""
    inputs, outputs = model.inputs, model.outputs
    shapes = f"input {tuple(model.input_shape) if len(inputs) == 1 else len(inputs)}, output {tuple(model.output_shape) if len(outputs) == 1 else len(outputs)}"
    if len(inputs) != 1 or len(outputs) != 1 or len(model.input_shape) != 4 or len(model.output_shape) != 4 or model.input_shape[-1] != model.output_shape[-1]:
        raise UserError(
            f"{path} is a Keras model but not an image denoiser ({shapes}; expected (None, None, None, C) in and out): pass a model trained by n2n train."
        )
    if any(side is not None for side in model.input_shape[1:3]):
        raise UserError(f"{path} only takes images of one size ({shapes}): a denoiser here must accept any size, as models trained by n2n train do.")
