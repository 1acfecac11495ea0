"""``--precision auto``: bf16 only where the CPU has it and TensorFlow's oneDNN kernels run it natively."""

import numpy as np
import pytest

from noise2noise_keras import precision


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
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)  # stands in for /proc/cpuinfo of another CPU kind
    monkeypatch.setattr(precision.tf.config, "list_physical_devices", lambda kind: [])  # no GPU here anyway; said for clarity
    for variable, value in (("TF_ENABLE_ONEDNN_OPTS", onednn), ("ONEDNN_MAX_CPU_ISA", isa_limit)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    assert precision.resolve_precision("auto") == expected
    assert precision.resolve_precision("float32") == "float32"


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
