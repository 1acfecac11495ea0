"""Architectures by name. Each builder takes ``channels`` and returns an uncompiled Keras model."""

from __future__ import annotations

from collections.abc import Callable

import keras

from noise2noise_keras.errors import UserError
from noise2noise_keras.models.unet import build_unet

ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {"unet": build_unet}


def build_model(arch: str, channels: int = 3) -> keras.Model:
    """Build architecture ``arch`` for ``channels``-channel images."""
    if arch not in ARCHITECTURES:
        raise UserError(f"Unknown architecture '{arch}': use one of {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[arch](channels=channels)
