"""benchmarks/gpu_step.py, the script prepared for a session that is lent a GPU, works end to end.

No GPU exists where the tests run, so this checks the script itself on the CPU (``--allow-cpu``, a
small crop): fresh processes per configuration, every row, the projection to the paper's 300k
steps and the record. The GPU's speed is measured only where one is lent (see its docstring).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tensorflow as tf

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_step.py"


def test_the_gpu_script_refuses_a_cpu_and_with_allow_cpu_records_every_configuration(shared_datasets, tmp_path):
    if not tf.config.list_physical_devices("GPU"):
        refused = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
        assert refused.returncode != 0 and "No GPU is visible to TensorFlow" in refused.stderr
    command = [sys.executable, str(SCRIPT), "--allow-cpu", "--steps", "2", "--crop", "32", "--xla", "off", "--data-root", str(shared_datasets)]
    done = subprocess.run([*command, "--results", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "gpu_step.json").read_text())
    rows = record["rows"]
    assert [(row["precision"], row["xla"], row["feed"]) for row in rows][:2] == [("mixed_float16", False, "synthetic"), ("float32", False, "synthetic")]
    assert rows[-1]["default"] and rows[-1]["feed"] == "gaussian"
    for row in rows:
        assert row["min_s"] <= row["median_s"] <= row["max_s"]
        assert abs(row["projected_hours_300k"] - row["median_s"] * 300_000 / 3600) < 1e-9
    table = [line for line in (tmp_path / "gpu_step.md").read_text().splitlines() if line.startswith("| Keras")]
    assert len(table) == len(rows) == 3
