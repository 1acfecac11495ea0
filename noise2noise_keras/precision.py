"""Choosing and applying the Keras mixed-precision policy.

``auto`` picks ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on CPUs with
native bf16 instructions (AVX512-BF16 / AMX), where it roughly halves the step
time, and ``float32`` elsewhere. The U-Net's output layer always computes in
float32, so losses and metrics stay float32.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


def cpu_flags() -> set[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where that file does not exist)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def resolve_precision(requested: str) -> str:
    """Turn ``auto`` into a concrete Keras dtype policy name for this machine."""
    if requested != "auto":
        return requested
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    if cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        return "mixed_bfloat16"
    return "float32"


def apply_precision(policy: str) -> None:
    """Set the global Keras dtype policy (affects models built afterwards)."""
    keras.config.set_dtype_policy(policy)
    log.info("precision policy: %s", policy)
