"""The shipped models beside the paper, its official code and the targets, with the learning curve each recorded.

    python benchmarks/shipped_models.py

Reads every ``noise2noise_keras/pretrained/<name>/denoiser.json`` (nothing is
trained or scored here: ``jobs/make_pretrained.sh`` ran ``n2n evaluate`` on
Kodak and BSDS300 test and exported the figures with the model) and writes
``benchmarks/results/shipped_models.{json,md,png}``: per model its scores in
the paper's convention, the paper's and the official code's, the target
(within 0.3 dB of the lower of them) or, where the paper has no figure to aim
at, the gap to the model's Noise2Clean twin (``benchmarks/n2c_twins.py``'s
record, if it holds a twin of this very model, or of its first stage for a
model trained in stages), how long it trained on which
CPU, and its validation PSNR against training hours where the export recorded
the curve. A model trained in stages (``--init-from``) counts every stage's
steps and hours, and its curve runs through all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from benchmark_results import RESULTS, write_results
from n2c_twins import is_twin_of, recorded_twins
from reproduce import DATASETS, PAPER

from noise2noise_keras.artifacts import load_denoiser, pretrained_names
from noise2noise_keras.plots import save_figure
from noise2noise_keras.warm_start import stages

OFFICIAL = {"gaussian": (32.39, 31.02), "poisson": (31.66, 30.26)}  # the official code's U-Net, Kodak / BSD300 (its README)
TARGETS = {"gaussian": (32.1, 30.8), "poisson": (31.2, 29.9), "bernoulli": (32.9, 30.9)}  # issue #23: within 0.3 dB of the lower reference


def describe(name: str, twins: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One shipped model's scores, references, target, twin gap and training, from its denoiser.json (TWINS: n2c_twins' record)."""
    record = load_denoiser(name).spec.record
    chain = stages(record)
    twin = twins.get(name)
    scores = {e["dataset"]: e for e in record["evaluations"]}
    paper = PAPER.get((name, "noisy"))
    start = record["training_environment"][0] if record.get("training_environment") else None  # older exports lack it
    return {
        "name": name,
        "test_noise": scores["kodak"]["noise"],
        "denoised": {d: scores[d]["psnr_denoised_mean"] for d in DATASETS},
        "noisy": {d: scores[d]["psnr_noisy_mean"] for d in DATASETS},
        "paper": dict(zip(DATASETS, paper)) if paper else None,
        "official": dict(zip(DATASETS, OFFICIAL[name])) if name in OFFICIAL else None,
        "target": dict(zip(DATASETS, TARGETS[name])) if name in TARGETS else None,
        "first_stage_gap_to_n2c_twin": twin["gap"] if is_twin_of(twin, chain[0]) else None,  # a twin of an earlier model says nothing of this one
        "preset": record["train_config"]["preset"],
        "steps": sum(stage["training_summary"]["steps"] for stage in chain),
        "train_hours": sum(stage["training_summary"]["train_seconds_total"] for stage in chain) / 3600,
        "stages": len(chain),
        "cpu": f"{start['cpu_count']}-core {start['cpu']}" if start else "2 CPU cores (machine not recorded)",
        "precision": record["training_summary"]["precision"],
        "curve": joined_curve(chain),
    }


def joined_curve(chain: list[dict[str, Any]]) -> dict[str, list[float]] | None:
    """Validation PSNR against training seconds through every stage (each stage's clock continues the last's); None if a stage lacks its curve."""
    if not all(stage.get("learning_curve") for stage in chain):
        return None
    seconds, psnr = [], []
    for stage in chain:
        offset = seconds[-1] if seconds else 0.0
        seconds += [offset + s for s in stage["learning_curve"]["train_seconds"]]
        psnr += stage["learning_curve"]["val_psnr"]
    return {"train_seconds": seconds, "val_psnr": psnr}


def table(models: list[dict[str, Any]]) -> list[str]:
    def pair(values: dict[str, float | None] | None) -> str:
        return " / ".join("–" if values.get(d) is None else f"{values[d]:.2f}" for d in DATASETS) if values else "–"

    def verdict(model: dict[str, Any]) -> str:
        if not model["target"]:
            gap, whose = model["first_stage_gap_to_n2c_twin"], "its first stage " if model["stages"] > 1 else ""
            return f"{whose}vs its Noise2Clean twin: {' / '.join(f'{gap[d]:+.2f}' for d in DATASETS)}" if gap else "Noise2Clean twin not trained yet"
        return " / ".join("**met**" if model["denoised"][d] >= model["target"][d] else f"{model['denoised'][d] - model['target'][d]:+.2f}" for d in DATASETS)

    lines = [
        "| model | test noise | ours (Kodak / BSDS300) | noisy | paper | official code | target | vs target | trained |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in models:
        staged = f" in {m['stages']} stages" if m["stages"] > 1 else ""
        trained = f"`{m['preset']}`, {m['steps']} steps{staged}, {m['train_hours']:.1f} h on {m['cpu']} ({m['precision']})"
        lines.append(
            f"| `{m['name']}` | {m['test_noise']} | {pair(m['denoised'])} | {pair(m['noisy'])} | {pair(m['paper'])} | {pair(m['official'])} | {pair(m['target'])} | {verdict(m)} | {trained} |"
        )
    return lines


def plot_curves(models: list[dict[str, Any]], path: Path) -> list[str]:
    """Validation PSNR against training hours for every model that recorded its curve; returns their names."""
    drawn = [m for m in models if m["curve"]]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for m in drawn:
        hours = [s / 3600 for s in m["curve"]["train_seconds"]]
        staged = f", {m['stages']} stages" if m["stages"] > 1 else ""
        axes.plot(hours, m["curve"]["val_psnr"], label=f"{m['name']} (val at {m['test_noise']}{staged})")
    axes.set(xlabel="training time (hours, validation included)", ylabel="validation PSNR (dB, 4 BSDS300 test images)", title="Shipped models' learning curves")
    axes.grid(alpha=0.3)
    if drawn:
        axes.legend()
    save_figure(figure, path)
    return [m["name"] for m in drawn]


def main(folder: Path = RESULTS) -> None:
    twins = recorded_twins()
    models = [describe(name, twins) for name in pretrained_names()]
    curves = plot_curves(models, folder / "shipped_models.png")
    older = [m["name"] for m in models if not m["curve"]]
    lines = [
        "# Shipped models",
        "",
        "Written by `python benchmarks/shipped_models.py` from each model's denoiser.json. Scores in the paper's convention",
        "(fixed test noise, uint8 PSNR per image, mean over Kodak's 24 and BSDS300 test's 100 images); trained on BSDS300 train only.",
        "Targets (issue #23): within 0.3 dB of the lower of the paper's and the official code's numbers; text and impulse have only",
        "the paper's one example image (its PSNR is shown under paper, Kodak column), so they have no target: they are measured",
        "against their Noise2Clean twins, trained the same way with clean targets ([n2c_twins.md](n2c_twins.md)).",
        "",
        *table(models),
        "",
        f"Learning curves ({', '.join(curves) or 'none yet'}): [shipped_models.png](shipped_models.png)."
        + (f" Not recorded for {', '.join(older)}: exported before the export kept the curve." if older else ""),
    ]
    write_results("shipped_models", {"models": models}, lines, folder)


if __name__ == "__main__":
    main()
