"""benchmarks/quality_per_minute.py plans its runs from measured step times and skips the ones its record already holds."""

from __future__ import annotations

import json
from pathlib import Path

from quality_per_minute import conditions, plan, record_name, recorded, step_times

ROOT = Path(__file__).resolve().parents[1]


def test_budgets_become_step_counts_with_one_validation_per_chunk() -> None:
    quick = plan("quick", [5, 20, 60], 5, step_seconds=0.15)
    assert [(run["name"], run["epochs"], run["steps"], run["budgets"]) for run in quick] == [
        ("quick-5min", 1, 2000, [5]), ("quick-20min", 4, 2000, [20]), ("quick-60min", 12, 2000, [60])]  # fmt: skip
    (paper,) = plan("paper", [5, 20, 60], 5, step_seconds=0.3)
    assert (paper["epochs"], paper["steps"], paper["budgets"]) == (12, 1000, [5, 20, 60])
    assert paper["extra"] == ["--rampdown-fraction", "0"]  # constant lr: its first steps are the paper's


def test_a_recorded_run_is_skipped_only_with_the_same_plan() -> None:
    quick = plan("quick", [5, 20], 5, step_seconds=0.15)
    record = json.loads(json.dumps({"runs": {"quick-5min": {"plan": quick[0], "metrics": []}}}))  # as a later session reads it back
    assert recorded(quick[0], record["runs"]) and not recorded(quick[1], record["runs"])
    remeasured = plan("quick", [5, 20], 5, step_seconds=0.14)
    assert not recorded(remeasured[0], record["runs"])  # another step time means other step counts: trained again


def test_the_record_names_the_cpu_that_timed_each_budget() -> None:
    assert step_times({"quick": 0.14, "paper": 0.307}, {"quick": "Xeon", "paper": "Xeon"}) == "quick 0.140 s/step, paper 0.307 s/step on Xeon"
    mixed = step_times({"quick": 0.334, "paper": 0.307}, {"quick": "EPYC", "paper": "Xeon"})  # paper's time kept, quick remeasured elsewhere
    assert mixed == "quick 0.334 s/step on EPYC; paper 0.307 s/step on Xeon"


def test_a_float32_only_machine_writes_its_own_record_and_says_when_it_was_emulated() -> None:
    assert record_name("mixed_bfloat16") == "quality_per_minute"  # the goal's curve, on bf16 CPUs
    assert record_name("float32") == "quality_per_minute_float32"  # never mixed into the bf16 record
    assert conditions("mixed_bfloat16", onednn=True, isa_limit="") == "mixed_bfloat16"
    assert conditions("float32", onednn=True, isa_limit="AVX2").startswith("float32; oneDNN limited to AVX2 (`ONEDNN_MAX_CPU_ISA`): such a CPU")
    assert conditions("float32", onednn=False, isa_limit="").startswith("float32; TensorFlow's Eigen kernels")  # most AVX2-only CPUs' default
