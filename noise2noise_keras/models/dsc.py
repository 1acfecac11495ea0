"""Seed 003's 10-layer convolution/deconvolution network with Direct Symmetric Connections (DSC).

Five convolutions (64, 64, 128, 256, 512 features; the first keeps the size,
the others halve it) and five transposed convolutions mirror them. Conv
layer i's output is split by a trainable scalar gate g_i (initially 0.1, 0.2,
0.3, 0.4 for layers 1-4, as reported): g_i of it flows on down the network,
1 - g_i of it is added to the input of the deconvolution of the same size.
The report's perceptual-loss variant never converged; trained with L2 (MSE)
or, for its Gaussian + salt-and-pepper corruption, L1, it does. Linear
output. Sides must be multiples of 16.
"""

from __future__ import annotations

import keras
from keras import layers, ops

FEATURES = (64, 64, 128, 256, 512)
INITIAL_GATES = (0.1, 0.2, 0.3, 0.4)


@keras.saving.register_keras_serializable(package="noise2noise_keras")
class GatedSplit(layers.Layer):
    """``x -> (g x, (1 - g) x)`` with one trainable scalar ``g``."""

    def __init__(self, initial: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.initial = initial

    def build(self, input_shape) -> None:
        self.gate = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial), name="gate")

    def call(self, x):
        gate = ops.cast(self.gate, x.dtype)
        return gate * x, (1.0 - gate) * x

    def get_config(self) -> dict:
        return {**super().get_config(), "initial": self.initial}


def build_dsc(channels: int = 3, name: str = "dsc") -> keras.Model:
    """Build the seed-003 DSC network for ``channels``-channel images in [0, 1]."""
    inputs = keras.Input(shape=(None, None, channels), name="noisy")
    x, skips = inputs, []
    for index, filters in enumerate(FEATURES, start=1):
        x = layers.Conv2D(filters, 3, strides=1 if index == 1 else 2, padding="same", activation="relu", name=f"conv{index}")(x)
        if index <= len(INITIAL_GATES):
            x, skip = GatedSplit(INITIAL_GATES[index - 1], name=f"gate{index}")(x)
            skips.append(skip)
    for index, filters in enumerate(reversed(FEATURES[:-1]), start=1):  # deconv 1-4: 256, 128, 64, 64
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu", name=f"deconv{index}")(x)
        x = layers.Add(name=f"dsc{index}")([x, skips.pop()])
    outputs = layers.Conv2DTranspose(channels, 3, padding="same", dtype="float32", name="deconv5")(x)
    return keras.Model(inputs, outputs, name=name)
