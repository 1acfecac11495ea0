"""FusableLeakyReLU: Keras' leaky ReLU values and gradients, and a training graph grappler can fuse."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from throughput import unet

from noise2noise_keras.models.leaky_relu import FusableLeakyReLU

REMAPPER_FAILURE = "remapper failed"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("slope", [0.1, 0.0])
def test_values_and_gradients_equal_keras_leaky_relu(dtype, slope):
    features = tf.constant(np.concatenate([np.random.default_rng(0).normal(size=999), [0.0, -0.0, 1e-30, -1e-30]]), dtype)
    upstream = tf.constant(np.random.default_rng(1).normal(size=features.shape), dtype)
    results = []
    for layer in (keras.layers.LeakyReLU(negative_slope=slope, dtype=dtype), FusableLeakyReLU(negative_slope=slope, dtype=dtype)):
        with tf.GradientTape() as tape:
            tape.watch(features)
            activations = layer(features)
        results.append((activations.numpy(), tape.gradient(activations, features, output_gradients=upstream).numpy()))
    (keras_values, keras_gradient), (values, gradient) = results
    np.testing.assert_array_equal(values, keras_values)
    np.testing.assert_array_equal(gradient, keras_gradient)


def onednn_rewrites_enabled() -> bool:
    """Whether TensorFlow applies its oneDNN graph rewrites in this process.

    By default it does only on CPUs with AVX-512 VNNI/BF16 or AMX (``TF_ENABLE_ONEDNN_OPTS``
    overrides it). Only then does grappler fuse a leaky ReLU into its convolution, so only
    then can Keras' layer make the remapper fail: on an AVX2-only CPU neither layer does.
    """
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own answer; no public API says it

    return bool(_pywrap_util_port.IsMklEnabled())


@pytest.mark.parametrize("variant", ["project", "keras"])
def test_grappler_optimizes_the_training_step_only_with_the_fusable_layer(variant, capfd):
    """TensorFlow logs (C++, stderr) when its remapper gives up on a graph; with Keras' layer it does where it fuses, on ours never."""
    model = unet("fusable" if variant == "project" else "keras")
    assert any(isinstance(layer, FusableLeakyReLU) for layer in model.layers) == (variant == "project")
    model.compile(optimizer="adam", loss="mse")
    batch = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    model.train_on_batch(batch, batch)
    assert (REMAPPER_FAILURE in capfd.readouterr().err) == (variant == "keras" and onednn_rewrites_enabled())


@pytest.mark.parametrize("onednn", ["0", "1"])
def test_the_remapper_check_holds_with_onednn_rewrites_on_and_off(onednn):
    """Both kinds of CPU on one machine: TF_ENABLE_ONEDNN_OPTS=0 is what an AVX2-only CPU gets by default."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"{__file__}::test_grappler_optimizes_the_training_step_only_with_the_fusable_layer",
    ]
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "1"}  # the remapper logs at ERROR; tf2onnx's import sets 3
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-2000:]
