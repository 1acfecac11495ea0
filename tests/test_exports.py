"""Exports beyond Keras give the Keras model's outputs on a real image: a TensorFlow SavedModel and ONNX (run by ONNX Runtime)."""

import json

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
    return export_model(run, tmp_path_factory.mktemp("export") / "model", formats=("savedmodel", "onnx"))


@pytest.fixture(scope="module")
def kodak_batch(shared_datasets):
    noisy = read_rgb(shared_datasets / "kodak" / "kodim05.png")[:256, :384] / 255.0 + np.random.default_rng(0).normal(0, 0.1, (256, 384, 3))
    return noisy[None].astype(np.float32)


def test_the_export_records_its_formats(exported):
    config = json.loads((exported / "config.json").read_text())
    assert set(config["other_formats"]) == {"savedmodel", "model.onnx"}
    assert (exported / "model.keras").is_file() and not list(exported.glob(".*partial*"))


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
