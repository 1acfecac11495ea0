"""A benchmark whose ``n2n`` command fails stops with one sentence that points at the command's own message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from n2n_command import n2n


def test_a_failing_command_stops_the_benchmark_in_one_sentence(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        n2n("evaluate", tmp_path / "no-such-run")
    assert str(stopped.value).startswith("n2n evaluate stopped with exit code ") and "its message above says why" in str(stopped.value)
    assert "no-such-run" in capfd.readouterr().err  # the command's own sentence, shown to the user above the benchmark's


def test_a_command_that_succeeds_returns(tmp_path: Path) -> None:
    n2n("simulate-pairs", tmp_path / "pairs", "--tile", "32")
    assert (tmp_path / "pairs" / "clean").is_dir()
