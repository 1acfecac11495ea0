"""Matplotlib figures worth looking at: sample grids and evaluation summaries.

Uses the non-interactive Agg backend so figures render on headless nodes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from noise2noise_keras.atomic import atomic_path  # noqa: E402
from noise2noise_keras.metrics import psnr, to_uint8  # noqa: E402


def save_comparison_grid(path: str | Path, rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], title: str = "", reference: str = "clean") -> None:
    """One row per image: noisy | denoised | reference, PSNR (8-bit) against the reference in the titles.

    ``rows`` holds ``(name, noisy, denoised, reference)``; float images in [0, 1] or uint8.
    The reference is the clean image, or another noisy capture when there is none.
    """
    panels = [[(f"{name} noisy", noisy), (f"{name} denoised", denoised)] for name, noisy, denoised, _ in rows]
    save_panels(path, panels, [(f"{name} {reference}", clean) for name, _, _, clean in rows], title)


def save_panels(path: str | Path, rows: list[list[tuple[str, np.ndarray]]], references: list[tuple[str, np.ndarray]], title: str = "") -> None:
    """A grid of images, one row per entry of ``rows`` followed by that row's reference; PSNR against the reference in each title."""
    columns = len(rows[0]) + 1
    figure, axes = plt.subplots(len(rows), columns, figsize=(4 * columns, 4 * len(rows)), squeeze=False, layout="constrained")
    for row_axes, panels, (reference_label, reference) in zip(axes, rows, references):
        for axis, (label, image) in zip(row_axes, [*panels, (reference_label, None)]):
            shown = to_uint8(reference if image is None else image)
            axis.imshow(shown.squeeze(), cmap="gray" if shown.shape[-1] == 1 else None)
            axis.set_title(label if image is None else f"{label} {psnr(reference, image):.2f} dB")
            axis.axis("off")
    if title:
        figure.suptitle(title)
    save_figure(figure, path)


def save_psnr_bars(path: str | Path, names: list[str], noisy_psnr: list[float], denoised_psnr: list[float], title: str) -> None:
    """Per-image PSNR of the noisy input and the denoised output, with their means in the legend."""
    figure, axis = plt.subplots(figsize=(max(6, 0.45 * len(names) + 2), 4), layout="constrained")
    x = np.arange(len(names))
    axis.bar(x - 0.2, noisy_psnr, 0.4, label=f"noisy (mean {np.mean(noisy_psnr):.2f} dB)")
    axis.bar(x + 0.2, denoised_psnr, 0.4, label=f"denoised (mean {np.mean(denoised_psnr):.2f} dB)")
    axis.set_xticks(x, [Path(name).stem for name in names], rotation=90, fontsize=7)
    axis.set_ylabel("PSNR (dB)")
    axis.set_title(title)
    axis.legend(loc="lower right")
    save_figure(figure, path)


def save_ranking(path: str | Path, labels: list[str], series: dict[str, list[float]], noisy: float | None, title: str, unit: str = "PSNR (dB)") -> None:
    """Horizontal bars in the given order (first on top), one bar per series and label; the noisy input's score dashed, for scale."""
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.32 * len(labels) * len(series)), layout="constrained")
    height = 0.8 / len(series)
    y = np.arange(len(labels))[::-1].astype(float)
    for index, (name, values) in enumerate(series.items()):
        rows = y + 0.4 - height * (index + 0.5)
        axis.barh(rows, values, height, label=name if len(series) > 1 else None)
        for row, value in zip(rows, values):
            axis.text(value, row, f" {value:.4g}", va="center", fontsize=8)
    if noisy is not None:
        axis.axvline(noisy, color="gray", linestyle="--", label=f"noisy input {noisy:.4g}")
    everything = [value for values in series.values() for value in values] + ([noisy] if noisy is not None else [])
    low, high = min(everything), max(everything)
    pad = 0.1 * (high - low or abs(high) or 1.0)
    axis.set_xlim(low - pad, high + 1.5 * pad)
    axis.set_yticks(y, labels, fontsize=8)
    axis.set_xlabel(unit)
    axis.set_title(title)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="lower right", fontsize=8)
    save_figure(figure, path)


def save_figure(figure: plt.Figure, path: str | Path) -> None:
    """Write ``figure`` as a PNG atomically (a temporary file, then a rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=80, format="png")
    finally:
        plt.close(figure)
