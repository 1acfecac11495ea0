"""Choosing and applying the Keras mixed-precision policy.

``auto`` picks ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on CPUs with
native bf16 instructions (AVX512-BF16 / AMX), where it roughly halves the step
time, and ``float32`` elsewhere, including bf16 CPUs where TensorFlow's oneDNN
kernels are switched off (``TF_ENABLE_ONEDNN_OPTS=0``): without them bf16 is
emulated and slower than float32, and bf16 CPUs where oneDNN is limited below
its bf16 kernels (``ONEDNN_MAX_CPU_ISA=AVX2``, say), where it cannot create a
bf16 convolution at all. An explicit ``mixed_bfloat16`` is refused, in one
sentence, where oneDNN is on but cannot create bf16 convolutions (below
AVX-512: an AVX2 laptop with AVX-VNNI, where TensorFlow turns oneDNN on by
default, or a limit such as ``ONEDNN_MAX_CPU_ISA=AVX2``); it would fail deep in
the first training step. The U-Net's output layer always computes in float32,
so losses and metrics stay float32.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import tensorflow as tf

from noise2noise_keras.errors import UserError

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


# oneDNN's ISA limits (ONEDNN_MAX_CPU_ISA) below AVX-512, where it creates no bf16 convolution at all (measured: AVX2,
# AVX2_VNNI), and those that stop short of its native bf16 kernels (AVX512_CORE_BF16 and up), where it emulates bf16.
ISAS_BELOW_AVX512 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2"}
ISAS_WITHOUT_BF16 = ISAS_BELOW_AVX512 | {"AVX512_CORE", "AVX512_CORE_VNNI"}
# TensorFlow turns oneDNN on by default only on CPUs with one of these (else it runs its Eigen kernels).
ONEDNN_BY_DEFAULT = {"avx512_vnni", "avx512_bf16", "amx_bf16", "avx_vnni"}
AVX512_CORE = {"avx512f", "avx512bw", "avx512vl", "avx512dq"}


def onednn_on() -> bool:
    """Whether TensorFlow runs its oneDNN kernels here: as TF_ENABLE_ONEDNN_OPTS says, else by this CPU's features."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    return setting in ("1", "true") if setting else bool(cpu_flags() & ONEDNN_BY_DEFAULT)


def onednn_isa_limit() -> str:
    """The instruction-set limit set for oneDNN (ONEDNN_MAX_CPU_ISA), upper-case; empty when none is set."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()


def native_bf16() -> bool:
    """Whether TensorFlow's CPU kernels run bf16 natively here: the CPU has it and oneDNN is on and allowed to use it."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"}) and onednn_on() and onednn_isa_limit() not in ISAS_WITHOUT_BF16


def bf16_convolutions() -> bool:
    """Whether a bf16 convolution can run here at all: Eigen's kernels (oneDNN off) always can, slowly; oneDNN only from AVX-512 up."""
    return not onednn_on() or (cpu_flags() >= AVX512_CORE and onednn_isa_limit() not in ISAS_BELOW_AVX512)


def resolve_precision(requested: str) -> str:
    """Turn ``auto`` into a concrete Keras dtype policy name for this machine; refuse bf16 where no bf16 convolution can run."""
    if requested == "mixed_bfloat16" and not tf.config.list_physical_devices("GPU") and not bf16_convolutions():
        raise UserError(
            "--precision mixed_bfloat16 cannot run here: TensorFlow's oneDNN kernels are on but this CPU (or ONEDNN_MAX_CPU_ISA) is below AVX-512, "
            "where oneDNN has no bf16 convolution; pass --precision auto (float32 here), or set TF_ENABLE_ONEDNN_OPTS=0 for slow, emulated bf16."
        )
    if requested != "auto":
        return requested
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if native_bf16() else "float32"


def apply_precision(policy: str) -> None:
    """Set the global Keras dtype policy (affects models built afterwards)."""
    keras.config.set_dtype_policy(policy)
    log.info("precision policy: %s", policy)


def inference_precision(requested: str) -> str:
    """``auto`` for denoising: ``mixed_bfloat16`` where training would pick it on a CPU, else float32 (GPUs too).

    Measured on every shipped model (benchmarks/results/inference_precision.md): bf16 output within
    the 0.02 dB tolerance of float32's mean Kodak PSNR, at twice the speed.
    """
    if requested != "auto":
        return resolve_precision(requested)
    return "mixed_bfloat16" if resolve_precision("auto") == "mixed_bfloat16" else "float32"
