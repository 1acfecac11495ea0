"""benchmarks/shipped_models.py: the README's table of shipped models, read from what each model recorded."""

from __future__ import annotations

import json
from pathlib import Path

import n2c_twins
import shipped_models

from noise2noise_keras.artifacts import load_denoiser, pretrained_names
from noise2noise_keras.warm_start import stages

ROOT = Path(__file__).resolve().parents[1]


def test_the_record_has_every_shipped_model_with_its_own_scores_and_the_references(tmp_path):
    shipped_models.main(tmp_path)
    models = {m["name"]: m for m in json.loads((tmp_path / "shipped_models.json").read_text())["models"]}
    assert sorted(models) == pretrained_names() and (tmp_path / "shipped_models.png").stat().st_size > 10_000
    for name, model in models.items():
        kodak = next(e for e in load_denoiser(name).spec.record["evaluations"] if e["dataset"] == "kodak")
        assert model["denoised"]["kodak"] == kodak["psnr_denoised_mean"] > model["noisy"]["kodak"]
    assert models["gaussian"]["paper"] == {"kodak": 32.48, "bsds300": 31.06} and models["gaussian"]["target"] == {"kodak": 32.1, "bsds300": 30.8}
    table = (tmp_path / "shipped_models.md").read_text()
    assert all(f"| `{name}` |" in table for name in models)


def test_a_twin_gap_is_reported_only_for_the_model_or_first_stage_it_was_trained_against(tmp_path):
    first_stage = {name: stages(load_denoiser(name).spec.record)[0]["training_summary"] for name in ("gaussian", "text")}  # gaussian: two stages
    gap = {"kodak": -0.77, "bsds300": -0.68}
    twins = [{"name": "gaussian", "gap": gap, "model_summary": first_stage["gaussian"]},
             {"name": "text", "gap": gap, "model_summary": {**first_stage["text"], "steps": first_stage["text"]["steps"] // 3}}]  # a twin of an earlier, shorter text model  # fmt: skip
    (tmp_path / "n2c_twins.json").write_text(json.dumps({"twins": twins}))
    found = n2c_twins.recorded_twins(tmp_path)
    gaussian = shipped_models.describe("gaussian", found)
    assert gaussian["first_stage_gap_to_n2c_twin"] == gap and gaussian["stages"] == 2
    assert "its first stage vs its Noise2Clean twin: -0.77 / -0.68" in shipped_models.table([{**gaussian, "target": None}])[-1]
    assert shipped_models.describe("text", found)["first_stage_gap_to_n2c_twin"] is None
    assert n2c_twins.recorded_twins(tmp_path / "nowhere") == {}


def test_a_model_trained_in_stages_counts_every_stage_and_its_curve_runs_through_them():
    first = {"training_summary": {"steps": 100, "train_seconds_total": 50.0}, "learning_curve": {"train_seconds": [20.0, 40.0], "val_psnr": [28.0, 30.0]}}
    second = {**first, "initialized_from": {"init_from": "gaussian", "record": first}}
    chain = stages(second)
    assert chain == [first, second]
    assert shipped_models.joined_curve(chain) == {"train_seconds": [20.0, 40.0, 60.0, 80.0], "val_psnr": [28.0, 30.0, 28.0, 30.0]}
    assert shipped_models.joined_curve([{"learning_curve": None}, first]) is None  # an earlier stage exported before curves were kept
