"""Whole-image denoising with a trained model.

The U-Net needs sides that are multiples of 32: images are reflect-padded up to
the next multiple (as the official code does at test time), denoised, and
cropped back, so any size works.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from noise2noise_keras.errors import UserError


def pad_to_multiple(image: np.ndarray, multiple: int = 32) -> np.ndarray:
    """Reflect-pad an (H, W, C) image at the bottom/right so H and W are multiples of ``multiple``."""
    pad_h, pad_w = -image.shape[0] % multiple, -image.shape[1] % multiple
    mode = "reflect" if min(image.shape[:2]) > max(pad_h, pad_w) else "symmetric"
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def denoise_array(model: keras.Model, noisy: np.ndarray, multiple: int = 32) -> np.ndarray:
    """Denoise one float32 (H, W, C) image in [0, 1]; returns float32 (H, W, C), unclipped."""
    height, width = noisy.shape[:2]
    batch = pad_to_multiple(np.asarray(noisy, dtype=np.float32), multiple)[None]
    output = model(batch, training=False)
    return np.asarray(output)[0, :height, :width]


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
