"""``--precision auto``: bf16 only where the CPU has it and TensorFlow's oneDNN kernels run it natively."""

import os
import subprocess
import sys

import numpy as np
import pytest

from noise2noise_keras import precision
from noise2noise_keras.errors import UserError

AVX512_BF16 = {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"}


def another_cpu(monkeypatch, flags, onednn, isa_limit):
    """Stand in for /proc/cpuinfo of another CPU kind and for the environment oneDNN reads; no GPU (none here anyway)."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    monkeypatch.setattr(precision.tf.config, "list_physical_devices", lambda kind: [])
    for variable, value in (("TF_ENABLE_ONEDNN_OPTS", onednn), ("ONEDNN_MAX_CPU_ISA", isa_limit)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)


@pytest.mark.parametrize(
    "flags,onednn,isa_limit,expected",
    [
        ({"avx2", "avx512_bf16"}, None, None, "mixed_bfloat16"),
        ({"avx2", "amx_bf16"}, "1", None, "mixed_bfloat16"),
        ({"avx2"}, None, None, "float32"),
        ({"avx2", "avx512_bf16"}, "0", None, "float32"),
        ({"avx2", "amx_bf16"}, "false", None, "float32"),
        ({"avx2", "avx512_bf16"}, None, "AVX2", "float32"),
        ({"avx2", "amx_bf16"}, None, "avx512_core_vnni", "float32"),
        ({"avx2", "amx_bf16"}, None, "AVX512_CORE_BF16", "mixed_bfloat16"),
        ({"avx2", "amx_bf16"}, None, "ALL", "mixed_bfloat16"),
    ],
)
def test_auto_picks_bf16_only_with_native_bf16_and_onednn(monkeypatch, flags, onednn, isa_limit, expected):
    another_cpu(monkeypatch, flags, onednn, isa_limit)
    assert precision.resolve_precision("auto") == expected
    assert precision.resolve_precision("float32") == "float32"


@pytest.mark.parametrize(
    "flags,onednn,isa_limit,runs",
    [
        ({"avx2"}, None, None, True),  # an AVX2 CPU without VNNI: TensorFlow runs Eigen, whose bf16 is slow but runs
        ({"avx2", "avx_vnni"}, None, None, False),  # an AVX2 laptop with AVX-VNNI: oneDNN on by default, no bf16 convolution
        ({"avx2"}, "1", None, False),
        ({"avx2", "avx_vnni"}, "0", None, True),
        (AVX512_BF16, None, "AVX2", False),  # measured here (Zen 4): "could not create a primitive descriptor"
        (AVX512_BF16, None, "AVX2_VNNI", False),
        (AVX512_BF16, "0", "AVX2", True),
        (AVX512_BF16, None, "AVX512_CORE", True),  # measured: oneDNN emulates bf16 from AVX-512 up
        (AVX512_BF16, None, None, True),
    ],
)
def test_explicit_bf16_is_refused_only_where_no_bf16_convolution_can_run(monkeypatch, flags, onednn, isa_limit, runs):
    another_cpu(monkeypatch, flags, onednn, isa_limit)
    if runs:
        assert precision.resolve_precision("mixed_bfloat16") == precision.inference_precision("mixed_bfloat16") == "mixed_bfloat16"
    else:
        with pytest.raises(UserError, match="pass --precision auto"):
            precision.resolve_precision("mixed_bfloat16")
        assert precision.resolve_precision("auto") == "float32"


def test_explicit_bf16_with_onednn_limited_to_avx2_is_one_sentence_not_a_failed_convolution(tmp_path):
    environment = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"}  # real on any x86-64 CPU: oneDNN at AVX2
    command = [sys.executable, "-m", "noise2noise_keras", "train", "gaussian", "sample", "--precision", "mixed_bfloat16", "--run-dir", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--precision mixed_bfloat16 cannot run here" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("flags,gpu,expected", [({"avx512_bf16"}, False, "mixed_bfloat16"), ({"avx2"}, False, "float32"), ({"amx_bf16"}, True, "float32")])
def test_denoising_picks_bf16_only_on_bf16_cpus(monkeypatch, flags, gpu, expected):
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    monkeypatch.setattr(precision.tf.config, "list_physical_devices", lambda kind: ["a GPU"] if gpu else [])  # stands in for a GPU
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert precision.inference_precision("auto") == expected
    assert precision.inference_precision("float32") == "float32"


def test_bf16_denoising_of_a_shipped_model_stays_within_its_measured_tolerance(shared_datasets):
    """The measured claim behind `auto` (benchmarks/results/inference_precision.md), on one Kodak crop in this process."""
    from noise2noise_keras.artifacts import load_denoiser
    from noise2noise_keras.datasets.images import read_rgb
    from noise2noise_keras.datasets.noisy import fixed_noise
    from noise2noise_keras.metrics import psnr
    from noise2noise_keras.noise import parse_noise

    clean = read_rgb(shared_datasets / "kodak" / "kodim23.png")[128:384, 256:512]
    (noisy,) = fixed_noise([clean], parse_noise("gaussian,25"), 0)
    scores = {}
    for policy in ("float32", "mixed_bfloat16"):
        denoiser = load_denoiser("gaussian", policy)
        assert denoiser.model.layers[3].compute_dtype == ("float32" if policy == "float32" else "bfloat16")
        scores[policy] = psnr(clean, denoiser.denoise(np.asarray(noisy)))
    assert abs(scores["mixed_bfloat16"] - scores["float32"]) < 0.02, scores
