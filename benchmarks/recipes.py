"""Training recipes side by side at equal CPU time: the `cpu` preset against one change at a time.

    python benchmarks/recipes.py --data-root DIR [--variants cpu,lr-2e-3,crop-192] [--noise gaussian]
        [--minutes 20] [--chunk 5] [--work /var/tmp/n2n-recipes] [--record recipes_gaussian] [--base cpu]

Each variant is the `cpu` preset (what ``jobs/make_pretrained.sh`` trains the
shipped models with) plus a few ``n2n train`` options (``VARIANTS``). Phase 1
times each variant's training step (its batch and crop, the default
precision) with nothing else running and turns the budget into a step count;
phase 2 trains every variant through the real command line for that many
steps, its ramp-down stretched over them, validating on the 24 Kodak images
at the paper's test noise every ``--chunk`` minutes. Variants of the same
batch × crop get exactly the same steps, so their comparison does not
depend on what else shares the CPU during phase 2; only the step times of
phase 1 do (the real input pipeline adds a little on top, more for some
shapes than others: the wall column shows each run's). Every model is scored at its last step (no peeking at clean data
to pick a checkpoint). The record (RECORD.json) is also the resume state: a
variant it holds with the same plan (options and preset) is not trained again, and an interrupted
run resumes from ``--work``. ``--base`` names the variant the others are
compared to (and that always runs): ``stage2`` compares second stages, each
starting from the shipped model named after the noise (``--init-from``).
Writes benchmarks/results/RECORD.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
from architectures import default_step_seconds
from benchmark_results import RESULTS, trained_environment, write_results
from n2n_command import n2n

from noise2noise_keras.callbacks import read_metrics
from noise2noise_keras.config import PRESETS
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.noise import paper_test_noise
from noise2noise_keras.plots import save_figure
from noise2noise_keras.precision import resolve_precision

BASE = "cpu"
STAGE2 = ["--init-from", "{noise}", "--learning-rate", "5e-4"]
VARIANTS = {  # name -> (what it changes, n2n train options on top of --preset cpu)
    "cpu": ("the preset: 12 × 96², lr 1e-3, cos² ramp-down over the last half, flips, gradient norm clipped to 1", []),
    "lr-3e-4": ("the paper's learning rate", ["--learning-rate", "3e-4"]),
    "lr-5e-4": ("half the learning rate", ["--learning-rate", "5e-4"]),
    "lr-2e-3": ("twice the learning rate", ["--learning-rate", "2e-3"]),
    "rampdown-0.3": ("the paper's ramp-down over the last 30 %", ["--rampdown-fraction", "0.3"]),
    "rampdown-0.8": ("ramp-down over the last 80 %", ["--rampdown-fraction", "0.8"]),
    "crop-128": ("8 × 128² (the earlier shipped models' batch)", ["--batch-size", "8", "--crop", "128"]),
    "crop-192": ("3 × 192²: the same pixels per step, 4× the context", ["--batch-size", "3", "--crop", "192"]),
    "no-flips": ("no flips or rotations", ["--no-augment"]),
    "no-clip": ("no gradient clipping", ["--clip-norm", "0"]),
    "anneal-1.25": ("L0 (impulse): the exponent ends at 0.4 instead of 0", ["--anneal-fraction", "1.25"]),
    "anneal-2": ("L0 (impulse): the exponent stops at 1 (L1-like)", ["--anneal-fraction", "2"]),
    # Second stages ({noise}: the shipped model of the noise trained), as the shipped models' stage 2 (docs/shipped-models.md).
    "stage2": ("a second stage: the shipped model, a fresh Adam at 5e-4", STAGE2),
    "stage2-anneal-1": ("a second stage whose L0 exponent starts at 1 (L1-like), not 2", [*STAGE2, "--anneal-start", "1"]),
    "stage2-anneal-0.5": ("a second stage whose L0 exponent starts at 0.5", [*STAGE2, "--anneal-start", "0.5"]),
}


def option(variant: str, name: str) -> int:
    """A batch or crop option of ``variant`` (the preset's where it sets none)."""
    extra, flag = VARIANTS[variant][1], f"--{name.replace('_', '-')}"
    return int(extra[extra.index(flag) + 1]) if flag in extra else PRESETS[BASE][name]


def shape_of(variant: str) -> str:
    return f"{option(variant, 'batch_size')}x{option(variant, 'crop')}"


def measure_step_seconds(shapes: list[str]) -> dict[str, float]:
    """Phase 1: median seconds per training step of each batch × crop, measured alone, in the default precision."""
    seconds = {}
    for shape in shapes:
        seconds[shape] = default_step_seconds(*map(int, shape.split("x")))
        print(f"{shape}: {seconds[shape]:.3f} s per step", flush=True)
    return seconds


def plan(variant: str, noise: str, minutes: int, chunk: int, step_seconds: float) -> dict:
    """The run of one variant: epochs of ``chunk`` minutes' steps (one Kodak validation each), ``minutes`` in all.

    It names the preset's settings and the change as they are today, so a
    recorded run is trained again once the preset moves on, and its table row
    still says what that run changed.
    """
    epochs = max(1, minutes // chunk)
    return {"variant": variant, "noise": noise, "minutes": minutes, "epochs": epochs, "steps": max(1, round(minutes * 60 / epochs / step_seconds)),
            "options": [option.format(noise=noise) for option in VARIANTS[variant][1]], "change": VARIANTS[variant][0], "preset": PRESETS[BASE]}  # fmt: skip


def train(run: dict, work: Path, data_root: str) -> list[dict[str, str]]:
    """Train (or resume) one variant through the CLI; its metrics.csv rows."""
    run_dir = work / f"{run['noise']}-{run['variant']}"
    command = ["train", run["noise"], "bsds300", "--preset", BASE, "--epochs", str(run["epochs"]),
               "--steps", str(run["steps"]), "--seed", "0", "--val-dataset", "kodak", "--val-images", "24", "--data-root", data_root,
               "--run-dir", str(run_dir), *run["options"]]  # fmt: skip
    print(" ".join(command), flush=True)
    n2n(*command)
    return read_metrics(run_dir / "metrics.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="cpu,lr-2e-3,crop-192", help=f"comma-separated, from: {', '.join(VARIANTS)} (--base always runs)")
    parser.add_argument("--base", default=BASE, choices=VARIANTS, help="the variant the others are compared to")
    parser.add_argument("--noise", default="gaussian", help="the noise type trained (scored at the paper's test noise on Kodak)")
    parser.add_argument("--minutes", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=5, help="minutes between validations")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/n2n-recipes"))
    parser.add_argument("--record", default="", help="file name under benchmarks/results (default: recipes_NOISE)")
    parser.add_argument("--measure-only", action="store_true", help="phase 1 alone: time the steps into the record, train nothing")
    args = parser.parse_args()
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}: choose from {', '.join(VARIANTS)}")
    variants = list(dict.fromkeys([args.base, *args.variants.split(",")]))
    name = args.record or f"recipes_{args.noise}"
    record_file = RESULTS / f"{name}.json"
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    measured = record.get("step_seconds", {})
    if missing := sorted({shape_of(v) for v in variants} - set(measured)):
        measured |= measure_step_seconds(missing)
    finished = record.get("runs", {})
    report(name, finished, measured, args.noise, args.base)
    if args.measure_only:
        return
    for variant in variants:
        run = plan(variant, args.noise, args.minutes, args.chunk, measured[shape_of(variant)])
        if finished.get(variant, {}).get("plan") == run:
            print(f"{variant}: recorded already", flush=True)
            continue
        metrics = train(run, args.work, args.data_root)
        finished[variant] = {"plan": run, "metrics": metrics, "environment": trained_environment(args.work / f"{args.noise}-{variant}")}
        report(name, finished, measured, args.noise, args.base)


def report(name: str, runs: dict[str, dict], step_seconds: dict[str, float], noise: str, base_variant: str = BASE, folder: Path = RESULTS) -> None:
    """The record (also the resume state), its table (each variant's last validation, and its gap to ``base_variant``) and curves."""
    environment = collect_environment()
    minutes = sorted({run["plan"]["minutes"] for run in runs.values()})
    final = {v: float(run["metrics"][-1]["val_psnr"]) for v, run in runs.items() if run["metrics"]}
    base = final.get(base_variant)
    record_option = ("" if name == f"recipes_{noise}" else f" --record {name}") + ("" if base_variant == BASE else f" --base {base_variant}")
    lines = [
        f"# Training recipes at equal CPU time: {noise}, {' / '.join(map(str, minutes)) or '–'} minutes each",
        "",
        f"{environment['cpu']}, {environment['cpu_count']} cores, precision {resolve_precision('auto')}. Each variant is `--preset {BASE}` plus its "
        "options, trained for the same minutes' worth of steps at its own step time measured alone "
        f"({', '.join(f'{shape} {s:.3f} s/step' for shape, s in step_seconds.items())}); the learning-rate ramp-down spans those steps. "
        f"Score: Kodak (24 images) at the paper's test noise ({paper_test_noise(noise).spec}), fixed noise, at the last step; "
        f"`python benchmarks/recipes.py --noise {noise} --minutes {' / '.join(map(str, minutes)) or 'M'} --variants {','.join(runs) or base_variant}{record_option}`.",
        "",
        f"| variant | what it changes | steps | wall with validation (min) | Kodak PSNR (dB) | vs {base_variant} | trained (commit) |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, run in runs.items():
        plan_ = run["plan"]
        gap = f"{final[variant] - base:+.2f}" if base is not None and variant != base_variant else ""
        wall = sum(float(row.get("epoch_seconds", 0)) for row in run["metrics"]) / 60
        diverged = " (diverged: below the noisy input)" if final[variant] < float(run["metrics"][-1].get("val_psnr_noisy", 0)) else ""
        lines.append(
            f"| `{variant}` | {plan_['change']} | {plan_['epochs'] * plan_['steps']} | {wall:.1f} | {final[variant]:.2f}{diverged} | {gap} | "
            f"{run['environment']['trained'][:10]} ({run['environment']['git_commit'][:12]}) |"
        )
    write_results(
        name, {"noise": noise, "base": base_variant, "step_seconds": step_seconds, "final_psnr": final, "runs": runs, "environment": environment}, lines, folder
    )
    figure, axis = plt.subplots(figsize=(6, 4), layout="constrained")
    for variant, run in runs.items():
        per_epoch = run["plan"]["minutes"] / run["plan"]["epochs"]
        axis.plot([int(row["epoch"]) * per_epoch for row in run["metrics"]], [float(row["val_psnr"]) for row in run["metrics"]], "o-", label=variant)
    axis.set(xlabel="training minutes on this CPU (step time measured alone)", ylabel="Kodak PSNR (dB)", title=f"Recipes at equal CPU time, {noise}")
    if runs:
        axis.legend(fontsize=8)
    save_figure(figure, folder / f"{name}.png")


if __name__ == "__main__":
    main()
