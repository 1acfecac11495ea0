"""Classical denoisers to compare against, from maintained libraries, with their parameter tuned per noise.

scikit-image's non-local means, wavelet (BayesShrink) and total-variation
(Chambolle) denoisers, and BM3D from the optional ``bm3d`` package
(``pip install bm3d``; note its non-commercial licence). Each takes a float
image in [0, 1] (noisy values outside are allowed) and one strength
parameter; :func:`tune` picks the parameter from a small grid by PSNR on
images the test set does not contain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet, estimate_sigma

from noise2noise_keras.errors import UserError
from noise2noise_keras.metrics import psnr


def _sigma(image: np.ndarray) -> float:
    return float(estimate_sigma(image, channel_axis=-1, average_sigmas=True))


def _nl_means(image: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` scales the filtering parameter h relative to the estimated noise sigma (skimage suggests ~0.8)."""
    sigma = _sigma(image)
    return denoise_nl_means(image, h=strength * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=-1)


def _wavelet(image: np.ndarray, strength: float) -> np.ndarray:
    """BayesShrink soft thresholds in YCbCr; ``strength`` scales the estimated noise sigma."""
    return denoise_wavelet(image, sigma=strength * _sigma(image), method="BayesShrink", mode="soft", convert2ycbcr=True, channel_axis=-1, rescale_sigma=True)


def _tv(image: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` is Chambolle's weight: larger is smoother."""
    return denoise_tv_chambolle(image, weight=strength, channel_axis=-1)


def _bm3d(image: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` scales the estimated noise sigma given to BM3D (its parameter is the noise PSD)."""
    try:
        import bm3d
    except ImportError:
        raise UserError("The BM3D baseline needs the optional bm3d package: pip install bm3d (non-commercial licence).") from None
    return bm3d.bm3d_rgb(image, strength * _sigma(image))


@dataclasses.dataclass(frozen=True)
class Baseline:
    name: str
    denoise: Callable[[np.ndarray, float], np.ndarray]
    grid: tuple[float, ...]


BASELINES: dict[str, Baseline] = {
    "nl_means": Baseline("non-local means (scikit-image)", _nl_means, (0.6, 0.8, 1.0, 1.3)),
    "wavelet": Baseline("wavelet BayesShrink (scikit-image)", _wavelet, (0.75, 1.0, 1.5, 2.0)),
    "tv": Baseline("total variation, Chambolle (scikit-image)", _tv, (0.03, 0.06, 0.12, 0.25)),
    "bm3d": Baseline("BM3D (bm3d package)", _bm3d, (0.8, 1.0, 1.2)),
}


def run_baseline(name: str, noisy: np.ndarray, strength: float) -> np.ndarray:
    """Denoise one image; the result is clipped to [0, 1] like every model output."""
    return np.clip(BASELINES[name].denoise(np.asarray(noisy, dtype=np.float64), strength), 0.0, 1.0).astype(np.float32)


def tune(name: str, cleans: list[np.ndarray], noisys: list[np.ndarray]) -> tuple[float, dict[float, float]]:
    """The grid value with the best mean PSNR on (clean uint8, noisy float) tuning images, and every value's score."""
    scores = {value: float(np.mean([psnr(c, run_baseline(name, n, value)) for c, n in zip(cleans, noisys)])) for value in BASELINES[name].grid}
    return max(scores, key=scores.get), scores
