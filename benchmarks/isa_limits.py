"""Emulating a float32-only (AVX2) CPU on a better one, the same way in every benchmark: limits that oneDNN (TensorFlow's and PyTorch's kernels) and MKL read."""

from __future__ import annotations

import os
import sys

ISA_LIMITS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
}  # --isa: what oneDNN and MKL may use; avx2 stands in for a float32-only CPU


def run_limited_to(isa: str) -> None:
    """Re-run this script under ``isa``'s limits unless they are in effect: the libraries read them when they load, so a process cannot set them for itself."""
    limits = ISA_LIMITS[isa]
    if any(os.environ.get(name) != value for name, value in limits.items()):
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **limits})
