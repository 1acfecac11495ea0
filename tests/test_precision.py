"""``--precision auto``: bf16 only where the CPU has it and TensorFlow's oneDNN kernels run it."""

import pytest

from noise2noise_keras import precision


@pytest.mark.parametrize(
    "flags,onednn,expected",
    [({"avx2", "avx512_bf16"}, None, "mixed_bfloat16"), ({"avx2", "amx_bf16"}, "1", "mixed_bfloat16"), ({"avx2"}, None, "float32"),
     ({"avx2", "avx512_bf16"}, "0", "float32"), ({"avx2", "amx_bf16"}, "false", "float32")],
)
def test_auto_picks_bf16_only_with_native_bf16_and_onednn(monkeypatch, flags, onednn, expected):
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)  # stands in for /proc/cpuinfo of another CPU kind
    monkeypatch.setattr(precision.tf.config, "list_physical_devices", lambda kind: [])  # no GPU here anyway; said for clarity
    if onednn is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", onednn)
    assert precision.resolve_precision("auto") == expected
    assert precision.resolve_precision("float32") == "float32"
