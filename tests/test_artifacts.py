"""The denoiser artifact: one folder layout everywhere, a spec that is applied, earlier layouts read as recorded."""

import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

import noise2noise_keras  # noqa: F401
from noise2noise_keras.artifacts import export_model, find_denoiser, load_denoiser, run_spec
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.denoiser import Denoiser
from noise2noise_keras.errors import UserError
from noise2noise_keras.inference import denoise
from noise2noise_keras.models import ARCHITECTURES, GEOMETRY, build_model
from noise2noise_keras.training import record_environment


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory of synthetic Gaussian noise with one checkpoint folder, as n2n train leaves it."""
    keras.utils.set_random_seed(1)
    run = tmp_path_factory.mktemp("run")
    TrainConfig(noise="gaussian", dataset="sample").save(run / "config.json")
    record_environment(run, seed=0)
    Denoiser(build_model("unet"), run_spec(run, 3)).save(run / "checkpoints" / "best")
    (run / "metrics.csv").write_text("epoch,loss,val_psnr,epoch_seconds\n1,0.02,24.5,100.5\n2,0.01,26.25,99.5\n")
    return run


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_each_architectures_margin_covers_its_receptive_field_so_tiles_equal_the_whole_image(arch):
    keras.utils.set_random_seed(2)
    model, geometry = build_model(arch), GEOMETRY[arch]
    side, cell = 384, geometry.size_multiple
    image = tf.Variable(np.random.default_rng(0).random((1, side, side, 3), np.float32))
    with tf.GradientTape() as tape:
        output = model(image, training=False)[0, side // 2 : side // 2 + cell, side // 2 : side // 2 + cell]
        total = tf.reduce_sum(output)
    rows, cols = np.nonzero(np.abs(tape.gradient(total, image).numpy()[0]).sum(-1))
    reach = max(side // 2 - rows.min(), rows.max() - (side // 2 + cell - 1), side // 2 - cols.min(), cols.max() - (side // 2 + cell - 1))
    assert 0 < reach <= geometry.margin, reach  # measured from the network itself: the margin is its receptive field or more

    noisy = np.random.default_rng(1).random((200, 264, 3)).astype(np.float32)  # not a multiple of any tile or grid
    whole = denoise(noisy, model, tile=0, geometry=geometry)
    tiled = denoise(noisy, model, tile=4 * max(cell, 16), geometry=geometry)
    assert np.abs(tiled - whole).max() <= 1e-4


def test_export_writes_the_artifact_with_its_record_and_loading_checks_it(run_dir, tmp_path):
    folder = export_model(run_dir, tmp_path / "exported")
    assert sorted(p.name for p in folder.iterdir()) == ["denoiser.json", "model.keras"]
    spec = json.loads((folder / "denoiser.json").read_text())
    assert spec["format"] == "noise2noise_keras.denoiser/2" and spec["normalization"] == {"mode": "dtype"}
    assert (spec["arch"], spec["channels"], spec["size_multiple"], spec["tile_margin"], spec["noise"]) == ("unet", 3, 32, 160, "gaussian")
    start = spec["training_environment"][0]  # reproducibility travels with the model: packages, commit, seed
    assert start["seed"] == 0 and start["packages"]["keras"].startswith("3.") and "git_commit" in start
    assert spec["learning_curve"] == {"epoch": [1, 2], "loss": [0.02, 0.01], "val_psnr": [24.5, 26.25], "train_seconds": [100.5, 200.0]}
    assert load_denoiser(folder).model.count_params() == 991_203

    spec["channels"] = 1
    (folder / "denoiser.json").write_text(json.dumps(spec))
    with pytest.raises(UserError, match="describes a 1-channel model but its network takes 3"):
        load_denoiser(folder)
    spec["format"] = "something/9"
    (folder / "denoiser.json").write_text(json.dumps(spec))
    with pytest.raises(UserError, match="is not a noise2noise_keras.denoiser/2 spec"):
        load_denoiser(folder)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds other files"):
        export_model(run_dir, tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_an_earlier_versions_export_and_run_are_read_with_the_normalisation_they_recorded(tmp_path):
    keras.utils.set_random_seed(3)
    model = build_model("unet", channels=1)
    recorded = {"mode": "percentile", "dtype": "uint16", "percentiles": [0.1, 99.9], "offset": 100.0, "scale": 4000.0}
    legacy = tmp_path / "legacy_export"
    legacy.mkdir()
    model.save(legacy / "model.keras")
    description = {"format": "noise2noise_keras.model/1", "arch": "unet", "noise": "pairs", "channels": 1, "data_range": [0.0, 1.0], "normalization": recorded}
    (legacy / "config.json").write_text(json.dumps(description))

    run = tmp_path / "legacy_run"  # checkpoints/best.keras + data.json, as runs of earlier versions
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(noise="pairs", dataset=str(tmp_path)).save(run / "config.json")
    (run / "data.json").write_text(json.dumps({"normalization": recorded, "channels": 1, "train_scenes": ["a"], "val_scenes": ["b"]}))
    model.save(run / "checkpoints" / "best.keras")

    image = np.random.default_rng(0).integers(100, 4100, (64, 64), dtype=np.uint16)
    expected = load_denoiser(legacy).denoise(image)
    for spec in (legacy, run, run / "checkpoints" / "best.keras"):
        denoiser = find_denoiser(spec)
        assert denoiser.spec.normalization == recorded and denoiser.spec.data_source == "pairs"
        assert np.array_equal(denoiser.denoise(image), expected)


def test_a_bare_keras_file_is_read_as_a_synthetic_noise_model_and_says_so(tmp_path, caplog):
    build_model("unet").save(tmp_path / "alone.keras")
    with caplog.at_level(logging.WARNING):
        denoiser = find_denoiser(tmp_path / "alone.keras")
    assert denoiser.spec.normalization == {"mode": "dtype"} and denoiser.spec.arch == "unet"
    assert "carries no spec" in caplog.text and "run directory or exported folder" in caplog.text
