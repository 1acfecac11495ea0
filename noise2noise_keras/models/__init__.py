"""Architectures by name. Each builder takes ``channels`` and returns an uncompiled Keras model."""

from __future__ import annotations

from collections.abc import Callable

import keras

from noise2noise_keras.errors import UserError
from noise2noise_keras.models.dsc import build_dsc
from noise2noise_keras.models.hourglass import build_hourglass
from noise2noise_keras.models.unet import build_unet
from noise2noise_keras.models.unet_bn import build_unet_bn

ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {
    "unet": build_unet,  # the paper's (default)
    "hourglass": build_hourglass,  # seed 000
    "unet_bn": build_unet_bn,  # seed 001
    "dsc": build_dsc,  # seed 003
}


def build_model(arch: str, channels: int = 3) -> keras.Model:
    """Build architecture ``arch`` for ``channels``-channel images."""
    if arch not in ARCHITECTURES:
        raise UserError(f"Unknown architecture '{arch}': use one of {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[arch](channels=channels)
