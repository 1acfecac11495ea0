"""How pixel values map to a model's units, and back: one definition for data, validation and inference.

A model sees float32 "units". Models trained on synthetic noise take every
image over its sample type's full range (uint8 / 255, uint16 / 65535, floats
as they are): their record is ``{"mode": "dtype"}`` and the mapping is chosen
per image. Models trained on a user's own captures record what the training
data fixed (see ``datasets.pairs.fit_normalization``): ``dtype`` mode again,
or ``percentile`` mode, whose fixed ``offset`` and ``scale`` map the training
frames' 0.1-99.9 % range to [0, 1] and are used for every image unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from noise2noise_keras.errors import UserError

MODES = ("dtype", "percentile")
DTYPE_RANGE: dict[str, Any] = {"mode": "dtype"}  # the record of every model trained on synthetic noise


@dataclasses.dataclass(frozen=True)
class Normalization:
    """``value = offset + scale * unit`` for one image.

    ``clip_unit_range`` clips the model's output to [0, 1] before mapping back:
    right for a full-range mapping, wrong for percentiles, where values beyond
    the 0.1-99.9 % range are real and kept.
    """

    offset: float
    scale: float
    clip_unit_range: bool = True

    @classmethod
    def for_dtype(cls, dtype: np.dtype) -> Normalization:
        dtype = np.dtype(dtype)
        return cls(0.0, float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0)

    @classmethod
    def for_image(cls, record: Mapping[str, Any], dtype: np.dtype) -> Normalization:
        """The mapping a model with normalisation ``record`` applies to an image of ``dtype``."""
        check_record(record)
        if record["mode"] == "dtype":
            return cls.for_dtype(dtype)
        return cls(float(record["offset"]), float(record["scale"]), clip_unit_range=False)

    @classmethod
    def fixed(cls, record: Mapping[str, Any]) -> Normalization:
        """The mapping of the training data itself (a record from ``fit_normalization`` holds its offset and scale)."""
        return cls(float(record["offset"]), float(record["scale"]), clip_unit_range=record["mode"] == "dtype")

    def to_units(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels as float32 model units, ``(value - offset) / scale``: what the model saw in training."""
        units = pixels.astype(np.float32)
        if self.offset:
            units -= self.offset
        if self.scale != 1.0:
            units /= self.scale
        return units

    def tensor_to_units(self, pixels: tf.Tensor) -> tf.Tensor:
        """:meth:`to_units` inside a tf.data pipeline."""
        return (tf.cast(pixels, tf.float32) - self.offset) / self.scale

    def to_pixels(self, units: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Model output back to pixel values of ``dtype`` (integers rounded and clipped to their range; floats as float32)."""
        if self.clip_unit_range:
            units = np.clip(units, 0.0, 1.0)
        values = units * self.scale + self.offset
        dtype = np.dtype(dtype)
        if dtype.kind in "ui":
            return np.clip(np.rint(values), 0, np.iinfo(dtype).max).astype(dtype)
        return values.astype(np.float32, copy=False)


def check_record(record: Any) -> None:
    """Refuse a normalisation record that cannot be applied (one sentence naming what is wrong)."""
    if not isinstance(record, Mapping) or record.get("mode") not in MODES:
        raise UserError(f"Unknown normalisation record {record!r}: expected mode 'dtype' or 'percentile'; re-export the model.")
    if record["mode"] == "percentile":
        try:
            scale = float(record["scale"])
            float(record["offset"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"The percentile normalisation {dict(record)!r} lacks a numeric offset and scale: re-export the model.") from None
        if not 0.0 < scale < float("inf"):
            raise UserError(f"The percentile normalisation has scale {scale}: it must be a positive number; re-export the model.")
