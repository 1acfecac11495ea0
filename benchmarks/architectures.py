"""Every architecture, Noise2Noise on the same data, noise and CPU budget: Kodak σ=25 and the seeds' 32×32 patches.

    python benchmarks/architectures.py [--minutes 4] [--crop 64] [--batch-size 16] [--data-root ../shared/datasets]

The budget is the same number of CPU-seconds per network, on this machine
alone. Phase 1 measures each network's training throughput with nothing
else running (synthetic batches of the training shape, warm-up excluded,
median of five timed bursts). Phase 2 turns the budget into a step count per
network and trains it through the project's own code: ``n2n train --arch
NAME`` for the Keras networks, ``noise2noise_keras.scratch.train`` for the
NumPy one; the same BSDS300 train stream, Gaussian σ=25 on input and target,
seed, Adam at 1e-3. Because the budget is counted in steps, phase 2's results
do not depend on what else shares the CPU meanwhile. Phase 3 scores every
final model on Kodak (24 images) and on 600 fixed 32×32 BSDS300-test patches,
both with the project's fixed test noise. Writes
benchmarks/results/architectures.{json,md,png}.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from benchmark_results import RESULTS, write_results
from n2n_command import n2n

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.evaluation import TEST_SEED, score_images
from noise2noise_keras.losses import build_loss
from noise2noise_keras.metrics import psnr
from noise2noise_keras.models import ARCHITECTURES, build_model
from noise2noise_keras.noise import parse_noise
from noise2noise_keras.plots import save_ranking
from noise2noise_keras.precision import apply_precision, resolve_precision
from noise2noise_keras.scratch import optim
from noise2noise_keras.scratch.losses import MSE
from noise2noise_keras.scratch.train import held_out_patches, report_network
from noise2noise_keras.scratch.train import train as train_scratch

SCRATCH = "scratch"
LEARNING_RATE = 1e-3
SEEDS_REPORTED = {  # what each seed report measured for its own system (its data, its 32x32 test setting)
    "unet": "paper: 32.48 dB on Kodak σ=25 after 300k steps of 4 × 256² on a GPU",
    "hourglass": "seed 000: 19.62 → 24.20 dB",
    "unet_bn": "seed 001: 24.15 dB after 10 epochs, 25.75 after 25",
    "dsc": "seed 003: its perceptual-loss variant failed; we train it with L2, as every network here",
    SCRATCH: "seed 002: 12.68 dB",
}


def seconds_per_step(step, bursts: int = 5, steps_per_burst: int = 3) -> list[float]:
    """Time ``step()``: 3 warm-up calls, then ``bursts`` timed bursts; seconds per step of each burst."""
    for _ in range(3):
        step()
    timings = []
    for _ in range(bursts):
        start = time.perf_counter()
        for _ in range(steps_per_burst):
            step()
        timings.append((time.perf_counter() - start) / steps_per_burst)
    return timings


def compiled_model(arch: str, precision: str) -> keras.Model:
    """``arch`` built and compiled under ``precision``, set here because ``keras.backend.clear_session()`` resets the policy to float32."""
    apply_precision(precision)
    model = build_model(arch)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=build_loss("l2"), jit_compile=False)
    return model


def keras_step(arch: str, batch: np.ndarray, precision: str):
    model = compiled_model(arch, precision)
    return lambda: model.train_on_batch(batch, batch)


def default_step_seconds(batch: int, crop: int) -> float:
    """Median seconds per U-Net training step of ``batch`` × ``crop``² in the default precision (synthetic tensors), measured now."""
    step = keras_step("unet", np.random.default_rng(0).random((batch, crop, crop, 3), dtype=np.float32), resolve_precision("auto"))
    seconds = float(np.median(seconds_per_step(step)))
    keras.backend.clear_session()
    return seconds


def scratch_step(batch: np.ndarray):
    network, loss = report_network(), MSE()
    optimizer = optim.Adam(network.parameters(), LEARNING_RATE)

    def step() -> None:
        network.zero_grad()
        loss.forward(network.forward(batch), batch)
        network.backward(loss.backward())
        optimizer.step()

    return step


def measure_throughput(names: list[str], batch_size: int, crop: int) -> dict[str, dict[str, float]]:
    """Phase 1: images/s of a training step per network, measured alone, in the training precision."""
    precision = resolve_precision("auto")
    batch = np.random.default_rng(0).random((batch_size, crop, crop, 3), dtype=np.float32)
    throughput = {}
    for name in names:
        timings = seconds_per_step(scratch_step(batch) if name == SCRATCH else keras_step(name, batch, precision))
        keras.backend.clear_session()
        median = float(np.median(timings))
        throughput[name] = {"seconds_per_step": median, "spread": [min(timings), max(timings)], "images_per_second": batch_size / median}
        print(f"{name}: {median:.3f} s/step ({batch_size / median:.1f} images/s)", flush=True)
    return throughput


def epochs_and_steps(steps: int) -> tuple[int, int]:
    """Up to 10 epochs (validation points) covering ``steps``; the Keras runs train epochs x steps-per-epoch, a few more at most."""
    epochs = min(10, steps)
    return epochs, -(-steps // epochs)


def train_keras(arch: str, steps: int, run_dir: Path, args: argparse.Namespace) -> float:
    epochs, per_epoch = epochs_and_steps(steps)
    command = [
        "train",
        "gaussian",
        "bsds300",
        "--arch",
        arch,
        "--preset",
        "quick",
        "--epochs",
        str(epochs),
        "--steps",
        str(per_epoch),
        "--batch-size",
        str(args.batch_size),
        "--crop",
        str(args.crop),
        "--learning-rate",
        str(LEARNING_RATE),
        "--val-images",
        "2",
        "--seed",
        "0",
        "--data-root",
        str(args.data_root),
        "--run-dir",
        str(run_dir),
    ]
    start = time.perf_counter()
    n2n(*command)
    return time.perf_counter() - start


def score_scratch(network, kodak: list[tuple[str, np.ndarray]], kodak_noisy: list[np.ndarray]) -> list[float]:
    return [psnr(clean, np.clip(network.forward(noisy[None].astype(np.float32))[0], 0, 1)) for (_, clean), noisy in zip(kodak, kodak_noisy)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="CPU minutes of training per network (on this machine, alone)")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    parser.add_argument("--only", nargs="*", help="a subset of the networks (default: all)")
    args = parser.parse_args()
    names = args.only or [*ARCHITECTURES, SCRATCH]

    throughput = measure_throughput(names, args.batch_size, args.crop)
    steps = {name: max(1, round(args.minutes * 60 / throughput[name]["seconds_per_step"])) for name in names}
    steps = {name: count if name == SCRATCH else int(np.prod(epochs_and_steps(count))) for name, count in steps.items()}
    work = Path(tempfile.mkdtemp(prefix="n2n-architectures-"))
    kodak = read_images(dataset_files("kodak", "test", args.data_root))
    kodak_noisy = fixed_noise([image for _, image in kodak], parse_noise("gaussian,25"), TEST_SEED)
    patches_noisy, patches_clean = held_out_patches(args.data_root)
    results = {}
    for name in names:
        print(f"training {name} for {steps[name]} steps of {args.batch_size} × {args.crop}²", flush=True)
        if name == SCRATCH:
            start = time.perf_counter()
            network, record = train_scratch(args.data_root, minutes=float("inf"), batch_size=args.batch_size, max_steps=steps[name], crop=args.crop)
            wall = time.perf_counter() - start
            kodak_psnr, patch_psnr, parameters = score_scratch(network, kodak, kodak_noisy), record["psnr"], record["parameters"]
        else:
            wall = train_keras(name, steps[name], work / name, args)
            denoiser = load_denoiser(work / name, checkpoint="last")
            rows, _ = score_images(denoiser, kodak, kodak_noisy, with_ssim=False, progress=False)
            kodak_psnr = [row["psnr_denoised"] for row in rows]
            patch_rows, _ = score_images(denoiser, [("patch", p) for p in patches_clean], list(patches_noisy), with_ssim=False, progress=False)
            patch_psnr, parameters = float(np.mean([row["psnr_denoised"] for row in patch_rows])), denoiser.model.count_params()
            keras.backend.clear_session()
        results[name] = {
            "parameters": int(parameters),
            **throughput[name],
            "steps": steps[name],
            "train_wall_seconds": wall,
            "kodak_psnr": float(np.mean(kodak_psnr)),
            "kodak_psnr_std": float(np.std(kodak_psnr)),
            "patches_psnr": patch_psnr,
            "seed_reported": SEEDS_REPORTED[name],
        }
        print(f"{name}: Kodak {results[name]['kodak_psnr']:.2f} dB, 32×32 patches {patch_psnr:.2f} dB", flush=True)
    report(results, args, kodak, kodak_noisy, patches_clean, patches_noisy)


def report(results: dict, args: argparse.Namespace, kodak, kodak_noisy, patches_clean, patches_noisy) -> None:
    noisy = {
        "kodak": float(np.mean([psnr(clean, noisy) for (_, clean), noisy in zip(kodak, kodak_noisy)])),
        "patches": float(np.mean([psnr(clean, noisy) for clean, noisy in zip(patches_clean, patches_noisy)])),
    }
    environment = collect_environment()
    budget = {
        "cpu_minutes_per_network": args.minutes,
        "batch_size": args.batch_size,
        "crop": args.crop,
        "learning_rate": LEARNING_RATE,
        "schedule": "quick preset: Adam, cosine ramp-down over the last half",
        "noise": "gaussian,25 on input and target",
        "seed": 0,
    }
    ranked = sorted(results, key=lambda name: results[name]["kodak_psnr"], reverse=True)
    lines = [
        f"# Architectures: Noise2Noise, Gaussian σ=25, {args.minutes:g} CPU minutes each",
        "",
        f"Each network trained on BSDS300 train, {args.batch_size} × {args.crop}² noisy/noisy crops per step, Adam {LEARNING_RATE:g} with the "
        f"quick preset's ramp-down, seed 0, for the steps its measured throughput allows in {args.minutes:g} minutes on "
        f"{environment['cpu']} ({environment['cpu_count']} cores). Scored on Kodak (24 images, noisy {noisy['kodak']:.2f} dB) and 600 "
        f"32×32 BSDS300-test patches (noisy {noisy['patches']:.2f} dB), fixed test noise, 8-bit PSNR.",
        "",
        "| network | parameters | images/s (training) | steps | Kodak PSNR (dB) | 32×32 patches (dB) | the seed report's own result |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {name} | {r['parameters']:,} | {r['images_per_second']:.1f} | {r['steps']} | {r['kodak_psnr']:.2f} ± {r['kodak_psnr_std']:.2f} "
            f"| {r['patches_psnr']:.2f} | {r['seed_reported']} |"
            for name, r in ((name, results[name]) for name in ranked)
        ],
    ]  # fmt: skip
    if SCRATCH in results and "unet" in results:
        gap = results["unet"]["kodak_psnr"] - results[SCRATCH]["kodak_psnr"]
        patch_gap = results["unet"]["patches_psnr"] - results[SCRATCH]["patches_psnr"]
        lines += [
            "",
            f"The NumPy network (seed 002's) trails the Keras U-Net by {gap:.2f} dB on Kodak and {patch_gap:.2f} dB on the patches at equal CPU time.",
        ]
    write_results("architectures", {"budget": budget, "noisy_psnr": noisy, "networks": results, "environment": environment}, lines)
    save_ranking(
        RESULTS / "architectures.png", ranked, {"Kodak": [results[n]["kodak_psnr"] for n in ranked], "32×32 patches": [results[n]["patches_psnr"] for n in ranked]},
        noisy["kodak"], f"Noise2Noise at σ=25, {args.minutes:g} CPU minutes per network",
    )  # fmt: skip


if __name__ == "__main__":
    main()
