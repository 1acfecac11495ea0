"""Is the default bf16 step slowed by TensorFlow running ops concurrently? Inter-op threads 1 vs the default, side by side.

    python benchmarks/interop_threads.py [--rounds 3] [--steps 10]

TensorFlow runs independent ops of a step at the same time (its inter-op
pool has one thread per core unless ``TF_NUM_INTEROP_THREADS`` says
otherwise), so on 2 cores two oneDNN primitives can share them. The
oneDNN-verbose profile in throughput.md gives the Keras default 2.2x
PyTorch's backward-weights time for the same problems and kernels; a
primitive stretched by a neighbour would look exactly like that. This
measures both settings in alternating child processes (``throughput.py``'s
children: synthetic tensors, the default precision, XLA off, warm-up
excluded), at both of its shapes, then one verbose profile of each and of PyTorch's best configuration.
Writes benchmarks/results/interop_threads.{json,md}.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmark_results import write_results
from noise2noise_keras.environment import collect_environment
from throughput import PRIMITIVE_CLASSES, PROFILE_STEPS, SHAPES, run_child

SETTINGS = {"default": {}, "inter-op 1": {"TF_NUM_INTEROP_THREADS": "1"}}


def profile_ms(framework: str, environment: dict[str, str]) -> dict[str, float]:
    """One oneDNN-verbose child at the first shape: ms per step by kind of primitive, and the step's wall time."""
    batch, crop = SHAPES[0]
    profile = run_child("onednn_profile", {"ONEDNN_VERBOSE": "1", **environment}, framework=framework, batch=batch, crop=crop, steps=PROFILE_STEPS)
    by_class = {name: sum(row["ms_per_step"] for row in profile["primitives"] if select(row)) for name, select in PRIMITIVE_CLASSES.items()}
    return {**by_class, "step (wall, verbose on)": profile["median_s"] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two settings per shape")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per child")
    args = parser.parse_args()
    steps: dict[str, list[float]] = {f"{b}x{c} {name}": [] for b, c in SHAPES for name in SETTINGS}
    for _ in range(args.rounds):
        for batch, crop in SHAPES:
            for name, environment in SETTINGS.items():
                row = run_child("keras_training", environment, precision="auto", xla=False, feed="synthetic", data_root="", batch=batch, crop=crop, steps=args.steps)
                steps[f"{batch}x{crop} {name}"].append(row["median_s"])
    profiles = {name: profile_ms("keras", environment) for name, environment in SETTINGS.items()} | {"PyTorch best": profile_ms("torch", {})}
    environment = collect_environment()
    lines = [
        "# Inter-op threads: the default bf16 training step with TensorFlow's concurrent ops vs one op at a time",
        "",
        f"{environment['cpu']}, {environment['cpu_count']} cores, commit {environment['git_commit'][:12]}. Median s/step of {args.steps} steps "
        f"per child process, {args.rounds} alternating rounds (each round's median listed); synthetic tensors, default precision, XLA off.",
        "",
        "| batch × crop | default (s) | `TF_NUM_INTEROP_THREADS=1` (s) | default / inter-op 1, per round |",
        "|---|---|---|---|",
    ]
    for batch, crop in SHAPES:
        default, serial = steps[f"{batch}x{crop} default"], steps[f"{batch}x{crop} inter-op 1"]
        ratios = ", ".join(f"{d / s:.2f}" for d, s in zip(default, serial))
        lines.append(f"| {batch} × {crop}² | {np.median(default):.3f} ({', '.join(f'{d:.3f}' for d in default)}) | "
                     f"{np.median(serial):.3f} ({', '.join(f'{s:.3f}' for s in serial)}) | {ratios} |")  # fmt: skip
    batch, crop = SHAPES[0]
    lines += ["", f"oneDNN verbose, ms per step at {batch} × {crop}² (mean of {PROFILE_STEPS} steps after warm-up):", "",
              "| ms per step | Keras " + " | Keras ".join(SETTINGS) + " | PyTorch best (channels_last + bf16) |", "|---|" + "---|" * len(profiles)]  # fmt: skip
    lines += [f"| {key} | " + " | ".join(f"{profile[key]:.0f}" for profile in profiles.values()) + " |" for key in profiles["default"]]
    write_results("interop_threads", {"step_seconds": steps, "onednn_ms": profiles, "rounds": args.rounds, "steps": args.steps, "environment": environment}, lines)


if __name__ == "__main__":
    main()
