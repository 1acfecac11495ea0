"""Hyper-parameter sweeps: every combination of a grid, trained with the same data, seed and budget, ranked.

    n2n sweep gaussian bsds300 --preset seed001            # seed 001's grid: batch x loss x learning rate
    n2n sweep gaussian bsds300 --grid learning_rate=3e-4,1e-3 --grid crop=64,128

Each combination is an ordinary run directory under the sweep folder, so a
stopped sweep resumes where it stopped (finished runs are skipped, an
interrupted one resumes mid-epoch) and every run can be evaluated, exported
and used for denoising like any other. The ranking, by best validation PSNR
(for own captures without clean images: by the held-out Noise2Noise loss), is
written as ``sweep.json``, ``sweep.md`` and ``sweep.png``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import keras

from noise2noise_keras.config import TrainConfig, make_config
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.errors import UserError
from noise2noise_keras.plots import save_ranking
from noise2noise_keras.training import higher_is_better, train

log = logging.getLogger(__name__)

# Seed 001's grid (its Table II): batch {32, 64, 128} x loss {L2, L1} x learning rate {1e-4, 1e-3, 2e-3}.
SEED001_GRID: dict[str, list[Any]] = {"batch_size": [32, 64, 128], "loss": ["l2", "l1"], "learning_rate": [1e-4, 1e-3, 2e-3]}


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["batch_size=32,64", "loss=l2,l1"]`` -> ``{"batch_size": [32, 64], "loss": ["l2", "l1"]}``, typed as TrainConfig's fields."""
    types = {field.name: field.type for field in dataclasses.fields(TrainConfig)}
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, _, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if key == "steps":
            key = "steps_per_epoch"
        if key not in types or not values:
            raise UserError(f"--grid {item!r} is not KEY=V1,V2,... with KEY a training option (e.g. learning_rate=1e-4,1e-3).")
        convert = {"int": int, "float": float, "bool": lambda v: v.lower() in ("1", "true", "yes")}.get(types[key], str)
        try:
            grid[key] = [convert(value.strip()) for value in values.split(",")]
        except ValueError:
            raise UserError(f"--grid {item!r}: every value of {key} must be {'an' if types[key] == 'int' else 'a'} {types[key]}.") from None
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in a stable order."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[key] for key in keys))]


def run_name(combination: dict[str, Any]) -> str:
    """A readable folder name, e.g. ``batch_size=32,loss=l2,learning_rate=0.001``."""
    return ",".join(f"{key}={value}" for key, value in combination.items())


def run_sweep(preset: str, options: dict[str, Any], grid: dict[str, list[Any]], out_dir: str | Path, strategy: str = "auto") -> list[dict[str, Any]]:
    """Train every combination of ``grid`` on top of ``preset`` + ``options``; write and return the ranking.

    Every configuration is checked before the first run starts, so a bad
    combination fails at once instead of hours into the sweep.
    """
    out_dir = Path(out_dir)
    runs = [(combination, make_config(preset, **{**options, **combination})) for combination in combinations(grid)]
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (combination, config) in enumerate(runs, start=1):
        run_dir = out_dir / run_name(combination)
        log.info("sweep run %d of %d: %s", index, len(runs), run_name(combination))
        summary = train(config, run_dir, verbose=2, strategy=strategy)
        keras.backend.clear_session()
        monitor = summary["monitor"]  # val_psnr; own captures: val_psnr_full, or val_n2n_loss without clean images
        scores = {"best": summary[f"best_{monitor}"], "final": summary[f"final_{monitor}"], "undenoised": summary[f"{monitor}_noisy"]}
        rows.append({**combination, "run_dir": run_dir.name, "monitor": monitor, **scores, "train_seconds_total": summary["train_seconds_total"]})
    ranked = sorted(rows, key=lambda row: row["best"], reverse=higher_is_better(rows[0]["monitor"]))
    write_ranking(out_dir, ranked, grid, runs[0][1])
    return ranked


def write_ranking(out_dir: Path, ranked: list[dict[str, Any]], grid: dict[str, list[Any]], example: TrainConfig) -> None:
    """sweep.json (rows, grid, the fixed settings, environment), sweep.md (the ranked table) and sweep.png."""
    fixed = {k: v for k, v in example.to_dict().items() if k not in grid}
    record = {"grid": grid, "fixed": fixed, "ranked": ranked, "environment": collect_environment()}
    (out_dir / "sweep.json").write_text(json.dumps(record, indent=2) + "\n")
    keys = list(grid)
    monitor = ranked[0]["monitor"]
    unit = "dB" if higher_is_better(monitor) else "model units²"
    lines = [
        f"# Sweep: {example.noise} on {example.dataset}, arch {example.arch}, ranked by best {monitor} ({example.val_noise})",
        "",
        "Fixed: " + ", ".join(f"{k}={v}" for k, v in fixed.items() if k not in ("data_root",)) + ".",
        "",
        "| rank | " + " | ".join(keys) + f" | best {monitor} ({unit}) | final | undenoised | training (s) |",
        "|---" * (len(keys) + 5) + "|",
        *[
            f"| {rank} | " + " | ".join(str(row[k]) for k in keys)
            + f" | {row['best']:.4g} | {row['final']:.4g} | {row['undenoised']:.4g} | {row['train_seconds_total']:.0f} |"
            for rank, row in enumerate(ranked, start=1)
        ],
    ]  # fmt: skip
    (out_dir / "sweep.md").write_text("\n".join(lines) + "\n")
    labels = [", ".join(str(row[k]) for k in keys) for row in ranked]
    save_ranking(out_dir / "sweep.png", labels, {f"best {monitor}": [row["best"] for row in ranked]}, ranked[0]["undenoised"], f"{example.arch}: {' / '.join(keys)}",
                 unit="PSNR (dB)" if higher_is_better(monitor) else "held-out Noise2Noise loss")  # fmt: skip
