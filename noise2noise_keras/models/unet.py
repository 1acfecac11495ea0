"""The Noise2Noise U-Net, exactly as the table in the paper's appendix.

ENC_CONV0..6 with 48 features and 5 max-pools, nearest-neighbour upsampling with
concatenated skips, DEC_CONV5A..1B (96/96 ... 64/32) and a linear DEC_CONV1C.
Leaky ReLU with slope 0.1 after every convolution but the last (``FusableLeakyReLU``:
Keras' layer with a gradient that lets TensorFlow fuse it into the convolution); weights drawn
from N(0, gain^2 / fan_in) with gain sqrt(2) (He) and 1 for the output layer,
as in the official code. 991,203 parameters for 3 channels.

Data range: the model takes and returns images in [0, 1]. Internally it shifts
them to the official code's [-0.5, 0.5] with parameter-free ``Rescaling``
layers, so anyone can call a saved model on ordinary [0, 1] images.
Height and width must be multiples of 32 (5 poolings).
"""

from __future__ import annotations

import keras
from keras import layers

from noise2noise_keras.models.leaky_relu import FusableLeakyReLU

LEAKY_SLOPE = 0.1


def _conv(filters: int, name: str, gain_squared: float = 2.0) -> layers.Conv2D:
    init = keras.initializers.VarianceScaling(gain_squared, mode="fan_in", distribution="untruncated_normal")
    return layers.Conv2D(filters, 3, padding="same", kernel_initializer=init, name=name)


def _conv_lrelu(x, filters: int, name: str):
    x = _conv(filters, name)(x)
    return FusableLeakyReLU(negative_slope=LEAKY_SLOPE, name=f"{name}_lrelu")(x)


def build_unet(channels: int = 3, name: str = "unet") -> keras.Model:
    """Build the paper's U-Net for ``channels``-channel images of any size divisible by 32."""
    inputs = keras.Input(shape=(None, None, channels), name="noisy")
    x = layers.Rescaling(1.0, offset=-0.5, name="to_centered")(inputs)
    skips = [x]
    x = _conv_lrelu(x, 48, "enc_conv0")
    x = _conv_lrelu(x, 48, "enc_conv1")
    x = layers.MaxPooling2D(2, name="pool1")(x)
    skips.append(x)
    for level in range(2, 6):
        x = _conv_lrelu(x, 48, f"enc_conv{level}")
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
        if level < 5:
            skips.append(x)
    x = _conv_lrelu(x, 48, "enc_conv6")
    for level in range(5, 0, -1):
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"upsample{level}")(x)
        x = layers.Concatenate(name=f"concat{level}")([x, skips.pop()])
        features = (64, 32) if level == 1 else (96, 96)
        x = _conv_lrelu(x, features[0], f"dec_conv{level}a")
        x = _conv_lrelu(x, features[1], f"dec_conv{level}b")
    x = layers.Conv2D(
        channels,
        3,
        padding="same",
        kernel_initializer=keras.initializers.VarianceScaling(1.0, mode="fan_in", distribution="untruncated_normal"),
        dtype="float32",
        name="dec_conv1c",
    )(x)
    outputs = layers.Rescaling(1.0, offset=0.5, dtype="float32", name="denoised")(x)
    return keras.Model(inputs, outputs, name=name)
