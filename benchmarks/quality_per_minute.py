"""Quality per CPU-minute: Kodak σ=25 PSNR of the ``quick`` and ``paper`` presets after 5, 20 and 60 minutes of training.

    python benchmarks/quality_per_minute.py [--minutes 5,20,60] [--presets quick,paper] [--data-root ../shared/datasets] [--report]

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

Writes benchmarks/results/quality_per_minute.{json,md,png} after every run on
a bf16 CPU (the goal's curve), ``quality_per_minute_float32.*`` where the
default precision is float32: a float32-only CPU, or one emulated on a bf16
CPU with ``--isa avx2`` (oneDNN on, limited as ``throughput.py --isa avx2``
limits it) or ``TF_ENABLE_ONEDNN_OPTS=0`` (Eigen); the record's header says which.
That record is also the resume state, kept across sessions (``runs/`` is
not): its step times plan the runs, and a run it holds with the same plan is
not trained again (``--remeasure`` measures afresh), wherever it runs: a
run trained on a slower CPU trains the same steps, and the record names each
run's CPUs. An interrupted run resumes from its checkpoints in ``--work``;
for a run longer than a session, keep it outside the checkout
(``--work /var/tmp/n2n-runs/quality_per_minute``).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
from architectures import default_step_seconds
from benchmark_results import RESULTS, trained_environment, write_results
from isa_limits import ISA_LIMITS, run_limited_to
from n2n_command import n2n

from noise2noise_keras.callbacks import read_metrics
from noise2noise_keras.config import PRESETS
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.plots import save_figure
from noise2noise_keras.precision import onednn_isa_limit, onednn_on, resolve_precision

VALIDATION = ["--val-dataset", "kodak", "--val-images", "24", "--val-noise", "gaussian,25"]


def measure_step_seconds(presets: list[str]) -> dict[str, float]:
    """Phase 1: median seconds per training step of each preset's shape, measured alone, in the default precision."""
    seconds = {}
    for preset in presets:
        batch, crop = PRESETS[preset]["batch_size"], PRESETS[preset]["crop"]
        seconds[preset] = default_step_seconds(batch, crop)
        print(f"{preset}: {seconds[preset]:.3f} s per step of {batch} × {crop}²", flush=True)
    return seconds


def record_name(precision: str) -> str:
    """The record a machine writes: bf16 CPUs (the goal's curve) one, other default precisions (float32-only CPUs) their own."""
    return "quality_per_minute" if precision == "mixed_bfloat16" else f"quality_per_minute_{precision}"


def conditions(precision: str, onednn: bool, isa_limit: str) -> str:
    """How the steps ran, for the record's header: the precision, and which kernels when they are not this CPU's best."""
    if not onednn:
        return f"{precision}; TensorFlow's Eigen kernels (oneDNN off: its default on CPUs without AVX-512 VNNI/BF16, AVX-VNNI or AMX)"
    if isa_limit:
        return f"{precision}; oneDNN limited to {isa_limit} (`ONEDNN_MAX_CPU_ISA`): such a CPU with oneDNN on, emulated on a better one"
    return precision


def plan(preset: str, minutes: list[int], chunk: int, step_seconds: float) -> list[dict]:
    """The runs of one preset: (run name, epochs, steps per epoch, the budgets read off it) with one validation per ``chunk`` minutes."""
    per_epoch = max(1, round(chunk * 60 / step_seconds))
    if preset == "paper":
        return [{"name": "paper", "epochs": max(minutes) // chunk, "steps": per_epoch, "budgets": minutes, "extra": ["--rampdown-fraction", "0"]}]
    return [{"name": f"quick-{m}min", "epochs": m // chunk, "steps": per_epoch, "budgets": [m], "extra": []} for m in minutes]


def recorded(run: dict, runs: dict[str, dict]) -> bool:
    """Whether ``runs`` (the record read back from JSON) holds ``run`` trained to the same plan: then it is not trained again."""
    return runs.get(run["name"], {}).get("plan") == run


def train(run: dict, preset: str, work: Path, data_root: str) -> list[dict[str, str]]:
    command = ["train", "gaussian", "bsds300", "--preset", preset, "--epochs", str(run["epochs"]),
               "--steps", str(run["steps"]), "--seed", "0", *VALIDATION, *run["extra"], "--data-root", data_root, "--run-dir", str(work / run["name"])]  # fmt: skip
    n2n(*command)
    return read_metrics(work / run["name"] / "metrics.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="5,20,60", help="training budgets in minutes (integers)")
    parser.add_argument("--presets", default="quick,paper")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--work", type=Path, help="where the runs train (default runs/<record name>)")
    parser.add_argument("--remeasure", action="store_true", help="measure the step times again (runs planned from the old ones are retrained)")
    parser.add_argument("--report", action="store_true", help="rewrite the table and curve from the recorded runs; train nothing")
    parser.add_argument("--isa", choices=sorted(ISA_LIMITS), default="native", help="avx2: limit oneDNN and MKL to AVX2, as on a float32-only CPU")
    args = parser.parse_args()
    run_limited_to(args.isa)  # the step timing and every training run under the same limits
    minutes, presets = sorted(int(m) for m in args.minutes.split(",")), args.presets.split(",")
    precision = resolve_precision("auto")
    how, name = conditions(precision, onednn_on(), onednn_isa_limit()), record_name(precision)
    work = args.work or Path("runs") / name  # never a bf16 run's folder: a run there with the same name would be resumed
    record_file = RESULTS / f"{name}.json"
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    measured = {} if args.remeasure else record.get("step_seconds", {})
    measured_on = {} if args.remeasure else record.get("step_cpus", {})
    if missing := [p for p in presets if p not in measured and not args.report]:
        measured |= measure_step_seconds(missing)
        measured_on |= dict.fromkeys(missing, collect_environment()["cpu"])
    finished = record.get("runs", {})
    chunk = math.gcd(*minutes)  # minutes per epoch: one validation each
    if args.report:
        report(name, precision, how, finished, measured, measured_on, presets, minutes, chunk)
        return
    for preset in presets:
        for run in plan(preset, minutes, chunk, measured[preset]):
            if recorded(run, finished):
                print(f"{run['name']}: recorded already", flush=True)
                continue
            print(f"{run['name']}: {run['epochs']} × {run['steps']} steps", flush=True)
            metrics = train(run, preset, work, args.data_root)
            finished[run["name"]] = {"preset": preset, "plan": run, "metrics": metrics, "environment": trained_environment(work / run["name"])}
            report(name, precision, how, finished, measured, measured_on, presets, minutes, chunk)


def step_times(step_seconds: dict[str, float], step_cpus: dict[str, str]) -> str:
    """Each preset's measured step time, grouped by the CPU that measured it: 'quick 0.140 s/step, paper 0.307 s/step on CPU'."""
    return "; ".join(
        ", ".join(f"{preset} {seconds:.3f} s/step" for preset, seconds in step_seconds.items() if step_cpus[preset] == cpu) + f" on {cpu}"
        for cpu in dict.fromkeys(step_cpus.values())
    )


def report(
    stem: str,
    precision: str,
    how: str,
    runs: dict[str, dict],
    step_seconds: dict[str, float],
    step_cpus: dict[str, str],
    presets: list[str],
    minutes: list[int],
    chunk: int,
) -> None:
    """Write record ``stem`` (also the resume state: a later session trains only the runs missing from it), its table and curve; ``how``: the steps' precision and kernels."""
    points, curves = [], {}
    for name, run in runs.items():
        metrics = run["metrics"]
        curves[name] = [(int(row["epoch"]) * chunk, float(row["val_psnr"])) for row in metrics]
        for budget in run["plan"]["budgets"]:
            row = metrics[budget // chunk - 1]
            wall = sum(float(r["epoch_seconds"]) for r in metrics[: int(row["epoch"])])
            points.append({"preset": run["preset"], "run": name, "minutes": budget, "steps": int(row["epoch"]) * run["plan"]["steps"],
                           "kodak_psnr": float(row["val_psnr"]), "kodak_ssim": float(row["val_ssim"]), "wall_seconds_with_validation": wall,
                           "trained": run["environment"]["trained"][:10], "commit": run["environment"]["git_commit"][:12],
                           "cpus": run["environment"]["start_cpus"]})  # fmt: skip
    points.sort(key=lambda p: (p["preset"], p["minutes"]))
    noisy = float(next(iter(runs.values()))["metrics"][-1]["val_psnr_noisy"])
    environment = collect_environment()
    done = {(p["preset"], p["minutes"]) for p in points}
    missing = [
        f"{preset} {m} min" for preset in dict.fromkeys([*presets, *(run["preset"] for run in runs.values())]) for m in minutes if (preset, m) not in done
    ]
    lines = [
        f"# Quality per CPU-minute: Kodak σ=25 after {', '.join(map(str, minutes))} minutes of Noise2Noise training ({precision})",
        "",
        f"Budgets are training-step time in the default precision ({how}), measured alone "
        f"({step_times(step_seconds, step_cpus)}), and kept as step counts, so a run trained "
        f"on another day or CPU (its date and CPU columns) trains the same steps; the wall column is that CPU's, validation included. "
        f"`paper`: its first steps at constant lr 3e-4 (one run, read at each budget); `quick`: one run per budget with its ramp-down. "
        f"Kodak 24 images, fixed test noise (noisy {noisy:.2f} dB).",
        "",
        "| preset | minutes | steps | Kodak PSNR (dB) | SSIM | wall incl. validation (min) | trained (commit) | on |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {p['preset']} | {p['minutes']} | {p['steps']} | {p['kodak_psnr']:.2f} | {p['kodak_ssim']:.4f} | {p['wall_seconds_with_validation'] / 60:.1f} "
            f"| {p['trained']} ({p['commit']}) | {' + '.join(p['cpus'])} |"
            for p in points
        ],
        *(["", f"**Not trained yet:** {', '.join(missing)} (re-run the command: recorded runs are kept)."] if missing else []),
    ]
    write_results(
        stem,
        {
            "points": points,
            "curves": curves,
            "step_seconds": step_seconds,
            "step_cpus": step_cpus,
            "noisy_psnr": noisy,
            "precision": how,
            "runs": runs,
            "environment": environment,
        },
        lines,
    )
    figure, axis = plt.subplots(figsize=(6, 4), layout="constrained")
    for preset in sorted({p["preset"] for p in points}):
        mine = [p for p in points if p["preset"] == preset]
        axis.plot([p["minutes"] for p in mine], [p["kodak_psnr"] for p in mine], "o-", label=f"{preset} preset")
    if "paper" in curves:
        axis.plot(*zip(*curves["paper"]), ":", color="gray", label="paper preset, every validation")
    axis.axhline(noisy, color="gray", linestyle="--", label=f"noisy input {noisy:.2f}")
    axis.set_xticks(minutes)
    axis.set(
        xlabel=f"training minutes (steps timed on {' / '.join(dict.fromkeys(step_cpus.values()))})",
        ylabel="Kodak PSNR (dB)",
        title=f"Noise2Noise, Gaussian σ=25, {precision}",
    )
    axis.legend(fontsize=8)
    save_figure(figure, RESULTS / f"{stem}.png")


if __name__ == "__main__":
    main()
