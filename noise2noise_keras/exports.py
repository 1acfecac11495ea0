"""Formats beyond Keras, for deployment: a TensorFlow SavedModel and ONNX (and a bioimage.io package, see model_zoo.py).

Both hold the float32 network alone, exported with Keras' own ``model.export``:
input and output ``(N, H, W, C)`` float32 in model units ([0, 1] for models of
synthetic noise), ``H`` and ``W`` multiples of 32; the output is not clipped.
Padding, tiling and the normalisation of own-data models stay with the caller,
as the export's ``config.json`` describes them. They are written beside
``model.keras``, which stays the artifact ``n2n denoise`` loads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from noise2noise_keras.atomic import discard
from noise2noise_keras.errors import UserError
from noise2noise_keras.model_zoo import write_package

FORMATS = {"keras": None, "savedmodel": "savedmodel", "onnx": "model.onnx", "bioimageio": "bioimageio"}  # format -> what it adds


def export_format(model: keras.Model, out_dir: Path, name: str, description: dict[str, Any]) -> Path | None:
    """Write ``model`` in format ``name`` into ``out_dir`` (atomically: staged, then renamed); returns what was written.

    ``description`` is the export's config.json (the bioimage.io package takes its noise and normalisation)."""
    if FORMATS[name] is None:
        return None
    target = out_dir / FORMATS[name]
    staged = out_dir / f".{FORMATS[name]}.partial"
    discard(staged)
    try:
        if name == "bioimageio":
            write_package(model, description, staged)
        else:
            if name == "onnx":
                _require_onnx_converter()
            model(np.zeros((1, 32, 32, model.input_shape[-1]), np.float32))  # Keras exports only models that have been called
            model.export(str(staged), format="tf_saved_model" if name == "savedmodel" else "onnx", verbose=False)
        discard(target)
        os.replace(staged, target)
    finally:
        discard(staged)
    return target


def _require_onnx_converter() -> None:
    try:
        import tf2onnx  # noqa: F401  (Keras' ONNX export on the TensorFlow backend goes through it)
    except ImportError:
        raise UserError("ONNX export needs tf2onnx: pip install 'noise2noise-keras[onnx]' (or pip install tf2onnx onnx).") from None
