"""The package as a user installs it: a wheel that holds the shipped models and works outside the repository."""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from noise2noise_keras.artifacts import pretrained_names
from tests.conftest import REPO


@pytest.mark.slow
def test_the_wheel_installs_and_denoises_with_a_shipped_model_outside_the_repository(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)], capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(dist.glob("noise2noise_keras-*.whl"))
    members = zipfile.ZipFile(wheel).namelist()
    for name in pretrained_names():
        assert {f"noise2noise_keras/pretrained/{name}/model.keras", f"noise2noise_keras/pretrained/{name}/denoiser.json"} <= set(members)
    assert "noise2noise_keras/datasets/SHA256SUMS" in members and not [m for m in members if m.startswith(("tests/", "benchmarks/"))]

    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(elsewhere / "photo.png")
    env = {**os.environ, "PYTHONPATH": str(site)}  # ahead of the editable install of this checkout
    where = subprocess.run(
        [sys.executable, "-c", "import noise2noise_keras; print(noise2noise_keras.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    denoised = subprocess.run(
        [str(site / "bin" / "n2n"), "denoise", "photo.png", "--model", "gaussian"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert denoised.returncode == 0, denoised.stderr[-3000:]
    assert Image.open(elsewhere / "photo_denoised.png").size == (64, 48)
