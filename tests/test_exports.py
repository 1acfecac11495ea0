"""Exports beyond Keras give the Keras model's outputs on a real image: a TensorFlow SavedModel, ONNX (run by ONNX Runtime),
and a bioimage.io package that bioimage.io's own `bioimageio test` passes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from noise2noise_keras.artifacts import export_model
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.datasets.images import read_rgb
from noise2noise_keras.errors import UserError
from noise2noise_keras.models import build_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A run directory with a trained-looking U-Net (random weights), exported in every format."""
    keras.utils.set_random_seed(3)
    run = tmp_path_factory.mktemp("run")
    TrainConfig(noise="gaussian", dataset="sample").save(run / "config.json")
    (run / "checkpoints").mkdir()
    build_model("unet").save(run / "checkpoints" / "best.keras")
    return export_model(run, tmp_path_factory.mktemp("export") / "model", formats=("savedmodel", "onnx", "bioimageio"))


@pytest.fixture(scope="module")
def kodak_batch(shared_datasets):
    noisy = read_rgb(shared_datasets / "kodak" / "kodim05.png")[:256, :384] / 255.0 + np.random.default_rng(0).normal(0, 0.1, (256, 384, 3))
    return noisy[None].astype(np.float32)


def test_the_export_records_its_formats(exported):
    spec = json.loads((exported / "denoiser.json").read_text())
    assert set(spec["other_formats"]) == {"savedmodel", "model.onnx", "bioimageio"}
    assert (exported / "model.keras").is_file() and not list(exported.glob(".*partial*")) and not list(exported.parent.glob(".*"))


def test_savedmodel_gives_the_keras_outputs(exported, kodak_batch):
    reference = keras.saving.load_model(exported / "model.keras").predict_on_batch(kodak_batch)
    loaded = tf.saved_model.load(str(exported / "savedmodel"))  # held: its functions reference its variables
    served = loaded.serve(tf.constant(kodak_batch)).numpy()
    assert np.abs(served - reference).max() < 1e-4


def test_onnx_gives_the_keras_outputs(exported, kodak_batch):
    import onnxruntime

    reference = keras.saving.load_model(exported / "model.keras").predict_on_batch(kodak_batch)
    session = onnxruntime.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: kodak_batch})
    assert output.shape == reference.shape and np.abs(output - reference).max() < 1e-4


def test_an_unknown_format_is_one_sentence(exported, tmp_path):
    with pytest.raises(UserError, match="Unknown export format 'tflite'"):
        export_model(exported, tmp_path / "x", formats=("tflite",))


def test_the_bioimageio_package_passes_bioimageio_test(exported):
    """bioimage.io's validator loads the keras_v3 weights without this package and reproduces the stored test output
    through the package's own pre- and post-processing (our pixel scaling)."""
    rdf = json.loads((exported / "bioimageio" / "rdf.yaml").read_text())
    assert set(rdf["weights"]) == {"keras_v3"} and rdf["inputs"][0]["preprocessing"][0]["kwargs"]["gain"] == 1 / 255
    command = [str(Path(sys.executable).with_name("bioimageio")), "test", str(exported / "bioimageio" / "rdf.yaml")]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=exported.parent)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Reproduce test outputs from test inputs" in result.stdout and "❌" not in result.stdout


def test_an_architecture_with_its_own_layers_is_refused_by_bioimageio_export(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(noise="gaussian", dataset="sample", arch="dsc").save(run / "config.json")
    build_model("dsc").save(run / "checkpoints" / "best.keras")
    with pytest.raises(UserError, match="bioimage.io's Keras runner cannot load"):
        export_model(run, tmp_path / "export", formats=("bioimageio",))
    assert not (tmp_path / "export").exists() and not list(tmp_path.glob(".export*"))  # nothing half-written
