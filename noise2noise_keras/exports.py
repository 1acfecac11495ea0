"""Formats beyond Keras, for deployment: a TensorFlow SavedModel and ONNX.

Both hold the float32 network alone, exported with Keras' own ``model.export``:
input and output ``(N, H, W, C)`` float32 in model units ([0, 1] for models of
synthetic noise), ``H`` and ``W`` multiples of 32; the output is not clipped.
Padding, tiling and the normalisation of own-data models stay with the caller,
as the export's ``config.json`` describes them. They are written beside
``model.keras``, which stays the artifact ``n2n denoise`` loads.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import keras

from noise2noise_keras.errors import UserError

FORMATS = {"keras": None, "savedmodel": "savedmodel", "onnx": "model.onnx"}  # format -> what it adds to the export folder


def export_format(model: keras.Model, out_dir: Path, name: str) -> Path | None:
    """Write ``model`` in format ``name`` into ``out_dir`` (atomically: staged, then renamed); returns what was written."""
    if FORMATS[name] is None:
        return None
    target = out_dir / FORMATS[name]
    staged = out_dir / f".{FORMATS[name]}.partial"
    _remove(staged)
    try:
        if name == "onnx":
            _require_onnx_converter()
        model.export(str(staged), format="tf_saved_model" if name == "savedmodel" else "onnx", verbose=False)
        _remove(target)
        os.replace(staged, target)
    finally:
        _remove(staged)
    return target


def _require_onnx_converter() -> None:
    try:
        import tf2onnx  # noqa: F401  (Keras' ONNX export on the TensorFlow backend goes through it)
    except ImportError:
        raise UserError("ONNX export needs tf2onnx: pip install 'noise2noise-keras[onnx]' (or pip install tf2onnx onnx).") from None


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
