"""benchmarks/throughput.py --isa avx2 really runs TensorFlow's kernels as on a float32-only CPU.

The float32-only rows of the throughput record are measured on whatever CPU
the session has, with oneDNN limited to AVX2; this checks through oneDNN's own
verbose log that the limit takes effect in the training step's children.
"""

from __future__ import annotations

from isa_limits import ISA_LIMITS
from throughput import run_child

from noise2noise_keras.precision import cpu_flags


def convolution_kernels(isa: str) -> set[str]:
    # oneDNN on (TensorFlow's default only on CPUs with AVX-512 VNNI/BF16 or AMX), so that the check runs on an
    # AVX2-only CPU and under TF_ENABLE_ONEDNN_OPTS=0 too: without it TensorFlow's convolutions are Eigen's, not oneDNN's.
    environment = {"ONEDNN_VERBOSE": "1", "TF_ENABLE_ONEDNN_OPTS": "1", **ISA_LIMITS[isa]}
    profile = run_child("onednn_profile", environment, framework="keras", batch=1, crop=32, steps=1, precision="float32")
    return {row["implementation"] for row in profile["primitives"] if row["primitive"] == "convolution"}


def test_the_avx2_limit_keeps_every_convolution_of_a_training_step_off_avx512():
    limited = convolution_kernels("avx2")
    assert limited and not any("avx512" in kernel for kernel in limited) and any("avx2" in kernel for kernel in limited), limited
    if "avx512f" in cpu_flags():  # on an AVX-512 CPU the same step without the limit uses it, so the limit is what changed
        assert any("avx512" in kernel for kernel in convolution_kernels("native"))
