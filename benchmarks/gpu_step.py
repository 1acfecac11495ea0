"""The paper preset's training step on a GPU: mixed_float16 and float32, XLA off and on, and the hours 300k steps take.

    python benchmarks/gpu_step.py [--steps 50] [--data-root ../shared/datasets]

Prepared for a session that is lent a GPU for a few minutes: one run, each
configuration in a fresh process (``throughput.run_child``: its own precision
policy and XLA setting), at the paper preset's shape (batch 4 x 256², Adam
3e-4):

- Keras mixed_float16 and float32, XLA off and on, on synthetic tensors
  (the network's own speed);
- the project's default on a GPU (``--precision auto`` = mixed_float16, XLA
  off) fed by the real input pipeline (BSDS300, Gaussian noise on the fly),
  to show whether the CPU-side pipeline keeps the GPU busy.

Each row gives the median step, steps/s and the projected hours for the
paper's 300,000 steps, beside the official code's 7.5 hours on an NVIDIA
Titan V. Without a GPU the script stops, unless ``--allow-cpu`` (which the
tests use to check the script itself, at a small ``--crop``). Writes
benchmarks/results/gpu_step.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_results import RESULTS, write_results  # noqa: E402
from throughput import WARMUP, run_child  # noqa: E402

PAPER_STEPS = 300_000
PAPER_HOURS = 7.5  # the official code's training time for 300k steps on one NVIDIA Titan V
BATCH = 4  # the paper preset's batch


def gpu_names() -> list[str]:
    """Model names of the GPUs TensorFlow sees (empty without one)."""
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in tf.config.list_physical_devices("GPU")]


def measure(steps: int, crop: int, xla_modes: list[bool], data_root: str) -> list[dict[str, Any]]:
    """One row per configuration, each from a fresh process."""
    shape = dict(batch=BATCH, crop=crop, steps=steps, data_root=data_root)
    rows = [
        run_child("keras_training", precision=precision, xla=xla, feed="synthetic", **shape) for precision in ("mixed_float16", "float32") for xla in xla_modes
    ]
    rows.append(run_child("keras_training", precision="auto", xla=False, feed="gaussian", **shape) | {"default": True})
    for row in rows:
        row["steps_per_second"] = 1.0 / row["median_s"]
        row["projected_hours_300k"] = row["median_s"] * PAPER_STEPS / 3600
    return rows


def report(rows: list[dict[str, Any]], devices: list[str], steps: int, crop: int) -> tuple[list[str], dict[str, Any]]:
    """The Markdown table, and the environment it names."""
    from noise2noise_keras.environment import collect_environment

    environment = collect_environment()
    lines = [
        "# The paper preset's training step on a GPU",
        "",
        f"Device: {', '.join(devices) or 'none (CPU run, --allow-cpu)'}; host CPU {environment['cpu']} ({environment['cpu_count']} cores). "
        f"TensorFlow {environment['packages'].get('tensorflow') or environment['packages'].get('tensorflow-cpu')}, Keras {environment['packages'].get('keras')}, "
        f"commit {environment['git_commit'][:12]}. Batch {BATCH} × {crop}², Adam 3e-4, L2; each row a fresh process, "
        f"{WARMUP} warm-up steps excluded (XLA compiles there), median of {steps} steps (min–max).",
        "",
        f"| configuration | s/step (median) | min–max | steps/s | hours for {PAPER_STEPS:,} steps | speed vs the official code ({PAPER_HOURS} h on a Titan V) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        feed = "real input pipeline" if row["feed"] != "synthetic" else "synthetic tensors"
        name = f"Keras {row['precision']}, XLA {'on' if row['xla'] else 'off'}, {feed}" + (" **(default)**" if row.get("default") else "")
        lines.append(
            f"| {name} | {row['median_s']:.4f} | {row['min_s']:.4f}–{row['max_s']:.4f} | {row['steps_per_second']:.1f} | "
            f"{row['projected_hours_300k']:.2f} | {PAPER_HOURS / row['projected_hours_300k']:.2f}× |"
        )
    return lines, environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="timed steps per configuration")
    parser.add_argument("--crop", type=int, default=256, help="crop side (the paper: 256)")
    parser.add_argument("--xla", default="off,on", help="XLA settings to time: off, on or off,on")
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (to test this script)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the record gpu_step.{json,md} (default benchmarks/results/)")
    args = parser.parse_args()
    devices = gpu_names()
    if not devices and not args.allow_cpu:
        raise SystemExit(
            "No GPU is visible to TensorFlow: run this on a GPU machine with tensorflow[and-cuda] installed (or pass --allow-cpu to test the script)."
        )
    xla_modes = [{"off": False, "on": True}[mode] for mode in args.xla.split(",")]
    rows = measure(args.steps, args.crop, xla_modes, args.data_root)
    lines, environment = report(rows, devices, args.steps, args.crop)
    record = {"devices": devices, "batch": BATCH, "crop": args.crop, "steps": args.steps, "rows": rows, "environment": environment}
    write_results("gpu_step", record, lines, args.results)


if __name__ == "__main__":
    main()
