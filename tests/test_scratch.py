"""The NumPy framework: gradients against finite differences and against Keras on the same weights, and it learns."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import noise2noise_keras  # noqa: F401
from noise2noise_keras.scratch import MSE, SGD, Adam, Conv2d, NearestUpsampling, ReLU, Sequential, Sigmoid
from noise2noise_keras.scratch.train import report_network, train


def in_float64(module):
    for parameter in module.parameters():
        parameter.value = parameter.value.astype(np.float64)
        parameter.grad = np.zeros_like(parameter.value)
    return module


def numeric_gradient(function, array, step=1e-6):
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + step
        plus = function()
        array[index] = saved - step
        minus = function()
        array[index] = saved
        gradient[index] = (plus - minus) / (2 * step)
    return gradient


MODULES = {
    "conv 3x3 same": lambda rng: Conv2d(2, 3, 3, padding=1, rng=rng),
    "conv 2x2 stride 2": lambda rng: Conv2d(2, 3, 2, stride=2, rng=rng),
    "conv 3x3 stride 2 pad 1": lambda rng: Conv2d(2, 3, 3, stride=2, padding=1, rng=rng),
    "upsampling": lambda rng: NearestUpsampling(2),
    "relu": lambda rng: ReLU(),
    "sigmoid": lambda rng: Sigmoid(),
    "sequential": lambda rng: Sequential(Conv2d(2, 4, 2, stride=2, rng=rng), ReLU(), NearestUpsampling(2), Conv2d(4, 2, 3, padding=1, rng=rng), Sigmoid()),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_gradients_match_finite_differences(name):
    rng = np.random.default_rng(0)
    module = in_float64(MODULES[name](rng))
    x = rng.normal(size=(2, 6, 6, 2))
    target = rng.normal(size=module.forward(x).shape)
    loss = MSE()
    value = lambda: loss.forward(module.forward(x), target)  # noqa: E731
    value()
    for parameter in module.parameters():
        parameter.grad[...] = 0
    grad_input = module.backward(loss.backward())
    np.testing.assert_allclose(grad_input, numeric_gradient(value, x), rtol=1e-5, atol=1e-8)
    for parameter in module.parameters():
        np.testing.assert_allclose(parameter.grad, numeric_gradient(value, parameter.value), rtol=1e-5, atol=1e-8)


def keras_twin(network: Sequential) -> keras.Model:
    """The report network in Keras, with the NumPy network's weights."""
    layers = []
    for module in network.modules:
        if isinstance(module, Conv2d):
            padding = "same" if module.padding else "valid"
            layer = keras.layers.Conv2D(module.weight.value.shape[-1], module.kernel, strides=module.stride, padding=padding)
            layers.append((layer, module))
        elif isinstance(module, NearestUpsampling):
            layers.append((keras.layers.UpSampling2D(module.scale, interpolation="nearest"), None))
        else:
            layers.append((keras.layers.Activation("relu" if isinstance(module, ReLU) else "sigmoid"), None))
    model = keras.Sequential([keras.Input((32, 32, 3))] + [layer for layer, _ in layers])
    for layer, module in layers:
        if module is not None:
            layer.set_weights([module.weight.value, module.bias.value])
    return model


def test_outputs_and_gradients_equal_keras_on_the_same_weights():
    rng = np.random.default_rng(1)
    network = report_network(rng)
    model = keras_twin(network)
    x, target = rng.random((4, 32, 32, 3), dtype=np.float32), rng.random((4, 32, 32, 3), dtype=np.float32)
    loss = MSE()
    network.zero_grad()
    loss.forward(network.forward(x), target)
    grad_input = network.backward(loss.backward())
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        output = model(inputs)
        keras_loss = tf.reduce_mean(tf.square(output - target))
    keras_grads = tape.gradient(keras_loss, [inputs, *model.trainable_weights])
    np.testing.assert_allclose(network.forward(x), output.numpy(), atol=1e-4)
    np.testing.assert_allclose(grad_input, keras_grads[0].numpy(), atol=1e-4)
    ours = [p.grad for p in network.parameters()]
    assert len(ours) == len(keras_grads) - 1
    for mine, theirs in zip(ours, keras_grads[1:]):
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-4)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_optimisers_follow_keras_step_for_step(optimizer):
    rng = np.random.default_rng(2)
    start = rng.normal(size=(5, 4)).astype(np.float32)
    network = Sequential(Conv2d(1, 1, 1, rng=rng))
    parameter = network.parameters()[0]
    parameter.value = start.reshape(1, 1, 5, 4)[:, :, :1, :1].copy()  # a 1x1x1x1 kernel is enough to follow the update rule
    variable = keras.Variable(parameter.value.copy())
    ours = Adam([parameter], 0.01) if optimizer == "adam" else SGD([parameter], 0.01, momentum=0.9)
    theirs = keras.optimizers.Adam(0.01) if optimizer == "adam" else keras.optimizers.SGD(0.01, momentum=0.9)
    for step in range(5):
        gradient = np.full_like(parameter.value, 0.3 * (step + 1) - 1.0)
        parameter.grad[...] = gradient
        ours.step()
        theirs.apply_gradients([(tf.constant(gradient), variable)])
        np.testing.assert_allclose(parameter.value, variable.numpy(), rtol=1e-5, atol=1e-6)


def test_the_numpy_denoiser_learns(shared_datasets):
    """The seed report's network stalled at 12.68 dB (a flat colour); ours clearly beats the noisy input in 200 steps."""
    _, result = train(shared_datasets, minutes=10, batch_size=32, max_steps=200)
    assert result["steps"] == 200 and result["psnr"] > result["psnr_noisy"] + 1.5
