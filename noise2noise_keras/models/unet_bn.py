"""Seed 001's U-Net autoencoder: BatchNorm and dropout, max-pooling, 2 encoder and 4 decoder blocks.

As the report describes: encoder blocks of Conv-ReLU-BatchNorm-MaxPool-Dropout
take a 32x32 input down to 4x4x64 (the first block pools twice, the second
once), decoder blocks upsample with transposed convolutions, concatenate the
encoder features of the same size, and refine with Conv-ReLU-BatchNorm-Dropout;
the fourth decoder maps to the output channels (linear, so unclipped noisy
targets are not squashed). Sides must be multiples of 8.
"""

from __future__ import annotations

import keras
from keras import layers

DROPOUT = 0.1


def _conv_relu_bn(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", name=name)(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def build_unet_bn(channels: int = 3, name: str = "unet_bn") -> keras.Model:
    """Build the seed-001 U-Net for ``channels``-channel images in [0, 1]."""
    inputs = keras.Input(shape=(None, None, channels), name="noisy")
    skips = []
    x = inputs
    for stage, filters in enumerate((32, 48), start=1):  # encoder 1: two pooling stages
        x = _conv_relu_bn(x, filters, f"enc1_conv{stage}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc1_pool{stage}")(x)
    x = layers.Dropout(DROPOUT, name="enc1_dropout")(x)
    x = _conv_relu_bn(x, 64, "enc2_conv")  # encoder 2
    skips.append(x)
    x = layers.MaxPooling2D(2, name="enc2_pool")(x)
    x = layers.Dropout(DROPOUT, name="enc2_dropout")(x)  # 4x4x64 for a 32x32 input
    for block, filters in enumerate((64, 48, 32), start=1):
        x = layers.Conv2DTranspose(filters, 2, strides=2, name=f"dec{block}_deconv")(x)
        x = layers.Concatenate(name=f"dec{block}_skip")([x, skips.pop()])
        x = _conv_relu_bn(x, filters, f"dec{block}_conv")
        x = layers.Dropout(DROPOUT, name=f"dec{block}_dropout")(x)
    outputs = layers.Conv2D(channels, 3, padding="same", dtype="float32", name="dec4_conv")(x)
    return keras.Model(inputs, outputs, name=name)
