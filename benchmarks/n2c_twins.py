"""Noise2Clean twins of the shipped models: each model's own recipe, seed and checkpoint rule, only the targets clean.

    python benchmarks/n2c_twins.py --data-root DIR [--models text,impulse] [--runs-dir /var/tmp/n2n-runs]
    python benchmarks/n2c_twins.py --report        # the record from the twins that have finished; trains nothing

The paper's claim is that noisy targets cost (almost) nothing; a shipped
model's score alone cannot show it. For each model named, this trains its
twin through ``n2n train`` with the training config recorded in the model's
denoiser.json and ``--target clean`` (for a model trained in stages, that of
its first stage, the one trained from scratch, and the gap is that stage's),
in RUNS_DIR/twin-NAME (outside the checkout: rerun the same command to
resume an interrupted twin), checks that
the twin's config differs from the model's in the targets alone, scores the
twin's best checkpoint (chosen on the same validation images, like the
shipped model's) on Kodak and BSDS300 test at the paper's test noise, and
writes benchmarks/results/n2c_twins.{json,md,png}: both scores, the gap, the
paper's gap, and both learning curves.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from benchmark_results import RESULTS, trained_environment, write_results
from reproduce import DATASETS, PAPER, n2n

from noise2noise_keras.artifacts import load_denoiser, pretrained_names
from noise2noise_keras.callbacks import learning_curve, read_metrics
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.noise import paper_test_noise
from noise2noise_keras.plots import save_figure
from noise2noise_keras.warm_start import stages

# The recorded config fields `n2n train` takes as options (beta_1/beta_2/epsilon are the preset's own; the
# normalisation and alignment options apply to captures only). A field missing here shows up in recipe_differences().
OPTIONS = {"loss": "--loss", "arch": "--arch", "epochs": "--epochs", "steps_per_epoch": "--steps", "batch_size": "--batch-size", "crop": "--crop",
           "learning_rate": "--learning-rate", "rampdown_fraction": "--rampdown-fraction", "anneal_fraction": "--anneal-fraction",
           "anneal_start": "--anneal-start", "clip_norm": "--clip-norm", "augment": "--augment", "seed": "--seed", "val_dataset": "--val-dataset",
           "val_noise": "--val-noise", "val_images": "--val-images", "precision": "--precision"}  # fmt: skip
# What may differ between a model's config and its twin's: the point of the twin, and where this machine keeps the data.
ALLOWED_DIFFERENCES = {"target", "data_root"}


def recorded_twins(folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """The twins in FOLDER/n2c_twins.json by model name (none before the first twin finished)."""
    path = folder / "n2c_twins.json"
    return {twin["name"]: twin for twin in json.loads(path.read_text())["twins"]} if path.is_file() else {}


def is_twin_of(twin: dict[str, Any] | None, record: dict[str, Any]) -> bool:
    """Whether TWIN was trained against the model whose denoiser.json is RECORD: a retrained model needs a new twin."""
    return twin is not None and twin["model_summary"] == record["training_summary"]


def twin_arguments(config: dict[str, Any], data_root: str, run_dir: Path) -> list[str]:
    """``n2n train`` arguments that repeat the recorded ``config`` with clean targets."""
    full = TrainConfig.from_dict(config).to_dict()  # a field added since the model was trained: its default, as the model had
    if full["init_from"]:  # its twin would have to start from the twin's own earlier stage
        raise SystemExit(
            f"This model was trained in stages (--init-from {full['init_from']}): a twin of it needs the same stages, which this script does not train."
        )
    arguments = ["train", full["noise"], full["dataset"], "--preset", full["preset"], "--target", "clean"]
    for field, flag in OPTIONS.items():
        value = full[field]
        if isinstance(value, bool):
            arguments.append(flag if value else f"--no-{flag[2:]}")
        else:
            arguments += [flag, str(value)]
    return [*arguments, "--data-root", data_root, "--run-dir", str(run_dir)]


def recipe_differences(model_config: dict[str, Any], twin_config: dict[str, Any]) -> list[str]:
    """The config fields in which the twin differs from the model, beyond the targets and the data folder.

    Both read as ``TrainConfig`` reads a run directory's config: a field added since the model was trained takes its default.
    """
    model, twin = (TrainConfig.from_dict(config).to_dict() for config in (model_config, twin_config))
    return sorted(key for key in model if key not in ALLOWED_DIFFERENCES and model[key] != twin[key])


def train_twin(name: str, record: dict[str, Any], data_root: str, run_dir: Path) -> None:
    """Train (or resume) the twin of NAME (its denoiser.json ``record``) in ``run_dir``; score its best checkpoint on both test sets."""
    config = record["train_config"]
    n2n(*twin_arguments(config, data_root, run_dir))
    if differences := recipe_differences(config, json.loads((run_dir / "config.json").read_text())):
        raise SystemExit(f"{run_dir} was not trained like the shipped {name} ({', '.join(differences)} differ): move it away and run again.")
    for dataset in DATASETS:
        if not (run_dir / "twin-scores" / dataset / "summary.json").is_file():
            n2n("evaluate", str(run_dir), "--checkpoint", "best", "--dataset", dataset, "--noise", paper_test_noise(config["noise"]).spec,
                "--data-root", data_root, "--out", str(run_dir / "twin-scores" / dataset))  # fmt: skip


def describe(name: str, record: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The shipped model (its denoiser.json ``record``) beside its finished twin (from its run directory)."""
    shipped = {e["dataset"]: e["psnr_denoised_mean"] for e in record["evaluations"]}
    twin = {d: json.loads((run_dir / "twin-scores" / d / "summary.json").read_text())["psnr_denoised_mean"] for d in DATASETS}
    paper_n2n, paper_n2c = PAPER.get((record["train_config"]["noise"], "noisy")), PAPER.get((record["train_config"]["noise"], "clean"))
    return {
        "name": name,
        "model_summary": record["training_summary"],  # names the model this twin matches
        "test_noise": paper_test_noise(record["train_config"]["noise"]).spec,
        "noise2noise": {d: shipped[d] for d in DATASETS},
        "noise2clean": twin,
        "gap": {d: shipped[d] - twin[d] for d in DATASETS},
        "paper_gap": {d: None if paper_n2n[i] is None else paper_n2n[i] - paper_n2c[i] for i, d in enumerate(DATASETS)} if paper_n2c else None,
        "steps": record["training_summary"]["steps"],
        "train_seconds": {
            "noise2noise": record["training_summary"]["train_seconds_total"],
            "noise2clean": json.loads((run_dir / "summary.json").read_text())["train_seconds_total"],
        },
        "curves": {"noise2noise": record["learning_curve"], "noise2clean": learning_curve(read_metrics(run_dir / "metrics.csv"))},
        "environment": trained_environment(run_dir),
    }


def report(twins: list[dict[str, Any]], folder: Path = RESULTS) -> None:
    """The record: a table of both scores and the gaps, and a panel of both learning curves per model."""

    def pair(values: dict[str, float | None] | None, sign: str = "") -> str:
        return " / ".join("–" if values.get(d) is None else f"{values[d]:{sign}.2f}" for d in DATASETS) if values else "–"

    lines = [
        "# Noise2Noise vs its Noise2Clean twin, at the shipped models' budget",
        "",
        "Written by `python benchmarks/n2c_twins.py`. Each twin repeats its shipped model's recorded training config (recipe, steps,",
        "seed, validation images, best-checkpoint rule; of its first stage, trained from scratch, for a model trained in stages, whose",
        "Noise2Noise scores here are that stage's) with clean targets; both scored in the paper's convention (fixed test noise,",
        "uint8 PSNR per image, mean over Kodak's 24 and BSDS300 test's 100 images). Gap = Noise2Noise − Noise2Clean; the paper's",
        "text and impulse figures are one example image (Kodak column).",
        "",
        "| model | test noise | Noise2Noise (Kodak / BSDS300) | Noise2Clean twin | gap | paper's gap | steps | twin trained |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in twins:
        env = t["environment"]
        trained = f"{t['train_seconds']['noise2clean'] / 3600:.1f} h on {env['cpu_count']}-core {env['cpu']}, {env['trained'][:10]} ({env['git_commit'][:12]})"
        lines.append(
            f"| `{t['name']}` | {t['test_noise']} | {pair(t['noise2noise'])} | {pair(t['noise2clean'])} | {pair(t['gap'], '+')} | "
            f"{pair(t['paper_gap'], '+')} | {t['steps']} | {trained} |"
        )
    lines += ["", "Learning curves (validation PSNR on the training run's validation images): [n2c_twins.png](n2c_twins.png)."]
    write_results("n2c_twins", {"twins": twins}, lines, folder)
    figure, axes = plt.subplots(1, max(1, len(twins)), figsize=(4.5 * max(1, len(twins)), 3.6), squeeze=False, layout="constrained")
    for axis, t in zip(axes[0], twins):
        for label, curve in t["curves"].items():
            axis.plot(curve["epoch"], curve["val_psnr"], label=label)
        axis.set(title=f"{t['name']} ({t['test_noise']})", xlabel="epoch", ylabel="validation PSNR (dB)")
        axis.legend(fontsize=8)
    save_figure(figure, folder / "n2c_twins.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="text,impulse", help=f"comma-separated shipped models, from: {', '.join(pretrained_names())}")
    parser.add_argument("--data-root", default=os.environ.get("N2N_DATA_ROOT", "data"))
    parser.add_argument("--runs-dir", type=Path, default=Path(os.environ.get("N2N_RUNS_DIR", "/var/tmp/n2n-runs")))
    parser.add_argument("--report", action="store_true", help="write the record from the twins that have finished; train nothing")
    args = parser.parse_args()
    names = args.models.split(",")
    if unknown := [name for name in names if name not in pretrained_names()]:
        parser.error(f"no shipped model {unknown[0]!r}: choose from {', '.join(pretrained_names())}")
    twins = recorded_twins()
    for name in names:
        record = stages(load_denoiser(name).spec.record)[0]  # a later stage's twin would need the twin's own earlier stages
        if is_twin_of(twins.get(name), record):
            print(f"{name}: its twin is recorded already", flush=True)
            continue
        run_dir = args.runs_dir / f"twin-{name}"
        if not args.report:
            train_twin(name, record, args.data_root, run_dir)
        if all((run_dir / "twin-scores" / d / "summary.json").is_file() for d in DATASETS):
            twins[name] = describe(name, record, run_dir)
    report([twins[name] for name in sorted(twins)])


if __name__ == "__main__":
    main()
