"""FusableLeakyReLU: Keras' leaky ReLU values and gradients, and a training graph grappler can fuse."""

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from noise2noise_keras.models.leaky_relu import FusableLeakyReLU

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from throughput import unet  # noqa: E402 (a benchmark script, importable once benchmarks/ is on the path)

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


@pytest.mark.parametrize("variant", ["project", "keras"])
def test_grappler_optimizes_the_training_step_only_with_the_fusable_layer(variant, capfd):
    """TensorFlow logs (C++, stderr) when its remapper gives up on a graph; with Keras' layer it does, on ours it must not."""
    model = unet("fusable" if variant == "project" else "keras")
    assert any(isinstance(layer, FusableLeakyReLU) for layer in model.layers) == (variant == "project")
    model.compile(optimizer="adam", loss="mse")
    batch = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    model.train_on_batch(batch, batch)
    assert (REMAPPER_FAILURE in capfd.readouterr().err) == (variant == "keras")
