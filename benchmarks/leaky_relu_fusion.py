"""What the U-Net's FusableLeakyReLU buys: the training step with it vs with Keras' own LeakyReLU, side by side.

    python benchmarks/leaky_relu_fusion.py [--rounds 3] [--steps 10]

With Keras' layer, TensorFlow's LeakyRelu gradient keeps each convolution +
bias sum alive for the backward pass; grappler's remapper then fails and drops
its rewrites of the whole training graph, so every leaky ReLU stays an op of
its own (see ``noise2noise_keras/models/leaky_relu.py``).
This times both layers in alternating child processes (``throughput.py``'s
children: synthetic tensors, XLA off, warm-up excluded) at both of its shapes,
in the default precision and in float32, inference on a 768 x 512 image in
both precisions, then one oneDNN-verbose profile and one TensorFlow-profiler
trace of each training step in the default precision. Writes benchmarks/results/leaky_relu_fusion.{json,md}.
"""

from __future__ import annotations

import argparse

import numpy as np
from benchmark_results import write_results
from side_by_side import Setting, alternating, alternating_steps, op_profile, op_types_table, profile_ms, profiles_table, steps_table

from noise2noise_keras.environment import collect_environment

SETTINGS = {
    "FusableLeakyReLU": Setting(arguments={"leaky_relu": "fusable"}),
    "keras.layers.LeakyReLU": Setting(arguments={"leaky_relu": "keras"}),
}
PRECISIONS = ["auto", "float32"]
INFERENCE_PRECISIONS = ["mixed_bfloat16", "float32"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two layers per shape and precision")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per child")
    args = parser.parse_args()
    steps = alternating_steps(SETTINGS, PRECISIONS, args.rounds, args.steps)
    inference = alternating("keras_inference", SETTINGS, {p: {"precision": p} for p in INFERENCE_PRECISIONS}, args.rounds, repeats=args.steps)
    profiles = {name: profile_ms("keras", setting) for name, setting in SETTINGS.items()}
    op_profiles = {name: op_profile(setting) for name, setting in SETTINGS.items()}
    environment = collect_environment()
    lines = [
        "# Leaky ReLU and grappler's fusions: the U-Net training step with FusableLeakyReLU vs Keras' LeakyReLU",
        "",
        f"{environment['cpu']}, {environment['cpu_count']} cores, commit {environment['git_commit'][:12]}. Median s/step of {args.steps} steps "
        f"per child process, {args.rounds} alternating rounds (each round's median listed); synthetic tensors, XLA off; "
        "`auto` is the default precision (mixed_bfloat16 on this CPU).",
        "",
        *steps_table(steps, list(SETTINGS), PRECISIONS),
        "",
        f"Inference (no gradient, so no remapper failure either way): `predict_on_batch` on one 768 × 512 image, median s of {args.steps} calls per child:",
        "",
        "| precision | " + " | ".join(f"{name} (s)" for name in SETTINGS) + " |",
        "|---|" + "---|" * len(SETTINGS),
        *(
            f"| {precision} | " + " | ".join(f"{np.median(inference[f'{precision} {name}']):.3f}" for name in SETTINGS) + " |"
            for precision in INFERENCE_PRECISIONS
        ),
        "",
        *profiles_table(profiles),
        "",
        *op_types_table(op_profiles),
    ]
    record = {"step_seconds": steps, "inference_seconds": inference, "onednn_ms": profiles, "tensorflow_ops": op_profiles}
    write_results("leaky_relu_fusion", record | {"rounds": args.rounds, "steps": args.steps, "environment": environment}, lines)


if __name__ == "__main__":
    main()
