"""benchmarks/isa_limits.py: a benchmark asked for ``--isa avx2`` re-runs itself once, under the limits, before any library reads them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = f"""
import os, sys
sys.path.insert(0, {str(BENCHMARKS)!r})
from isa_limits import run_limited_to
print("started", flush=True)
run_limited_to(sys.argv[1])
from noise2noise_keras.precision import resolve_precision
print(os.environ.get("ONEDNN_MAX_CPU_ISA"), os.environ.get("MKL_ENABLE_INSTRUCTIONS"), resolve_precision("auto"), sys.argv[1:])
"""


def run_script(tmp_path: Path, isa: str) -> list[str]:
    script = tmp_path / "benchmark.py"
    script.write_text(SCRIPT)
    environment = {name: value for name, value in os.environ.items() if name not in ("ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")}
    done = subprocess.run([sys.executable, str(script), isa], capture_output=True, text=True, env=environment, check=True)
    return done.stdout.splitlines()


def test_avx2_re_runs_the_script_once_with_its_arguments_as_a_float32_only_cpu(tmp_path: Path) -> None:
    assert run_script(tmp_path, "avx2") == ["started", "started", "AVX2 AVX2 float32 ['avx2']"]  # the second start is the limited one


def test_native_runs_the_script_as_it_is(tmp_path: Path) -> None:
    started, limits = run_script(tmp_path, "native")
    assert started == "started" and limits.startswith("None None ") and limits.endswith(" ['native']")
