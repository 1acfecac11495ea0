"""`n2n denoise` on the 24 Kodak images at sigma 25 scores what `n2n evaluate` scores (target: within 0.01 dB).

    python benchmarks/denoise_vs_evaluate.py [--model gaussian] [--noise gaussian,25]

Runs both real commands in child processes: `n2n evaluate --save-noisy` writes
the exact noisy inputs it scored (float32 TIFFs), `n2n denoise` denoises that
folder, and the denoised files are scored here against the clean images. A
second row denoises 8-bit PNG copies of the same inputs (clipped and rounded,
as a user's saved photo would be) to show what that quantisation costs.
Writes benchmarks/results/denoise_vs_evaluate.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np
from n2n_command import n2n
from PIL import Image

from noise2noise_keras.datasets.images import read_rgb
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.image_io import read_image
from noise2noise_keras.metrics import psnr, to_uint8

RESULTS = Path(__file__).resolve().parent / "results"
DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def scores(folder: Path, suffix: str) -> dict[str, float]:
    """PSNR of every denoised file in ``folder`` against its clean Kodak original."""
    return {path.stem: psnr(read_rgb(DATA_ROOT / "kodak" / f"{path.stem}.png"), read_image(path).pixels) for path in sorted(folder.glob(f"*{suffix}"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--noise", default="gaussian,25")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="n2n-denoise-vs-evaluate-"))
    folders = {name: work / name for name in ("eval", "noisy", "noisy_png", "denoised", "denoised_png")}
    n2n(
        "evaluate",
        args.model,
        "--dataset",
        "kodak",
        "--noise",
        args.noise,
        "--data-root",
        DATA_ROOT,
        "--out",
        folders["eval"],
        "--save-noisy",
        folders["noisy"],
    )
    for name in ("noisy_png", "denoised", "denoised_png"):
        folders[name].mkdir()
    for path in sorted(folders["noisy"].glob("*.tif")):
        Image.fromarray(to_uint8(read_image(path).pixels)).save(folders["noisy_png"] / f"{path.stem}.png")
    n2n("denoise", folders["noisy"], "-o", folders["denoised"], "--model", args.model)
    n2n("denoise", folders["noisy_png"], "-o", folders["denoised_png"], "--model", args.model)

    summary = json.loads((folders["eval"] / "summary.json").read_text())
    exact, quantised = scores(folders["denoised"], ".tif"), scores(folders["denoised_png"], ".png")
    with open(folders["eval"] / "per_image.csv", newline="") as handle:
        evaluated = {Path(row["image"]).stem: float(row["psnr_denoised"]) for row in csv.DictReader(handle)}
    difference = [abs(exact[name] - evaluated[name]) for name in evaluated]
    report = {
        "model": args.model,
        "noise": args.noise,
        "images": len(exact),
        "evaluate_psnr_mean": summary["psnr_denoised_mean"],
        "denoise_psnr_mean": float(np.mean(list(exact.values()))),
        "mean_difference_db": abs(float(np.mean(list(exact.values()))) - summary["psnr_denoised_mean"]),
        "max_per_image_difference_db": max(difference),
        "denoise_8bit_png_psnr_mean": float(np.mean(list(quantised.values()))),
        "per_image": [{"image": name, "evaluate": evaluated[name], "denoise": exact[name], "denoise_8bit_png": quantised[name]} for name in evaluated],
        "environment": collect_environment(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "denoise_vs_evaluate.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# `n2n denoise` vs `n2n evaluate` (Kodak, {report['images']} images, {args.noise}, model {args.model})",
        "",
        "| what | mean PSNR (dB) |",
        "|---|---|",
        f"| `n2n evaluate` | {report['evaluate_psnr_mean']:.4f} |",
        f"| `n2n denoise` on the saved noisy inputs (float TIFF) | {report['denoise_psnr_mean']:.4f} |",
        f"| `n2n denoise` on 8-bit PNG copies (clipped, rounded) | {report['denoise_8bit_png_psnr_mean']:.4f} |",
        "",
        f"Difference of the means: {report['mean_difference_db']:.5f} dB (target ≤ 0.01); largest per-image difference: "
        f"{report['max_per_image_difference_db']:.5f} dB.",
    ]
    (RESULTS / "denoise_vs_evaluate.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
