"""Architectures by name. Each builder takes ``channels`` and returns an uncompiled Keras model.

Each also has a :class:`Geometry`: the multiple its image sides must be (its
pooling grid) and the context a tile needs so that tiled output equals
whole-image output (its receptive field, rounded up to that grid; measured
from input gradients in ``tests/test_model.py``).
"""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Geometry:
    """``size_multiple``: image sides are padded to it; ``margin``: context pixels around a tile (a multiple of it)."""

    size_multiple: int
    margin: int


GEOMETRY: dict[str, Geometry] = {
    "unet": Geometry(32, 160),  # 5 poolings; an output pixel sees inputs up to 159 px away
    "hourglass": Geometry(2, 8),  # one stride-2 stage; 6 px
    "unet_bn": Geometry(8, 16),  # 3 poolings; 15 px (22 px from a pixel's own 8-px cell)
    "dsc": Geometry(16, 32),  # 4 stride-2 stages; 17 px before, 32 px after a 16-px cell
}


def build_model(arch: str, channels: int = 3) -> keras.Model:
    """Build architecture ``arch`` for ``channels``-channel images."""
    if arch not in ARCHITECTURES:
        raise UserError(f"Unknown architecture '{arch}': use one of {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[arch](channels=channels)
