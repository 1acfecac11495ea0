"""benchmarks/recipes.py: variants of the cpu preset get the same CPU time, and the table reads each one's gap to the preset."""

from __future__ import annotations

import json
from pathlib import Path

from recipes import VARIANTS, plan, report, shape_of

ROOT = Path(__file__).resolve().parents[1]


def test_a_budget_becomes_the_steps_each_variants_own_step_time_allows() -> None:
    assert (shape_of("cpu"), shape_of("lr-2e-3"), shape_of("crop-192"), shape_of("crop-128")) == ("12x96", "12x96", "3x192", "8x128")
    cpu, faster_lr = plan("cpu", "gaussian", 20, 5, 0.3), plan("lr-2e-3", "gaussian", 20, 5, 0.3)
    assert (cpu["epochs"], cpu["steps"]) == (faster_lr["epochs"], faster_lr["steps"]) == (4, 1000)  # same shape, same steps
    assert plan("crop-192", "gaussian", 20, 5, 0.4)["steps"] == 750 and faster_lr["options"] == ["--learning-rate", "2e-3"]
    recorded_on_an_older_preset = {**cpu, "preset": {**cpu["preset"], "clip_norm": 0.0}}
    assert cpu["preset"]["clip_norm"] == 1.0 and recorded_on_an_older_preset != cpu  # so main() trains it again


def test_the_record_tables_every_variant_against_the_preset(tmp_path) -> None:
    def run(variant: str, psnr: list[float]) -> dict:
        metrics = [{"epoch": str(i + 1), "val_psnr": str(p), "epoch_seconds": "66", "val_psnr_noisy": "20.4"} for i, p in enumerate(psnr)]
        return {"plan": plan(variant, "gaussian", 10, 5, 0.3), "metrics": metrics, "environment": {"trained": "2026-12-05T05:00", "git_commit": "abc"}}

    runs = {"cpu": run("cpu", [29.0, 30.5]), "lr-2e-3": run("lr-2e-3", [29.5, 30.25]), "rampdown-0.3": run("rampdown-0.3", [28.0, 6.5])}
    report("recipes_test", runs, {"12x96": 0.3}, "gaussian", folder=tmp_path)
    table = (tmp_path / "recipes_test.md").read_text()
    assert f"| `lr-2e-3` | {VARIANTS['lr-2e-3'][0]} | 2000 | 2.2 | 30.25 | -0.25 |" in table and "| `cpu` |" in table
    assert "| 6.50 (diverged: below the noisy input) | -24.00 |" in table and "30.50 (diverged" not in table
    assert json.loads((tmp_path / "recipes_test.json").read_text())["final_psnr"] == {"cpu": 30.5, "lr-2e-3": 30.25, "rampdown-0.3": 6.5}
    assert (tmp_path / "recipes_test.png").stat().st_size > 10_000
    assert "--variants cpu,lr-2e-3,rampdown-0.3 --record recipes_test`" in table  # the command that writes this very record


def test_a_finished_run_is_recorded_with_the_commit_that_started_it_and_every_cpu(tmp_path) -> None:
    from benchmark_results import trained_environment

    starts = [{"git_commit": "first0000000", "cpu": "AMD EPYC"}, {"git_commit": "resumed00000", "cpu": "Intel(R) Xeon(R) Processor"},
              {"git_commit": "resumed00000", "cpu": "AMD EPYC"}]  # resumed on a later checkout, on another machine, then back  # fmt: skip
    (tmp_path / "environment.json").write_text(json.dumps({"starts": starts}))
    environment = trained_environment(tmp_path)
    assert environment["git_commit"] == "first0000000" and environment["trained"].startswith("20") and "packages" in environment
    assert environment["start_cpus"] == ["AMD EPYC", "Intel(R) Xeon(R) Processor"]


def test_second_stages_start_from_the_shipped_model_of_their_noise_and_compare_to_the_plain_second_stage(tmp_path) -> None:
    stage2, anneal_1 = plan("stage2", "impulse", 10, 5, 0.3), plan("stage2-anneal-1", "impulse", 10, 5, 0.3)
    assert stage2["options"] == ["--init-from", "impulse", "--learning-rate", "5e-4"] and anneal_1["options"][-2:] == ["--anneal-start", "1"]
    assert (stage2["epochs"], stage2["steps"]) == (anneal_1["epochs"], anneal_1["steps"]) and shape_of("stage2-anneal-1") == "12x96"
    metrics = [{"epoch": "1", "val_psnr": "25.0", "epoch_seconds": "300", "val_psnr_noisy": "10.1"}]
    environment = {"trained": "2026-12-06T14:00", "git_commit": "abc"}
    runs = {name: {"plan": plan(name, "impulse", 10, 5, 0.3), "metrics": [{**metrics[0], "val_psnr": psnr}], "environment": environment}
            for name, psnr in (("stage2", "25.0"), ("stage2-anneal-1", "25.5"))}  # fmt: skip
    report("recipes_test", runs, {"12x96": 0.3}, "impulse", "stage2", tmp_path)
    table = (tmp_path / "recipes_test.md").read_text()
    assert "| vs stage2 |" in table and "| 25.50 | +0.50 |" in table and "--record recipes_test --base stage2`" in table
