"""benchmarks/n2c_twins.py: a twin repeats its shipped model's recorded recipe with clean targets, and the record reads the gap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from n2c_twins import recipe_differences, report, twin_arguments

from noise2noise_keras.artifacts import load_denoiser, pretrained_names
from noise2noise_keras.cli import _train_options, build_parser
from noise2noise_keras.config import make_config
from noise2noise_keras.warm_start import stages

ROOT = Path(__file__).resolve().parents[1]

STAGES = {name: stages(load_denoiser(name).spec.record) for name in pretrained_names()}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_the_twins_command_line_rebuilds_a_shipped_first_stage_config_with_clean_targets(name, tmp_path) -> None:
    shipped = STAGES[name][0]["train_config"]  # a stage trained from scratch: what a twin can repeat
    args = build_parser().parse_args(twin_arguments(shipped, "elsewhere/datasets", tmp_path / "twin"))
    twin = make_config(args.preset, **_train_options(args)).to_dict()  # what `n2n train` would run
    assert twin["target"] == "clean" and twin["data_root"] == "elsewhere/datasets" and args.run_dir == tmp_path / "twin"
    assert recipe_differences(shipped, twin) == []
    assert recipe_differences(shipped, {**twin, "learning_rate": 5e-4}) == ["learning_rate"]  # so a drifted recipe is refused


@pytest.mark.parametrize("name", sorted(name for name, chain in STAGES.items() if len(chain) > 1))
def test_a_model_trained_in_stages_is_refused_rather_than_twinned_by_its_last_stage_alone(name, tmp_path) -> None:
    staged = STAGES[name][-1]["train_config"]
    with pytest.raises(SystemExit, match="trained in stages"):
        twin_arguments(staged, "elsewhere/datasets", tmp_path / "twin")


def test_the_record_tables_both_scores_and_the_gaps(tmp_path) -> None:
    curve = {"epoch": [1.0, 2.0], "val_psnr": [20.0, 24.0]}
    environment = {"cpu": "AMD EPYC", "cpu_count": 2, "trained": "2026-12-06T02:00", "git_commit": "abcdef123456789"}
    twin = {
        "name": "impulse", "test_noise": "impulse,70", "noise2noise": {"kodak": 24.97, "bsds300": 24.23}, "noise2clean": {"kodak": 25.5, "bsds300": 24.6},
        "gap": {"kodak": -0.53, "bsds300": -0.37}, "paper_gap": {"kodak": -0.43, "bsds300": None}, "steps": 15000,
        "train_seconds": {"noise2noise": 5250, "noise2clean": 5400}, "curves": {"noise2noise": curve, "noise2clean": curve}, "environment": environment,
    }  # fmt: skip
    report([twin], tmp_path)
    table = (tmp_path / "n2c_twins.md").read_text()
    assert (
        "| `impulse` | impulse,70 | 24.97 / 24.23 | 25.50 / 24.60 | -0.53 / -0.37 | -0.43 / – | 15000 | 1.5 h on 2-core AMD EPYC, 2026-12-06 (abcdef123456) |"
        in table
    )
    assert json.loads((tmp_path / "n2c_twins.json").read_text())["twins"][0]["gap"] == {"kodak": -0.53, "bsds300": -0.37}
    assert (tmp_path / "n2c_twins.png").stat().st_size > 10_000
