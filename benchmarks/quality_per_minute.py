"""Quality per CPU-minute: Kodak σ=25 PSNR of the ``quick`` and ``paper`` presets after 5, 20 and 60 minutes of training.

    python benchmarks/quality_per_minute.py [--minutes 5,20,60] [--presets quick,paper] [--data-root ../shared/datasets]

This is what a CPU user experiences. Phase 1 measures each preset's training
step (its batch and crop, the default precision, synthetic batches) with
nothing else running, and turns every budget into a step count, so phase 2's
results do not depend on what else shares the CPU later. Phase 2 trains
through the real command line, validating on the 24 Kodak images with the
fixed σ=25 test noise (``n2n evaluate``'s scores) after every
``gcd(minutes)`` of steps:

- ``paper``: one run at the paper's constant learning rate (its schedule holds
  3e-4 for the first 70 % of its 300k steps, so these are exactly its first
  steps); the curve is read off that one run at each budget.
- ``quick``: one run per budget, the preset's schedule (ramp-down over the
  last half) stretched over it: what a user with that many minutes runs.

Runs live in ``--work`` and are resumable: a finished run is skipped, and the
phase-1 step times are kept in ``steps.json`` there (delete it to re-measure).
Writes benchmarks/results/quality_per_minute.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

from architectures import keras_step, seconds_per_step
from benchmark_results import RESULTS, write_results
from noise2noise_keras.callbacks import read_metrics
from noise2noise_keras.config import PRESETS
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.plots import save_figure
from noise2noise_keras.precision import apply_precision, resolve_precision

VALIDATION = ["--val-dataset", "kodak", "--val-images", "24", "--val-noise", "gaussian,25"]


def measure_step_seconds(presets: list[str]) -> dict[str, float]:
    """Phase 1: median seconds per training step of each preset's shape, measured alone, in the default precision."""
    apply_precision(resolve_precision("auto"))
    seconds = {}
    for preset in presets:
        shape = (PRESETS[preset]["batch_size"], PRESETS[preset]["crop"], PRESETS[preset]["crop"], 3)
        seconds[preset] = float(np.median(seconds_per_step(keras_step("unet", np.random.default_rng(0).random(shape, dtype=np.float32)))))
        keras.backend.clear_session()
        print(f"{preset}: {seconds[preset]:.3f} s per step of {shape[0]} × {shape[1]}²", flush=True)
    return seconds


def plan(preset: str, minutes: list[int], chunk: int, step_seconds: float) -> list[dict]:
    """The runs of one preset: (run name, epochs, steps per epoch, the budgets read off it) with one validation per ``chunk`` minutes."""
    per_epoch = max(1, round(chunk * 60 / step_seconds))
    if preset == "paper":
        return [{"name": "paper", "epochs": max(minutes) // chunk, "steps": per_epoch, "budgets": minutes, "extra": ["--rampdown-fraction", "0"]}]
    return [{"name": f"quick-{m}min", "epochs": m // chunk, "steps": per_epoch, "budgets": [m], "extra": []} for m in minutes]


def train(run: dict, preset: str, work: Path, data_root: str) -> list[dict[str, str]]:
    command = [sys.executable, "-m", "noise2noise_keras", "train", "gaussian", "bsds300", "--preset", preset, "--epochs", str(run["epochs"]),
               "--steps", str(run["steps"]), "--seed", "0", *VALIDATION, *run["extra"], "--data-root", data_root, "--run-dir", str(work / run["name"])]  # fmt: skip
    subprocess.run(command, check=True)
    return read_metrics(work / run["name"] / "metrics.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="5,20,60", help="training budgets in minutes (integers)")
    parser.add_argument("--presets", default="quick,paper")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--work", type=Path, default=Path("runs/quality_per_minute"))
    args = parser.parse_args()
    minutes, presets = sorted(int(m) for m in args.minutes.split(",")), args.presets.split(",")
    args.work.mkdir(parents=True, exist_ok=True)
    steps_file = args.work / "steps.json"
    measured = json.loads(steps_file.read_text()) if steps_file.is_file() else {}
    if missing := [p for p in presets if p not in measured]:
        measured |= measure_step_seconds(missing)
        steps_file.write_text(json.dumps(measured, indent=2) + "\n")

    chunk = math.gcd(*minutes)  # minutes per epoch: one validation each
    points, curves = [], {}
    for preset in presets:
        for run in plan(preset, minutes, chunk, measured[preset]):
            print(f"{run['name']}: {run['epochs']} × {run['steps']} steps", flush=True)
            metrics = train(run, preset, args.work, args.data_root)
            curves[run["name"]] = [(int(row["epoch"]) * chunk, float(row["val_psnr"])) for row in metrics]
            for budget in run["budgets"]:
                row = metrics[budget // chunk - 1]
                wall = sum(float(r["epoch_seconds"]) for r in metrics[: int(row["epoch"])])
                points.append({"preset": preset, "run": run["name"], "minutes": budget, "steps": int(row["epoch"]) * run["steps"],
                               "kodak_psnr": float(row["val_psnr"]), "kodak_ssim": float(row["val_ssim"]), "wall_seconds_with_validation": wall})  # fmt: skip
    noisy = float(metrics[-1]["val_psnr_noisy"])
    report(points, curves, measured, noisy, minutes)


def report(points: list[dict], curves: dict, step_seconds: dict, noisy: float, minutes: list[int]) -> None:
    environment = collect_environment()
    lines = [
        "# Quality per CPU-minute: Kodak σ=25 after 5, 20 and 60 minutes of Noise2Noise training",
        "",
        f"{environment['cpu']}, {environment['cpu_count']} cores, precision {resolve_precision('auto')}; budgets are training-step time measured alone "
        f"({', '.join(f'{p} {s:.3f} s/step' for p, s in step_seconds.items())}); validation time on top is in the wall column. "
        f"`paper`: its first steps at constant lr 3e-4 (one run, read at each budget); `quick`: one run per budget with its ramp-down. "
        f"Kodak 24 images, fixed test noise (noisy {noisy:.2f} dB).",
        "",
        "| preset | minutes | steps | Kodak PSNR (dB) | SSIM | wall incl. validation (min) |",
        "|---|---|---|---|---|---|",
        *[f"| {p['preset']} | {p['minutes']} | {p['steps']} | {p['kodak_psnr']:.2f} | {p['kodak_ssim']:.4f} | {p['wall_seconds_with_validation'] / 60:.1f} |" for p in points],
    ]
    write_results("quality_per_minute", {"points": points, "curves": curves, "step_seconds": step_seconds, "noisy_psnr": noisy, "environment": environment}, lines)
    figure, axis = plt.subplots(figsize=(6, 4), layout="constrained")
    for preset in sorted({p["preset"] for p in points}):
        mine = [p for p in points if p["preset"] == preset]
        axis.plot([p["minutes"] for p in mine], [p["kodak_psnr"] for p in mine], "o-", label=f"{preset} preset")
    if "paper" in curves:
        axis.plot(*zip(*curves["paper"]), ":", color="gray", label="paper preset, every validation")
    axis.axhline(noisy, color="gray", linestyle="--", label=f"noisy input {noisy:.2f}")
    axis.set_xticks(minutes)
    axis.set(xlabel="training minutes on this CPU", ylabel="Kodak PSNR (dB)", title="Noise2Noise, Gaussian σ=25")
    axis.legend(fontsize=8)
    save_figure(figure, RESULTS / "quality_per_minute.png")


if __name__ == "__main__":
    main()
