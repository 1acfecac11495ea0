"""The paper's study: Noise2Noise vs Noise2Clean vs classical baselines, every noise type, Kodak and BSDS300 test.

    python benchmarks/reproduce.py [--work runs/reproduce] [--budget 1] [--bm3d] [--data-root ../shared/datasets]
    python benchmarks/reproduce.py --task 3        # train and evaluate model 3 only (a SLURM array task: jobs/reproduce.sb)
    python benchmarks/reproduce.py --report        # baselines + tables + figures from whatever has finished

For each noise type (Gaussian σ 25, Poisson λ 30, Bernoulli p 0.5, text p 0.25,
impulse p 0.7 at test time; the paper's training distributions) Noise2Noise
and Noise2Clean train with identical budgets, seeds and schedules, plus the
paper's loss studies (text with L2; impulse with L2 and L1). Every model is
scored with its final weights on Kodak (24) and BSDS300 test (100) under the
project's fixed test noise, beside the noisy input and classical denoisers
tuned on BSDS300 *train* images (see ``noise2noise_keras.baselines``).

The CPU schedule (``--budget 1``): 20 × 100 steps of 8 × 128² crops, Adam
1e-3 with the cos² ramp-down over the last half, flips, gradient norm clipped
to 1 (Poisson needs it; the same for all, so schedules stay identical): about
7 minutes of training per model on a 2-core Xeon in bf16 (the recorded study
used ``--budget 0.5``: 3.2-3.7 minutes, 50 minutes for all 13 with
evaluation). ``--budget B`` multiplies the steps; ``--preset paper`` uses the
paper's schedule (300k steps of 4 × 256²) for a GPU cluster. Everything is
resumable: finished models and scores are kept in ``--work`` and skipped.
Writes benchmarks/results/reproduction.{json,md} and reproduction_<noise>.png /
reproduction_curves.png (``--results NAME`` renames them, e.g. for a second
budget of some ``--noises`` only).
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from benchmark_results import RESULTS, write_results

from noise2noise_keras.baselines import BASELINES, run_baseline, tune
from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.evaluation import TEST_SEED, summarize
from noise2noise_keras.metrics import psnr, ssim
from noise2noise_keras.noise import paper_test_noise, parse_noise
from noise2noise_keras.plots import save_panels

NOISES = ("gaussian", "poisson", "bernoulli", "text", "impulse")
DATASETS = ("kodak", "bsds300")
CPU_SCHEDULE = ["--preset", "quick", "--steps", "100", "--batch-size", "8", "--crop", "128",
                "--learning-rate", "1e-3", "--rampdown-fraction", "0.5", "--augment", "--val-images", "4"]  # fmt: skip
TUNING_IMAGES = 4  # BSDS300 train images (central 256² crops) that tune each classical denoiser
FIGURE_CROP = (slice(128, 384), slice(256, 512))  # of kodim23 (landscape)
# The paper's numbers (Table 1, Kodak / BSD300; text and impulse from its example figures), ~300k iterations on a GPU.
PAPER = {
    ("gaussian", "noisy"): (32.48, 31.06), ("gaussian", "clean"): (32.50, 31.07), ("gaussian", "bm3d"): (31.82, 30.34),
    ("poisson", "noisy"): (31.50, 30.16), ("poisson", "clean"): (31.52, 30.18),
    ("bernoulli", "noisy"): (33.17, 31.16), ("bernoulli", "clean"): (33.01, 31.04),
    ("text", "input"): (17.12, None), ("text", "l2"): (26.89, None), ("text", "noisy"): (35.75, None), ("text", "clean"): (35.82, None),
    ("impulse", "input"): (8.89, None), ("impulse", "l2"): (13.02, None), ("impulse", "l1"): (16.36, None),
    ("impulse", "noisy"): (28.43, None), ("impulse", "clean"): (28.86, None),
}  # fmt: skip


def models() -> list[dict[str, str]]:
    """Every model of the study, in a fixed order (the SLURM array index): N2N and N2C per noise, then the loss studies."""
    study = [{"noise": noise, "target": target, "loss": ""} for noise in NOISES for target in ("noisy", "clean")]
    study += [
        {"noise": "text", "target": "noisy", "loss": "l2"},
        {"noise": "impulse", "target": "noisy", "loss": "l2"},
        {"noise": "impulse", "target": "noisy", "loss": "l1"},
    ]
    for model in study:
        model["name"] = f"{model['noise']}-{model['target']}" + (f"-{model['loss']}" if model["loss"] else "")
    return study


def selected(args: argparse.Namespace) -> list[dict[str, str]]:
    """The models of the noise types asked for (``--task`` still indexes the full list, as the SLURM array does)."""
    return [model for model in models() if model["noise"] in args.noises and not (args.pairs_only and model["loss"])]


def schedule(args: argparse.Namespace) -> list[str]:
    """Training options shared by every model: the CPU schedule, or the paper's, with the steps scaled by --budget."""
    if args.preset == "paper":
        return ["--preset", "paper", "--epochs", str(round(300 * args.budget)), "--clip-norm", "1"]
    return [*CPU_SCHEDULE, "--epochs", str(max(1, round(20 * args.budget))), "--clip-norm", "1"]


def n2n(*arguments: str) -> None:
    """Run an n2n command; SIGUSR1/SIGTERM are passed on, so a SLURM preemption checkpoints the training (exit 3: requeue)."""
    child = subprocess.Popen([sys.executable, "-m", "noise2noise_keras", *arguments])
    for signum in (signal.SIGUSR1, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: child.send_signal(number))
    code = child.wait()
    if code:
        sys.exit(code)


def train_and_score(model: dict[str, str], args: argparse.Namespace) -> None:
    """Train one model (resuming if interrupted) and score its final weights on both test sets."""
    run = args.work / model["name"]
    loss = ["--loss", model["loss"]] if model["loss"] else []
    n2n(
        "train",
        model["noise"],
        "bsds300",
        "--target",
        model["target"],
        *loss,
        *schedule(args),
        "--seed",
        "0",
        "--data-root",
        str(args.data_root),
        "--run-dir",
        str(run),
    )
    for dataset in DATASETS:
        out = run / "final" / dataset
        if not (out / "summary.json").is_file():
            test = paper_test_noise(model["noise"]).spec
            limit = ["--max-images", str(args.max_images)] if args.max_images else []
            n2n(
                "evaluate",
                str(run),
                "--checkpoint",
                "last",
                "--dataset",
                dataset,
                "--noise",
                test,
                *limit,
                "--data-root",
                str(args.data_root),
                "--out",
                str(out),
            )


def score_baselines(noise: str, args: argparse.Namespace) -> dict[str, Any]:
    """Noisy input and each classical denoiser (tuned once on BSDS300 train crops) on both test sets; cached in --work."""
    cache = args.work / "baselines" / f"{noise}.json"
    names = [name for name in BASELINES if name != "bm3d" or (args.bm3d and noise == "gaussian")]
    record = json.loads(cache.read_text()) if cache.is_file() else {}
    test_noise = paper_test_noise(noise)
    tuning_clean = [image[:256, :256] for _, image in read_images(dataset_files("bsds300", "train", args.data_root))[:TUNING_IMAGES]]
    tuning_noisy = fixed_noise(tuning_clean, test_noise, TEST_SEED + 1)  # not the test noise's seed
    for dataset in DATASETS:
        images = read_images(dataset_files(dataset, "test", args.data_root))[: args.max_images]
        noisy = fixed_noise([image for _, image in images], test_noise, TEST_SEED)
        record.setdefault("input", {})[dataset] = summarize([{"psnr": psnr(c, n), "ssim": ssim(c, n)} for (_, c), n in zip(images, noisy)])
        for name in names:
            if dataset in record.get(name, {}):
                continue
            if "tuning" not in record.get(name, {}):
                strength, scores = tune(name, tuning_clean, tuning_noisy)
                record.setdefault(name, {})["tuning"] = {"strength": strength, "psnr_by_strength": scores}
            strength = record[name]["tuning"]["strength"]
            start = time.perf_counter()
            rows = []
            for (_, clean), image in zip(images, noisy):
                denoised = run_baseline(name, image, strength)
                rows.append({"psnr": psnr(clean, denoised), "ssim": ssim(clean, denoised)})
            record[name][dataset] = {**summarize(rows), "seconds": time.perf_counter() - start}
            print(f"{noise} {name} on {dataset}: {record[name][dataset]['psnr_mean']:.2f} dB (strength {strength})", flush=True)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(record, indent=2) + "\n")
    return record


def model_scores(model: dict[str, str], args: argparse.Namespace) -> dict[str, Any] | None:
    run = args.work / model["name"]
    summaries = {dataset: run / "final" / dataset / "summary.json" for dataset in DATASETS}
    if not all(path.is_file() for path in summaries.values()):
        return None
    with open(run / "metrics.csv") as handle:
        metrics = list(csv.DictReader(handle))
    config = json.loads((run / "config.json").read_text())
    evaluations = {dataset: json.loads(path.read_text()) for dataset, path in summaries.items()}
    return {
        **{
            dataset: {key: e[f"{key.split('_')[0]}_denoised_{key.split('_')[1]}"] for key in ("psnr_mean", "psnr_std", "ssim_mean", "ssim_std")}
            | {"images": e["images"]}
            for dataset, e in evaluations.items()
        },
        "loss": config["loss"],
        "steps": config["epochs"] * config["steps_per_epoch"],
        "batch_size": config["batch_size"],
        "crop": config["crop"],
        "train_seconds": sum(float(row["epoch_seconds"]) for row in metrics),
        "curve": [(float(row["epoch_seconds"]), float(row["val_psnr"])) for row in metrics],
    }


def report(args: argparse.Namespace) -> None:
    rows = []
    chosen = selected(args)
    study = {model["name"]: model_scores(model, args) for model in chosen}
    for noise in args.noises:
        baselines = score_baselines(noise, args)
        for name, record in ((name, r) for name, r in baselines.items() if all(d in r for d in DATASETS)):
            label = "noisy input" if name == "input" else BASELINES[name].name
            rows.append({"noise": noise, "method": label, "paper_key": "input" if name == "input" else name, **{d: record[d] for d in DATASETS}})
        for model in (m for m in chosen if m["noise"] == noise):
            scores = study[model["name"]]
            if scores is None:
                continue
            kind = "Noise2Noise" if model["target"] == "noisy" else "Noise2Clean"
            method = f"{kind} ({scores['loss']})"
            rows.append(
                {
                    "noise": noise,
                    "method": method,
                    "paper_key": model["loss"] or model["target"],
                    **{d: scores[d] for d in DATASETS},
                    "train_seconds": scores["train_seconds"],
                }
            )
        figure_for(noise, args)
    budget = {"schedule": schedule(args), "budget": args.budget, "preset": args.preset, "max_images": args.max_images, "noises": args.noises}
    record = {"budget": budget, "rows": rows, "goals": goals(rows), "models": study, "environment": collect_environment()}
    write_results(args.results, record, markdown(rows, record["goals"], study, budget, record["environment"]))
    save_curves(study, args)


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's goals checked on the table: Kodak and BSDS300 PSNR differences (dB) and whether each holds on both."""
    psnr_of = {(row["noise"], row["paper_key"]): [row[d]["psnr_mean"] for d in DATASETS] for row in rows}
    checks = []

    def check(goal: str, differences: list[float], threshold: float = 0.0) -> None:
        checks.append({"goal": goal, "difference_db": differences, "met": all(d > threshold for d in differences)})

    def margin(better: tuple[str, str], worse: tuple[str, str]) -> list[float] | None:
        if better in psnr_of and worse in psnr_of:
            return [b - w for b, w in zip(psnr_of[better], psnr_of[worse])]
        return None

    for noise in NOISES:
        if (gap := margin((noise, "noisy"), (noise, "clean"))) is not None:
            check(f"{noise}: Noise2Noise within 0.1 dB of Noise2Clean (N2N − N2C)", gap, -0.1)
        classical = [key for (n, key) in psnr_of if n == noise and key in BASELINES]
        trained = [key for key in ("noisy", "clean") if (noise, key) in psnr_of]
        if classical and trained:
            best = [max(psnr_of[(noise, key)][i] for key in classical) for i in range(len(DATASETS))]
            worst = [min(psnr_of[(noise, key)][i] for key in trained) for i in range(len(DATASETS))]
            check(f"{noise}: N2N and N2C beat every classical baseline (worst model − best baseline)", [w - b for w, b in zip(worst, best)])
    for goal, pairs in (("text: L1 > L2", [("noisy", "l2")]), ("impulse: L0 > L1 > L2", [("noisy", "l1"), ("l1", "l2")])):
        noise = goal.split(":")[0]
        differences = [margin((noise, a), (noise, b)) for a, b in pairs]
        if all(d is not None for d in differences):
            check(f"{goal} (each step)", [min(values) for values in zip(*differences)])
    return checks


def figure_for(noise: str, args: argparse.Namespace) -> None:
    """noisy | N2N | N2C | clean on a Kodak crop, when both models exist."""
    from noise2noise_keras.artifacts import load_denoiser

    runs = [args.work / f"{noise}-{target}" for target in ("noisy", "clean")]
    if not all((run / "summary.json").is_file() for run in runs):
        return
    clean = dict(read_images(dataset_files("kodak", "test", args.data_root)))["kodim23.png"][FIGURE_CROP]
    noisy = fixed_noise([clean], paper_test_noise(noise), TEST_SEED)[0]
    outputs = [load_denoiser(run, checkpoint="last").denoise(noisy) for run in runs]
    save_panels(
        RESULTS / f"{args.results}_{noise}.png",
        [[("noisy", noisy), ("Noise2Noise", outputs[0]), ("Noise2Clean", outputs[1])]],
        [("clean", clean)],
        f"{paper_test_noise(noise).spec}, kodim23",
    )


def save_curves(study: dict[str, Any], args: argparse.Namespace) -> None:
    import matplotlib.pyplot as plt

    from noise2noise_keras.plots import save_figure

    figure, axes = plt.subplots(1, len(args.noises), figsize=(4 * len(args.noises), 3.5), squeeze=False, layout="constrained")
    for axis, noise in zip(axes[0], args.noises):
        for target, style in (("noisy", "-"), ("clean", "--")):
            scores = study.get(f"{noise}-{target}")
            if scores:
                seconds = np.cumsum([s for s, _ in scores["curve"]]) / 60
                axis.plot(seconds, [p for _, p in scores["curve"]], style, label="Noise2Noise" if target == "noisy" else "Noise2Clean")
        axis.set_title(noise)
        axis.set_xlabel("training minutes")
        axis.set_ylabel("validation PSNR (dB)")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    save_figure(figure, RESULTS / f"{args.results}_curves.png")


def markdown(rows: list[dict[str, Any]], checks: list[dict[str, Any]], study: dict[str, Any], budget: dict[str, Any], environment: dict[str, Any]) -> list[str]:
    def cell(summary: dict[str, Any]) -> str:
        return f"{summary['psnr_mean']:.2f} ± {summary['psnr_std']:.2f} / {summary['ssim_mean']:.3f}"

    def paper(noise: str, key: str) -> str:
        values = PAPER.get((noise, key))
        return " / ".join(f"{v:.2f}" for v in values if v is not None) if values else ""

    lines = [
        "# Reproduction: Noise2Noise vs Noise2Clean vs classical denoisers",
        "",
        f"Schedule: `{' '.join(budget['schedule'])}` (budget × {budget['budget']:g}), BSDS300 train, seed 0, final weights; "
        f"fixed test noise; classical denoisers tuned on {TUNING_IMAGES} BSDS300 train crops. {environment['cpu']} ({environment['cpu_count']} cores), "
        f"commit {environment['git_commit'][:12]}. Cells: PSNR mean ± per-image std (dB) / SSIM."
        + (f" **Only the first {budget['max_images']} images of each test set: a quick look, not the study.**" if budget["max_images"] else ""),
        "",
        f"| noise (test) | method | Kodak ({rows[0]['kodak']['images']}) | BSDS300 test ({rows[0]['bsds300']['images']}) | training (min) | paper (Kodak / BSD300) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        minutes = f"{row['train_seconds'] / 60:.0f}" if "train_seconds" in row else ""
        lines.append(
            f"| {paper_test_noise(row['noise']).spec} | {row['method']} | {cell(row['kodak'])} | {cell(row['bsds300'])} | {minutes} | {paper(row['noise'], row['paper_key'])} |"
        )
    pairs = [
        (noise, study[f"{noise}-noisy"]["curve"], study[f"{noise}-clean"]["curve"])
        for noise in NOISES
        if study.get(f"{noise}-noisy") and study.get(f"{noise}-clean")
    ]
    if pairs:
        epochs = len(pairs[0][1])
        marks = sorted({max(1, round(epochs * fraction)) for fraction in (0.1, 0.25, 0.5, 0.75, 1.0)})
        lines += [
            "",
            "How the gap changes over training: validation PSNR of Noise2Clean − Noise2Noise (dB, the training run's own "
            "validation images) after each fraction of the schedule. The learning rate ramps down over the last half, so an "
            "early column is not what a shorter budget would reach.",
            "",
            "| noise | " + " | ".join(f"{100 * m / epochs:.0f} %" for m in marks) + " |",
            "|---|" + "---|" * len(marks),
        ]
        lines += [f"| {noise} | " + " | ".join(f"{c[m - 1][1] - n[m - 1][1]:+.2f}" for m in marks) + " |" for noise, n, c in pairs]
    if checks:
        lines += ["", "## Goals", "", "| goal | Kodak (dB) | BSDS300 (dB) | met on both |", "|---|---|---|---|"]
        lines += [f"| {c['goal']} | {c['difference_db'][0]:+.2f} | {c['difference_db'][1]:+.2f} | {'yes' if c['met'] else '**no**'} |" for c in checks]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/reproduce"), help="where models and cached scores live (resumable)")
    parser.add_argument("--budget", type=float, default=1.0, help="multiply the training steps (e.g. 10 on a GPU)")
    parser.add_argument("--preset", choices=("cpu", "paper"), default="cpu", help="cpu: the schedule above; paper: 300k steps of 4 x 256²")
    parser.add_argument("--bm3d", action="store_true", help="add BM3D for Gaussian noise (pip install bm3d; slow on a CPU)")
    parser.add_argument("--noises", nargs="+", choices=NOISES, default=list(NOISES), help="study only these noise types (with their loss studies)")
    parser.add_argument("--pairs-only", action="store_true", help="only Noise2Noise and Noise2Clean, without the loss studies")
    parser.add_argument("--results", default="reproduction", help="name of the results files and figures in benchmarks/results/")
    parser.add_argument("--task", type=int, help="train and score only this model (0-based, see models()): one SLURM array task")
    parser.add_argument("--report", action="store_true", help="only the baselines, tables and figures (from finished models)")
    parser.add_argument("--max-images", type=int, help="score only the first N images of each test set (a quick look, not the study)")
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    args = parser.parse_args()
    for noise in NOISES:
        parse_noise(noise)
    if args.task is not None:
        train_and_score(models()[args.task], args)
        return
    if not args.report:
        for model in selected(args):
            train_and_score(model, args)
    report(args)


if __name__ == "__main__":
    main()
