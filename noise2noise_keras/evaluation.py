"""Scoring a denoiser on whole images with fixed test noise, against the clean images.

Outputs (in ``out_dir``): ``per_image.csv``, ``summary.json`` (means, noise,
model, dataset) and ``figure.png`` (per-image PSNR bars) plus
``examples.png`` (noisy / denoised / clean for the first images).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.denoiser import Denoiser
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import LoadedImage, write_image
from noise2noise_keras.metrics import psnr, ssim
from noise2noise_keras.noise import NoiseModel, parse_noise
from noise2noise_keras.plots import save_comparison_grid, save_psnr_bars

TEST_SEED = 20180709  # fixed test-noise seed: every evaluation of every model sees the same noise
EXAMPLES_IN_FIGURE = 3
SSIM_WINDOW = 11  # tf.image.ssim's Gaussian filter: a scored image needs at least this many pixels on each side

log = logging.getLogger(__name__)


def scorable(images: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """``images`` without those too small for SSIM, each skipped one named in a warning.

    Checked when the images are read, so a training run learns of it before
    its first epoch rather than from the validation after it.
    """
    small = [name for name, image in images if min(image.shape[:2]) < SSIM_WINDOW]
    if small:
        log.warning("skipping %d image(s) under %d px on a side, too small to score with SSIM: %s", len(small), SSIM_WINDOW, ", ".join(small))
    return [(name, image) for name, image in images if min(image.shape[:2]) >= SSIM_WINDOW]


def score_images(
    denoiser: Denoiser,
    images: list[tuple[str, np.ndarray]],
    noisy_images: list[np.ndarray],
    with_ssim: bool = True,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]]:
    """Denoise each noisy image and score it and its noisy input against the clean uint8 image.

    Returns per-image rows and ``(name, noisy, denoised, clean)`` examples for figures.
    """
    rows, examples = [], []
    for (name, clean), noisy in tqdm(list(zip(images, noisy_images)), desc="evaluating", unit="img", disable=not progress):
        denoised = denoiser.denoise(noisy, tile=0)
        row = {"image": name, "psnr_noisy": psnr(clean, noisy), "psnr_denoised": psnr(clean, denoised)}
        if with_ssim:
            row.update(ssim_noisy=ssim(clean, noisy), ssim_denoised=ssim(clean, denoised))
        rows.append(row)
        if len(examples) < EXAMPLES_IN_FIGURE:
            examples.append((name, noisy, denoised, clean))
    return rows, examples


def evaluate_model(
    denoiser: Denoiser,
    images: list[tuple[str, np.ndarray]],
    noise: NoiseModel,
    out_dir: str | Path,
    info: dict[str, Any],
    seed: int = TEST_SEED,
    progress: bool = True,
    save_noisy: str | Path | None = None,
) -> dict[str, Any]:
    """Corrupt ``images`` with fixed noise, score the model on them, write the report, return its summary.

    ``save_noisy`` also writes the noisy inputs, unclipped and unrounded, as
    float32 TIFFs named after the images: ``n2n denoise`` (or any other tool)
    run on them sees exactly what the model saw here.
    """
    noisy_images = fixed_noise([image for _, image in images], noise, seed)
    if save_noisy is not None:
        Path(save_noisy).mkdir(parents=True, exist_ok=True)
        for (name, _), noisy in zip(images, noisy_images):
            write_image(Path(save_noisy) / f"{Path(name).stem}.tif", noisy, LoadedImage(noisy, None, {}))
    rows, examples = score_images(denoiser, images, noisy_images, progress=progress)
    return write_report(out_dir, rows, examples, {**info, "noise": noise.spec, "seed": seed})


def evaluate_named(
    model: str | Path,
    dataset: str | None = None,
    noise: str | None = None,
    checkpoint: str = "best",
    max_images: int | None = None,
    data_root: str | Path = "data",
    out_dir: str | Path | None = None,
    save_noisy: str | Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """``n2n evaluate``: score the denoiser named ``model`` (see ``artifacts.find_denoiser``) on ``dataset``'s test images.

    ``dataset`` and ``noise`` default to the model's own validation set and
    the paper's test noise for its training noise. Reports go to
    ``RUN_DIR/eval/<dataset>-<noise>`` for a run directory, else
    ``./eval/<model>/<dataset>-<noise>``. Returns the summary and the report folder.
    """
    from noise2noise_keras.artifacts import load_denoiser

    denoiser = load_denoiser(model, "float32", checkpoint)
    train = denoiser.spec.record.get("train_config") or {}
    dataset, spec = dataset or train.get("val_dataset"), noise or train.get("val_noise")
    if denoiser.spec.data_source != "synthetic" and noise is None:
        raise UserError(
            f"{model} was trained on your own captures: its held-out scores are in its metrics.csv; to score it on synthetic noise pass --dataset and --noise."
        )
    if dataset is None or spec is None:
        raise UserError(f"{model} does not record its validation data: pass --dataset and --noise.")
    test_noise = parse_noise(spec)
    images = scorable(read_images(dataset_files(dataset, "test", data_root)))[:max_images]
    if not images:
        raise UserError(f"No readable image of at least {SSIM_WINDOW} px on a side in '{dataset}': pass --dataset with a folder of images.")
    path = Path(model)
    reports = path / "eval" if (path / "checkpoints").is_dir() else Path("eval") / path.stem
    out_dir = Path(out_dir) if out_dir else reports / f"{Path(dataset).name}-{test_noise.spec.replace(',', '_')}"
    info = {"model": str(model), "checkpoint": checkpoint, "dataset": dataset}
    return evaluate_model(denoiser, images, test_noise, out_dir, info, save_noisy=save_noisy), out_dir


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean and standard deviation over images of every metric column."""
    summary = {"images": len(rows)}
    for key in rows[0]:
        if key != "image":
            values = np.array([row[key] for row in rows], dtype=np.float64)
            summary[f"{key}_mean"] = float(values.mean())
            summary[f"{key}_std"] = float(values.std())
    return summary


def write_report(
    out_dir: str | Path,
    rows: list[dict[str, Any]],
    examples: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    info: dict[str, Any],
) -> dict[str, Any]:
    """Write per_image.csv, summary.json, figure.png and examples.png; return the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "per_image.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {**info, **summarize(rows)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    title = f"{info.get('dataset', '')} / {info.get('noise', '')}"
    names = [row["image"] for row in rows]
    save_psnr_bars(out_dir / "figure.png", names, [r["psnr_noisy"] for r in rows], [r["psnr_denoised"] for r in rows], title)
    save_comparison_grid(out_dir / "examples.png", examples, title)
    return summary
