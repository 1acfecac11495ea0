"""Effect of test-time augmentation (8 flips/rotations averaged) on Kodak PSNR.

    python benchmarks/tta_kodak.py [--model gaussian] [--noise gaussian,25] [--data-root ../shared/datasets]

Writes benchmarks/results/tta_kodak.{json,md}: per-image PSNR without and with
TTA on the same fixed noisy inputs, and the time each takes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.evaluation import TEST_SEED
from noise2noise_keras.metrics import psnr
from noise2noise_keras.noise import parse_noise

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--noise", default="gaussian,25")
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    args = parser.parse_args()
    denoiser = load_denoiser(args.model)
    images = read_images(dataset_files("kodak", "test", args.data_root))
    noise = parse_noise(args.noise)
    noisy_images = fixed_noise([image for _, image in images], noise, TEST_SEED)
    rows, seconds = [], {False: 0.0, True: 0.0}
    for (name, clean), noisy in zip(images, noisy_images):
        row = {"image": name}
        for tta in (False, True):
            start = time.perf_counter()
            row["psnr_tta" if tta else "psnr"] = psnr(clean, denoiser.denoise(noisy, tta=tta))
            seconds[tta] += time.perf_counter() - start
        rows.append(row)
    plain, augmented = np.mean([r["psnr"] for r in rows]), np.mean([r["psnr_tta"] for r in rows])
    report = {
        "model": args.model,
        "noise": noise.spec,
        "images": len(rows),
        "psnr_mean": plain,
        "psnr_tta_mean": augmented,
        "gain_db": augmented - plain,
        "seconds": {"plain": seconds[False], "tta": seconds[True]},
        "per_image": rows,
        "environment": collect_environment(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tta_kodak.json").write_text(json.dumps(report, indent=2) + "\n")
    text = (
        f"# Test-time augmentation on Kodak ({noise.spec}, model {args.model})\n\n"
        f"| | mean PSNR (dB) | time for {len(rows)} images (s) |\n|---|---|---|\n"
        f"| plain | {plain:.2f} | {seconds[False]:.1f} |\n| TTA x8 | {augmented:.2f} | {seconds[True]:.1f} |\n\n"
        f"Gain: {augmented - plain:+.2f} dB; CPU: {report['environment']['cpu']}.\n"
    )
    (RESULTS / "tta_kodak.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
