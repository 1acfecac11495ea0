"""Seed 000's hourglass: a Conv-BatchNorm-ReLU encoder with a stride-2 5x5 convolution, one skip, a transposed-conv decoder.

The report's best network ("D"): 3x3 conv, 5x5 stride-2 conv down; 5x5
stride-2 and 3x3 transposed convs up; BatchNorm after every conv; the
full-resolution features skip over the bottleneck; sigmoid output. Widths
are the course's suggested 48/96 (the report does not give them). Its setup
was Adam at lr 0.002, batches of 1000 and MSE. Sides must be even.
"""

from __future__ import annotations

import keras
from keras import layers


def _conv_bn_relu(x, layer: layers.Layer, name: str):
    x = layer(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_hourglass(channels: int = 3, width: int = 48, name: str = "hourglass") -> keras.Model:
    """Build the seed-000 hourglass for ``channels``-channel images in [0, 1]."""
    inputs = keras.Input(shape=(None, None, channels), name="noisy")
    full = _conv_bn_relu(inputs, layers.Conv2D(width, 3, padding="same", name="enc_conv1"), "enc_conv1")
    x = _conv_bn_relu(full, layers.Conv2D(2 * width, 5, strides=2, padding="same", name="enc_conv2"), "enc_conv2")
    x = layers.BatchNormalization(name="bottleneck_bn")(x)
    x = _conv_bn_relu(x, layers.Conv2DTranspose(width, 5, strides=2, padding="same", name="dec_deconv1"), "dec_deconv1")
    x = layers.Add(name="skip")([x, full])
    x = layers.Conv2DTranspose(channels, 3, padding="same", dtype="float32", name="dec_deconv2")(x)
    outputs = layers.Activation("sigmoid", dtype="float32", name="denoised")(x)
    return keras.Model(inputs, outputs, name=name)
