"""Denoising images of any size with a trained model: padding, tiling and test-time augmentation.

The U-Net needs sides that are multiples of 32: images are reflect-padded at
the bottom/right up to the next multiple (as the official code does at test
time), denoised, and cropped back. Large images are processed in tiles: each
tile's output core is computed from a window extended by ``TILE_MARGIN``
pixels of context on every side (clipped at the image edges) and aligned to
the 32-pixel pooling grid. Every output pixel of this U-Net depends only on
inputs less than 160 pixels away within that grid, so tiled output equals
whole-image output up to float rounding; memory is bounded by the window size.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from noise2noise_keras.errors import UserError

SIZE_MULTIPLE = 32
TILE_MARGIN = 160  # receptive field of the paper's U-Net: 159 px on either side, on the 32-px grid
AUTO_TILE = 1024  # tile side used when ``tile`` is None and the image is larger than AUTO_TILE_PIXELS
AUTO_TILE_PIXELS = 2048 * 2048  # up to here one pass is fastest and fits comfortably in memory


def pad_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Reflect-pad an (H, W, C) image at the bottom/right so H and W are multiples of ``multiple``."""
    pad_h, pad_w = -image.shape[0] % multiple, -image.shape[1] % multiple
    mode = "reflect" if min(image.shape[:2]) > max(pad_h, pad_w) else "symmetric"
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def denoise_array(model: keras.Model, noisy: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Denoise one float32 (H, W, C) image in [0, 1] in a single pass; returns float32 (H, W, C), unclipped."""
    height, width = noisy.shape[:2]
    batch = pad_to_multiple(np.asarray(noisy, dtype=np.float32), multiple)[None]
    output = model(batch, training=False)
    return np.asarray(output, dtype=np.float32)[0, :height, :width]


def _tile_starts(length: int, tile: int) -> list[int]:
    return list(range(0, length, tile))


def denoise_tiled(model: keras.Model, noisy: np.ndarray, tile: int, margin: int = TILE_MARGIN) -> np.ndarray:
    """Denoise in ``tile`` x ``tile`` output blocks with ``margin`` pixels of context (both multiples of 32).

    Equal to :func:`denoise_array` on the whole image up to float rounding.
    """
    if tile % SIZE_MULTIPLE or margin % SIZE_MULTIPLE or tile <= 0:
        raise UserError(f"--tile {tile} must be a positive multiple of {SIZE_MULTIPLE}.")
    height, width = noisy.shape[:2]
    padded = pad_to_multiple(np.asarray(noisy), SIZE_MULTIPLE)
    output = np.empty(noisy.shape[:2] + (model.output_shape[-1],), dtype=np.float32)
    for top in _tile_starts(height, tile):
        for left in _tile_starts(width, tile):
            y0, x0 = max(0, top - margin), max(0, left - margin)
            y1, x1 = min(padded.shape[0], top + tile + margin), min(padded.shape[1], left + tile + margin)
            window = np.asarray(padded[y0:y1, x0:x1], dtype=np.float32)
            result = np.asarray(model(window[None], training=False), dtype=np.float32)[0]
            bottom, right = min(top + tile, height), min(left + tile, width)
            output[top:bottom, left:right] = result[top - y0 : bottom - y0, left - x0 : right - x0]
    return output


# The 8 flips/rotations of the square's symmetry group, as (forward, inverse) pairs.
_DIHEDRAL = [
    (lambda a, k=k, f=f: np.rot90(a[:, ::-1] if f else a, k), lambda a, k=k, f=f: (np.rot90(a, -k)[:, ::-1] if f else np.rot90(a, -k)))
    for f in (False, True)
    for k in range(4)
]


def denoise(image: np.ndarray, model: keras.Model, tile: int | None = None, tta: bool = False) -> np.ndarray:
    """Denoise a float (H, W, C) image in [0, 1]; returns float32 (H, W, C) clipped to [0, 1].

    ``C`` may be 1 with an RGB model (the gray image is replicated to RGB and the
    result averaged back), or match the model's channels. ``tile`` bounds memory
    for large images (see :func:`denoise_tiled`): ``None`` tiles only images
    above ``AUTO_TILE_PIXELS`` (tiling costs the context margins), ``0`` never.
    ``tta`` averages the 8 flips/rotations, which costs 8x the time.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    model_channels = model.output_shape[-1]
    if image.shape[-1] == 1 and model_channels == 3:
        return denoise(np.repeat(image, 3, axis=-1), model, tile, tta).mean(axis=-1, keepdims=True)
    if image.shape[-1] != model_channels:
        raise UserError(f"The image has {image.shape[-1]} channels but the model expects {model_channels}.")

    if tile is None:
        tile = AUTO_TILE if image.shape[0] * image.shape[1] > AUTO_TILE_PIXELS else 0

    def once(array: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(array)
        return denoise_tiled(model, array, tile) if tile else denoise_array(model, array)

    if not tta:
        return np.clip(once(image), 0.0, 1.0)
    total = np.zeros_like(image)
    for forward, inverse in _DIHEDRAL:
        total += inverse(once(forward(image)))
    return np.clip(total / len(_DIHEDRAL), 0.0, 1.0)


def load_model(path: str | Path, checkpoint: str = "best") -> keras.Model:
    """Load a trained model from a ``.keras`` file or a run directory.

    A run directory yields ``checkpoints/{checkpoint}.keras`` (``best`` by
    validation PSNR, or ``last``), falling back to the other one.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / "checkpoints" / f"{name}.keras" for name in (checkpoint, "last", "best")]
        found = next((candidate for candidate in candidates if candidate.is_file()), None)
        if found is None:
            raise UserError(f"No checkpoint in {path / 'checkpoints'}: train a model there first (n2n train ...).")
        path = found
    elif not path.is_file():
        raise UserError(f"Model '{path}' does not exist: pass a run directory or a .keras file.")
    try:
        return keras.saving.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise UserError(f"Could not load model {path} ({error}): is it a .keras file saved by noise2noise_keras?") from None
