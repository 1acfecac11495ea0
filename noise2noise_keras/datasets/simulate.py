"""A microscopy-like set of noisy 16-bit grayscale capture pairs, simulated offline.

Shows the whole own-data flow without any download: scikit-image's bundled
grayscale photographs, cut into tiles, are the clean scenes; each is
"acquired" twice by a camera model with independent noise (Poisson photon
noise + Gaussian read noise, then gain and offset into 16-bit counts, as
sCMOS/CCD cameras do). The expected counts are saved as ``clean/`` so the
result can be scored; training never reads them unless asked to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from noise2noise_keras.datasets.registry import sample_dir
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import LoadedImage, write_image

SOURCES = ("camera.png", "moon.png", "coins.png", "cell.png", "brick.png", "grass.png", "gravel.png", "page.png")
OFFSET = 100.0  # camera counts at zero light
GAIN = 500.0  # counts per photo-electron: the brightest pixels reach about half the 16-bit range
READ_NOISE = 1.5  # electrons (standard deviation)
BACKGROUND = 2.0  # photons per pixel everywhere


def clean_tiles(tile: int) -> list[tuple[str, np.ndarray]]:
    """Non-overlapping ``tile`` x ``tile`` grayscale crops of the bundled photographs, in [0, 1]."""
    tiles = []
    for source in SOURCES:
        with Image.open(sample_dir() / source) as image:
            gray = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
        for top in range(0, gray.shape[0] - tile + 1, tile):
            for left in range(0, gray.shape[1] - tile + 1, tile):
                tiles.append((f"{Path(source).stem}_{top:04d}_{left:04d}", gray[top : top + tile, left : left + tile]))
    return tiles


def expected_counts(clean: np.ndarray, peak: float) -> np.ndarray:
    """The noise-free camera counts of a clean [0, 1] image at ``peak`` photons for white."""
    return OFFSET + GAIN * (BACKGROUND + peak * clean)


def capture(clean: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """One noisy 16-bit acquisition: Poisson photons, Gaussian read noise, gain, offset, clipping."""
    electrons = rng.poisson(BACKGROUND + peak * clean) + rng.normal(0.0, READ_NOISE, clean.shape)
    return np.clip(np.rint(OFFSET + GAIN * electrons), 0, 65535).astype(np.uint16)


def simulate_pairs(out: str | Path, tile: int = 128, peak: float = 40.0, seed: int = 0, suffix: str = ".tif") -> int:
    """Write ``out/A``, ``out/B`` (two captures per scene) and ``out/clean``; return the number of scenes."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} already exists and is not empty: choose a new folder for the simulated captures.")
    if suffix not in (".tif", ".png"):
        raise UserError(f"Simulated captures are written as .tif or .png, not {suffix}.")
    rng = np.random.default_rng(seed)
    tiles = clean_tiles(tile)
    for folder in ("A", "B", "clean"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for name, clean in tiles:
        images = {"A": capture(clean, peak, rng), "B": capture(clean, peak, rng), "clean": np.rint(expected_counts(clean, peak)).astype(np.uint16)}
        for folder, pixels in images.items():
            write_image(out / folder / f"{name}{suffix}", pixels[..., None], LoadedImage(pixels[..., None], None, {}))
    return len(tiles)
