"""The reproduction study's bookkeeping (benchmarks/reproduce.py): its goal checks and its SLURM array size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import reproduce

ROOT = Path(__file__).resolve().parents[1]


def row(noise: str, key: str, kodak: float, bsds: float) -> dict:
    return {"noise": noise, "paper_key": key, "kodak": {"psnr_mean": kodak}, "bsds300": {"psnr_mean": bsds}}


def test_goals_hold_and_fail_on_the_table_they_are_given() -> None:
    rows = [
        row("gaussian", "nl_means", 28.0, 27.5), row("gaussian", "tv", 27.0, 26.0),
        row("gaussian", "noisy", 30.00, 29.00), row("gaussian", "clean", 30.05, 29.20),
        row("impulse", "noisy", 28.0, 27.0), row("impulse", "l1", 16.0, 17.5), row("impulse", "l2", 13.0, 13.0),
        row("text", "noisy", 30.0, 29.0), row("text", "l2", 27.0, 26.0),
    ]  # fmt: skip
    checks = {c["goal"].split(" (")[0]: c for c in reproduce.goals(rows)}
    gap = checks["gaussian: Noise2Noise within 0.1 dB of Noise2Clean"]
    assert gap["difference_db"] == pytest.approx([-0.05, -0.20]) and not gap["met"]  # BSDS300 misses by 0.1 dB
    beat = checks["gaussian: N2N and N2C beat every classical baseline"]
    assert beat["difference_db"] == pytest.approx([2.0, 1.5]) and beat["met"]
    assert checks["text: L1 > L2"]["met"]
    impulse = checks["impulse: L0 > L1 > L2"]
    assert impulse["difference_db"] == pytest.approx([3.0, 4.5]) and impulse["met"]
    rows[5] = row("impulse", "l1", 12.0, 17.5)  # L1 below L2 on Kodak
    assert not {c["goal"].split(" (")[0]: c for c in reproduce.goals(rows)}["impulse: L0 > L1 > L2"]["met"]


def test_the_slurm_array_has_one_task_per_model() -> None:
    array = re.search(r"--array=0-(\d+)", (ROOT / "jobs" / "reproduce.sb").read_text())
    assert array and int(array.group(1)) + 1 == len(reproduce.models())
