"""Noise2Noise with the NumPy framework, in the seed report's setting: 32 x 32 noisy/noisy patch pairs.

    python -m noise2noise_keras.scratch.train [--minutes 15] [--data-root ../shared/datasets]

The data, noise, test noise and PSNR are the project's own (``NoisyDataset``
streams BSDS300 train crops with independent Gaussian noise on input and
target; the score is the mean 8-bit PSNR over fixed-noise 32 x 32 patches of
BSDS300 test). Only the network, its gradients and the optimiser are NumPy.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import NoisyDataset, fixed_noise
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.evaluation import TEST_SEED
from noise2noise_keras.metrics import psnr
from noise2noise_keras.noise import parse_noise
from noise2noise_keras.scratch.losses import MSE
from noise2noise_keras.scratch.modules import Conv2d, NearestUpsampling, ReLU, Sequential, Sigmoid
from noise2noise_keras.scratch.optim import Adam

PATCH = 32
PATCHES_PER_TEST_IMAGE = 6


def report_network(rng: np.random.Generator | None = None, width: int = 48) -> Sequential:
    """The seed report's network (its Table 1): two stride-2 2x2 convolutions down, two (nearest x2 + 3x3 conv) up, sigmoid."""
    rng = rng or np.random.default_rng(0)
    return Sequential(
        Conv2d(3, width, 2, stride=2, rng=rng), ReLU(),
        Conv2d(width, 2 * width, 2, stride=2, rng=rng), ReLU(),
        NearestUpsampling(2), Conv2d(2 * width, width, 3, padding=1, rng=rng), ReLU(),
        NearestUpsampling(2), Conv2d(width, 3, 3, padding=1, rng=rng), Sigmoid(),
    )  # fmt: skip


def held_out_patches(data_root: str | Path, noise_spec: str = "gaussian,25") -> tuple[np.ndarray, np.ndarray]:
    """Fixed (noisy, clean) 32 x 32 patches: a 2 x 3 grid from each BSDS300 test image, the project's fixed test noise."""
    clean = []
    for _, image in read_images(dataset_files("bsds300", "test", data_root)):
        for row in range(2):
            for column in range(3):
                top, left = (row + 1) * image.shape[0] // 3 - PATCH // 2, (column + 1) * image.shape[1] // 4 - PATCH // 2
                clean.append(image[top : top + PATCH, left : left + PATCH])
    noisy = fixed_noise(clean, parse_noise(noise_spec), TEST_SEED)
    return np.stack(noisy).astype(np.float32), np.stack(clean)


def mean_psnr(network: Sequential, noisy: np.ndarray, clean: np.ndarray, batch: int = 500) -> float:
    denoised = np.concatenate([network.forward(noisy[i : i + batch]) for i in range(0, len(noisy), batch)])
    return float(np.mean([psnr(c, d) for c, d in zip(clean, denoised)]))


def train(
    data_root: str | Path,
    minutes: float = 15.0,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    max_steps: int | None = None,
    crop: int = PATCH,
) -> tuple[Sequential, dict[str, Any]]:
    """Train on ``crop``-sided pairs for ``minutes`` of wall time (or ``max_steps``).

    Returns the network and its record: the test-patch PSNR after each
    minute and at the end, and the throughput.
    """
    images = [image for _, image in read_images(dataset_files("bsds300", "train", data_root))]
    stream = NoisyDataset(images, parse_noise("gaussian,25"), crop=crop, augment=True, seed=seed).stream(batch_size).as_numpy_iterator()
    noisy_test, clean_test = held_out_patches(data_root)
    network = report_network(np.random.default_rng(seed))
    optimizer, loss = Adam(network.parameters(), learning_rate), MSE()
    history = [{"seconds": 0.0, "steps": 0, "psnr": mean_psnr(network, noisy_test, clean_test)}]
    started, steps, next_report = time.perf_counter(), 0, 60.0
    while (elapsed := time.perf_counter() - started) < minutes * 60 and steps != max_steps:
        source, target = next(stream)
        network.zero_grad()
        loss.forward(network.forward(source), target)
        network.backward(loss.backward())
        optimizer.step()
        steps += 1
        if elapsed >= next_report:
            history.append({"seconds": elapsed, "steps": steps, "psnr": mean_psnr(network, noisy_test, clean_test)})
            print(f"{elapsed / 60:5.1f} min, {steps} steps: {history[-1]['psnr']:.2f} dB", flush=True)
            next_report += 60.0
    seconds = time.perf_counter() - started
    final = mean_psnr(network, noisy_test, clean_test)
    history.append({"seconds": seconds, "steps": steps, "psnr": final})
    return network, {
        "psnr": final,
        "psnr_noisy": float(np.mean([psnr(c, n) for c, n in zip(clean_test, noisy_test)])),
        "test_patches": len(clean_test),
        "steps": steps,
        "batch_size": batch_size,
        "crop": crop,
        "train_seconds": seconds,
        "images_per_second": steps * batch_size / seconds,
        "parameters": int(sum(p.value.size for p in network.parameters())),
        "history": history,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    _, result = train(args.data_root, args.minutes, args.batch_size, args.learning_rate)
    print(
        f"NumPy framework: {result['psnr']:.2f} dB on {result['test_patches']} test patches (noisy {result['psnr_noisy']:.2f} dB), "
        f"{result['steps']} steps, {result['images_per_second']:.0f} images/s"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
