"""Training on the user's own captures: real files on disk, real training, real denoising, every bad-pair case."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tifffile
from PIL import Image

import noise2noise_keras  # noqa: F401
from noise2noise_keras import artifacts
from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.cli import main
from noise2noise_keras.datasets.images import read_rgb
from noise2noise_keras.datasets.pairs import PairedDataset, Scene, fit_normalization, load_scenes
from noise2noise_keras.datasets.simulate import simulate_pairs
from noise2noise_keras.image_io import read_image
from noise2noise_keras.inference import denoise
from noise2noise_keras.normalization import Normalization

TINY_TRAINING = ("--preset", "quick", "--epochs", "2", "--steps", "2", "--batch-size", "2", "--crop", "32")


def n2n(*args):
    return subprocess.run([sys.executable, "-m", "noise2noise_keras", *map(str, args)], capture_output=True, text=True, timeout=600)


def test_crops_share_position_and_flip_and_captures_swap_roles():
    base = np.random.default_rng(0).integers(0, 60000, (40, 50, 1), dtype=np.uint16)
    scenes = [Scene("s", [base, base + 1000])]
    normalization = {"mode": "dtype", "offset": 0.0, "scale": 65535.0}
    data = PairedDataset(scenes, normalization, crop=32, augment=True, seed=3)
    differences = set()
    for element in range(40):
        source, target = (np.asarray(t) * 65535 for t in data.pair(np.int64(element)))
        difference = np.rint(target - source)
        assert len(np.unique(difference)) == 1  # the same position and the same flip/rotation in both crops
        differences.add(float(difference.flat[0]))
    assert differences == {1000.0, -1000.0}  # each capture serves as input and as target


def test_percentile_normalisation_is_inverted_exactly_by_denoise():
    frames = [np.random.default_rng(k).integers(2000, 9000, (64, 64, 1), dtype=np.uint16) for k in range(2)]
    recorded = fit_normalization([Scene("s", frames)], "percentile")
    assert 2000 <= recorded["offset"] < 2100 and 6800 < recorded["scale"] < 7000
    inputs = keras.Input((None, None, 1))
    identity = keras.Model(inputs, keras.layers.Identity()(inputs))
    normalization = Normalization.for_image(recorded, np.uint16)
    assert not normalization.clip_unit_range  # values beyond the 99.9th percentile survive
    assert np.array_equal(denoise(frames[0], identity, normalization=normalization), frames[0])


def test_sixteen_bit_tiff_pairs_train_then_denoise_in_range(tmp_path, monkeypatch):
    simulate_pairs(tmp_path / "micro", tile=64, peak=20)
    run = tmp_path / "run"
    result = n2n("train", "--pairs", tmp_path / "micro", *TINY_TRAINING, "--run-dir", run)
    assert result.returncode == 0, result.stderr
    data = json.loads((run / "data.json").read_text())
    assert data["normalization"]["mode"] == "percentile" and data["channels"] == 1 and data["val_scenes"]
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "val_psnr_full" in header and "val_n2n_loss" in header  # clean/ exists: full-precision PSNR too, and it picks the best checkpoint
    noisy = tmp_path / "micro" / "A" / f"{data['val_scenes'][0]}.tif"
    result = n2n("evaluate", run)
    assert result.returncode == 2 and "trained on your own captures" in result.stderr
    result = n2n("export", run, tmp_path / "exported")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "exported" / "denoiser.json").read_text())["normalization"] == data["normalization"]
    for model in (run, tmp_path / "exported"):
        result = n2n("denoise", noisy, "-o", tmp_path / f"{model.name}.tif", "--model", model, "--precision", "float32")
        assert result.returncode == 0, result.stderr
        denoised = tifffile.imread(tmp_path / f"{model.name}.tif")
        assert denoised.dtype == np.uint16 and denoised.shape == (64, 64) and denoised.std() > 0

    # The checkpoint (as a run, a folder, its bare .keras file), the export and a shipped copy all carry the percentile
    # normalisation: one 16-bit TIFF comes out identical from each (the acceptance), and differs from the full range's.
    monkeypatch.setattr(artifacts, "PRETRAINED_DIR", tmp_path / "shipped")
    (tmp_path / "shipped").mkdir()
    (tmp_path / "shipped" / "own16").symlink_to(tmp_path / "exported")
    pixels = read_image(noisy).pixels
    names = (run, run / "checkpoints" / "best", run / "checkpoints" / "best" / "model.keras", tmp_path / "exported", "own16")
    outputs = [load_denoiser(name).denoise(pixels) for name in names]
    assert all(np.array_equal(output, outputs[0]) for output in outputs[1:])
    full_range = load_denoiser(run).denoise(pixels, normalization=Normalization.for_dtype(np.uint16))
    assert not np.array_equal(full_range, outputs[0])
    assert np.array_equal(tifffile.imread(tmp_path / "run.tif"), outputs[0][..., 0])


def test_sixteen_bit_png_pairs_and_rgb_bursts_train(tmp_path, shared_datasets):
    simulate_pairs(tmp_path / "png", tile=64, peak=20, suffix=".png")
    bursts = tmp_path / "bursts"
    rng = np.random.default_rng(0)
    for index in range(1, 6):
        clean = read_rgb(shared_datasets / "kodak" / f"kodim{index:02d}.png")[:96, :128]
        (bursts / f"scene_{index}").mkdir(parents=True)
        for frame in range(3):
            noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(bursts / f"scene_{index}" / f"frame_{frame}.png")
    for folder, channels, dtype in ((tmp_path / "png", 1, np.uint16), (bursts, 3, np.uint8)):
        run = tmp_path / f"run-{folder.name}"
        result = n2n("train", "pairs", folder, *TINY_TRAINING, "--run-dir", run)
        assert result.returncode == 0, result.stderr
        assert json.loads((run / "data.json").read_text())["channels"] == channels
        source = next(folder.rglob("*.png"))
        result = n2n("denoise", source, "-o", tmp_path / f"{folder.name}-denoised.png", "--model", run)
        assert result.returncode == 0, result.stderr
        written = read_image(tmp_path / f"{folder.name}-denoised.png").pixels
        assert written.dtype == dtype and written.shape == read_image(source).pixels.shape
    header = (tmp_path / "run-bursts" / "metrics.csv").read_text().splitlines()[0]
    assert "val_n2n_loss" in header and "val_psnr" not in header  # no clean images: the Noise2Noise score alone (no PSNR of either kind)


def _write(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, pixels)


def _pair_folder(root, count=3, shape=(64, 64)):
    rng = np.random.default_rng(1)
    for index in range(count):
        scene = (np.kron(rng.integers(0, 60000, (shape[0] // 8, shape[1] // 8)), np.ones((8, 8)))).astype(np.uint16)
        _write(root / "A" / f"s{index}.tif", scene)
        _write(root / "B" / f"s{index}.tif", scene)
    return root


BAD_CASES = {
    "twin": (lambda root: (_pair_folder(root), (root / "B" / "s1.tif").unlink()), "have no twin of the same name"),
    "size": (lambda root: (_pair_folder(root), _write(root / "B" / "s1.tif", np.zeros((64, 32), np.uint16))), "must match in size and channels"),
    "channels": (
        lambda root: (
            _pair_folder(root),
            _write(root / "A" / "s9.tif", np.zeros((64, 64, 3), np.uint16)),
            _write(root / "B" / "s9.tif", np.zeros((64, 64, 3), np.uint16)),
        ),
        "mix channel counts or sample types",
    ),
    "sample type": (
        lambda root: (
            _pair_folder(root),
            _write(root / "A" / "s9.tif", np.zeros((64, 64), np.uint8)),
            _write(root / "B" / "s9.tif", np.zeros((64, 64), np.uint8)),
        ),
        "mix channel counts or sample types",
    ),
    "burst": (
        lambda root: (
            _write(root / "x" / "1.tif", np.zeros((64, 64), np.uint16)),
            _write(root / "x" / "2.tif", np.zeros((64, 64), np.uint16)),
            _write(root / "y" / "1.tif", np.zeros((64, 64), np.uint16)),
        ),
        "a scene needs at least 2 captures",
    ),
    "misaligned": (
        lambda root: (_pair_folder(root), _write(root / "B" / "s2.tif", np.roll(tifffile.imread(root / "A" / "s2.tif"), 3, axis=1))),
        "look misaligned: s2 (shift +0,-3 px)",
    ),
    "one scene": (lambda root: _pair_folder(root, count=1), "needs at least 2 scenes"),
    "layout": (lambda root: _write(root / "loose.tif", np.zeros((64, 64), np.uint16)), "neither A/ and B/ subfolders nor burst subfolders"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_pairs_stop_with_one_sentence_and_write_nothing(tmp_path, capsys, case):
    make, message = BAD_CASES[case]
    make(tmp_path / "data")
    assert main(["train", "--pairs", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and error.startswith("error: ") and "\n" not in error
    assert not (tmp_path / "run").exists()


def test_alignment_check_can_be_waived_for_moving_scenes(tmp_path):
    _pair_folder(tmp_path)
    _write(tmp_path / "B" / "s2.tif", np.roll(tifffile.imread(tmp_path / "A" / "s2.tif"), 3, axis=1))
    assert len(load_scenes(tmp_path, check_alignment=False)) == 3


def test_sweep_over_captures_without_clean_images_ranks_by_the_held_out_n2n_loss(tmp_path):
    simulate_pairs(tmp_path / "micro", tile=64, peak=20)
    for clean in (tmp_path / "micro" / "clean").iterdir():
        clean.unlink()
    (tmp_path / "micro" / "clean").rmdir()
    out = tmp_path / "sweep"
    result = n2n("sweep", "--pairs", tmp_path / "micro", *TINY_TRAINING, "--grid", "learning_rate=1e-4,3e-3", "--run-dir", out)
    assert result.returncode == 0, result.stderr
    ranked = json.loads((out / "sweep.json").read_text())["ranked"]
    assert [row["monitor"] for row in ranked] == ["val_n2n_loss"] * 2
    assert ranked[0]["best"] <= ranked[1]["best"]  # a loss: lower ranks first
    assert "ranked by best val_n2n_loss" in (out / "sweep.md").read_text() and (out / "sweep.png").is_file()
