"""Is the default bf16 step slowed by TensorFlow running ops concurrently? Inter-op threads 1 vs the default, side by side.

    python benchmarks/interop_threads.py [--rounds 3] [--steps 10]

TensorFlow runs independent ops of a step at the same time (its inter-op
pool has one thread per core unless ``TF_NUM_INTEROP_THREADS`` says
otherwise), so on 2 cores two oneDNN primitives can share them. The
oneDNN-verbose profile in throughput.md gives the Keras default about twice
PyTorch's backward-weights time for the same problems and kernels; a
primitive stretched by a neighbour would look exactly like that. This
measures both settings in alternating child processes (``throughput.py``'s
children: synthetic tensors, the default precision, XLA off, warm-up
excluded), at both of its shapes, then one verbose profile of each and of PyTorch's best configuration.
Writes benchmarks/results/interop_threads.{json,md}.
"""

from __future__ import annotations

import argparse

from benchmark_results import write_results
from side_by_side import Setting, alternating_steps, profile_ms, profiles_table, steps_table

from noise2noise_keras.environment import collect_environment

SETTINGS = {"default": Setting(), "inter-op 1": Setting(environment={"TF_NUM_INTEROP_THREADS": "1"})}
PRECISIONS = ["auto"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two settings per shape")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per child")
    args = parser.parse_args()
    steps = alternating_steps(SETTINGS, PRECISIONS, args.rounds, args.steps)
    profiles = {f"Keras {name}": profile_ms("keras", setting) for name, setting in SETTINGS.items()} | {
        "PyTorch best (channels_last + bf16)": profile_ms("torch", Setting())
    }
    environment = collect_environment()
    lines = [
        "# Inter-op threads: the default bf16 training step with TensorFlow's concurrent ops vs one op at a time",
        "",
        f"{environment['cpu']}, {environment['cpu_count']} cores, commit {environment['git_commit'][:12]}. Median s/step of {args.steps} steps "
        f"per child process, {args.rounds} alternating rounds (each round's median listed); synthetic tensors, default precision, XLA off. "
        "`inter-op 1` is `TF_NUM_INTEROP_THREADS=1`.",
        "",
        *steps_table(steps, list(SETTINGS), PRECISIONS),
        "",
        *profiles_table(profiles),
    ]
    write_results(
        "interop_threads", {"step_seconds": steps, "onednn_ms": profiles, "rounds": args.rounds, "steps": args.steps, "environment": environment}, lines
    )


if __name__ == "__main__":
    main()
