"""Training from single noisy images (Neighbor2Neighbor): real folders on disk, train → export → denoise, bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.datasets.images import read_rgb
from noise2noise_keras.datasets.simulate import simulate_pairs
from noise2noise_keras.datasets.single import SingleDataset, fixed_noisy_set
from noise2noise_keras.image_io import read_image
from noise2noise_keras.noise import parse_noise
from noise2noise_keras.normalization import Normalization

TINY = ("--preset", "quick", "--epochs", "1", "--steps", "2", "--batch-size", "2", "--crop", "32", "--precision", "float32")


def n2n(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "noise2noise_keras", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_eight_bit_rgb_photos_train_export_and_denoise(tmp_path, shared_datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(1, 5):
        clean = read_rgb(shared_datasets / "kodak" / f"kodim{index:02d}.png")[:160, :192].astype(np.float64)
        Image.fromarray(np.clip(np.rint(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)).save(folder / f"shot{index}.png")
    run = tmp_path / "run"
    result = n2n("train", "--single", folder, *TINY, "--run-dir", run)
    assert result.returncode == 0, result.stderr
    assert "held-out Neighbor2Neighbor loss" in result.stdout
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "val_nb2nb_loss" in header and "val_psnr" not in header  # no clean images: the self-supervised loss picks checkpoints
    assert n2n("export", run, tmp_path / "model").returncode == 0
    spec = json.loads((tmp_path / "model" / "denoiser.json").read_text())
    assert spec["data_source"] == "single" and spec["normalization"]["mode"] == "percentile" and spec["channels"] == 3
    result = n2n("denoise", folder / "shot1.png", "-o", tmp_path / "out.png", "--model", tmp_path / "model")
    assert result.returncode == 0, result.stderr
    denoised = read_image(tmp_path / "out.png").pixels
    assert denoised.dtype == np.uint8 and denoised.shape == (160, 192, 3) and denoised.std() > 0


def test_sixteen_bit_grayscale_tiffs_train_export_and_denoise_identically_from_every_folder(tmp_path):
    simulate_pairs(tmp_path / "micro", tile=64, peak=20)  # 16-bit grayscale; only the A captures are used, one per scene
    singles = tmp_path / "micro" / "A"
    run = tmp_path / "run"
    result = n2n("train", "single", singles, *TINY, "--run-dir", run, cwd=None)  # = python train_model.py single PATH
    assert result.returncode == 0, result.stderr
    assert n2n("export", run, tmp_path / "model").returncode == 0
    image = next(singles.glob("*.tif"))
    outputs = [load_denoiser(model).denoise(read_image(image).pixels) for model in (run, tmp_path / "model")]
    assert outputs[0].dtype == np.uint16 and np.array_equal(outputs[0], outputs[1])
    result = n2n("denoise", image, "-o", tmp_path / "out.tif", "--model", tmp_path / "model", "--precision", "float32")
    assert result.returncode == 0, result.stderr
    written = tifffile.imread(tmp_path / "out.tif")
    assert written.dtype == np.uint16 and written.shape == (64, 64) and np.array_equal(written, outputs[0][..., 0])


def write(folder, name, array):
    folder.mkdir(exist_ok=True)
    Image.fromarray(array).save(folder / name)


@pytest.mark.parametrize(
    "case,expected",
    [
        ("one image", "holds 1 image(s): training from single noisy images needs at least 2"),
        ("too small", "smaller than twice the crop (64 px a side"),
        ("mixed channels", "mix channel counts or sample types"),
    ],
)
def test_bad_single_image_folders_are_one_sentence_and_write_nothing(tmp_path, case, expected):
    folder, rng = tmp_path / "images", np.random.default_rng(0)
    write(folder, "a.png", rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    if case == "too small":
        write(folder, "b.png", rng.integers(0, 256, (50, 96, 3), dtype=np.uint8))
    if case == "mixed channels":
        write(folder, "b.png", rng.integers(0, 256, (96, 96), dtype=np.uint8))
    result = n2n("train", "--single", folder, *TINY, "--run-dir", tmp_path / "run")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and lines[-1].startswith("error:") and expected in lines[-1], result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_the_synthetic_twin_trains_on_one_noisy_draw_per_image_never_redrawn():
    """--target single: every crop is cut from the same fixed noisy image (the noise is not drawn again per step)."""
    clean = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    (noisy,) = fixed_noisy_set([clean], parse_noise("gaussian,25"), seed=0)
    assert np.array_equal(noisy, fixed_noisy_set([clean], parse_noise("gaussian,25"), seed=0)[0])  # drawn from the seed
    assert not np.array_equal(noisy, fixed_noisy_set([clean], parse_noise("gaussian,25"), seed=1)[0])
    data = SingleDataset([noisy], Normalization(0.0, 1.0), crop=16, augment=False, seed=3)
    windows = np.lib.stride_tricks.sliding_window_view(noisy, (32, 32, 3)).reshape(-1, 32, 32, 3)
    for element in range(12):
        crop = data.pair(np.int64(element)).numpy()
        assert crop.shape == (32, 32, 3) and any(np.array_equal(crop, window) for window in windows)
