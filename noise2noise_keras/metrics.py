"""Image quality metrics in the paper's convention.

PSNR: both images are brought to 8 bits exactly as a user would save them —
scaled to 0-255, clipped, rounded to uint8 — then
``10 * log10(255^2 / MSE)`` per image; dataset figures are the mean of the
per-image values (not the PSNR of the mean MSE). SSIM: ``tf.image.ssim`` on
the same uint8 images (11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
luminance and colour channels averaged).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] (values outside are clipped) as uint8, rounded."""
    if image.dtype == np.uint8:
        return image
    return np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def psnr(clean: np.ndarray, estimate: np.ndarray) -> float:
    """PSNR in dB of ``estimate`` against ``clean`` (uint8, or float in [0, 1])."""
    difference = to_uint8(clean).astype(np.float64) - to_uint8(estimate).astype(np.float64)
    mse = float(np.mean(np.square(difference)))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def psnr_units(clean: np.ndarray, estimate: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB at full precision (no 8-bit rounding), for 16-bit and float data in model units."""
    mse = float(np.mean(np.square(np.asarray(clean, np.float64) - np.asarray(estimate, np.float64))))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def ssim(clean: np.ndarray, estimate: np.ndarray) -> float:
    """SSIM of ``estimate`` against ``clean`` (uint8, or float in [0, 1])."""
    a = tf.constant(to_uint8(clean))
    b = tf.constant(to_uint8(estimate))
    return float(tf.image.ssim(a, b, max_val=255))
