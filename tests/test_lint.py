"""The code passes the project's linter and formatter (ruff; settings in pyproject.toml), as CI checks on every run."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_passes(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"ruff {' '.join(command)} (fix with `ruff check --fix .` / `ruff format .`):\n{result.stdout}{result.stderr}"
