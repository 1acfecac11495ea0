"""The benchmarks time models in the precision they claim, even after ``keras.backend.clear_session()``."""

from __future__ import annotations

from pathlib import Path

import keras
from architectures import compiled_model

ROOT = Path(__file__).resolve().parents[1]


def test_a_model_built_after_clear_session_keeps_the_requested_precision() -> None:
    # clear_session() resets Keras' global dtype policy to float32: the benchmarks once timed every model
    # after the first in float32 while labelling it bf16 (2.9x slower steps, hence too few training steps).
    try:
        compiled_model("hourglass", "mixed_bfloat16")
        keras.backend.clear_session()
        model = compiled_model("hourglass", "mixed_bfloat16")
        convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        assert convolutions and all(layer.compute_dtype == "bfloat16" for layer in convolutions)
        assert model.layers[-1].dtype_policy.name == "float32"  # the output layer stays float32, as in training
    finally:
        keras.config.set_dtype_policy("float32")
