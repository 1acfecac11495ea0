"""Training and inference speed of the paper's U-Net: Keras/TensorFlow configurations vs its PyTorch twin, in one run.

    python benchmarks/throughput.py [--steps 10] [--data-root ../shared/datasets]     (needs: pip install torch==2.13.0)

Every configuration runs in a child process of its own (its own precision
policy, XLA setting and peak RSS), one after another in this one run:

- the practical matmul peak (4096² x 4096², float32 and bfloat16), the yardstick for efficiency, and the
  rate of the U-Net's busiest convolution alone, a second one (oneDNN's AMX convolutions outrun the matmul);
- Keras training steps at (batch 4, 256²) and (batch 16, 128²): float32 vs mixed_bfloat16, XLA off vs on,
  synthetic tensors; and the project's default (``--precision auto``, XLA off) fed by the real input
  pipeline (BSDS300, Gaussian noise on the fly), to show the pipeline is not the bottleneck;
- the PyTorch twin (``torch_unet.py``: same layers, same 991,203 parameters, same outputs) at the same
  shapes: eager float32 NCHW, channels_last, channels_last + bfloat16 autocast;
- the input pipeline alone (Gaussian and text noise), in images/s;
- a oneDNN-verbose profile of the default step and of PyTorch's best at (batch 4, 256²): time per
  propagation kind and per convolution problem, to show what bounds the default; and a TensorFlow
  profiler trace of the default step: time per op type and per scope (forward, backward, optimizer);
- inference on one 768 x 512 image: Keras ``predict_on_batch`` and PyTorch, float32 and bfloat16.

``--isa avx2`` measures a float32-only CPU on this one: every child runs with
oneDNN and MKL limited to AVX2 (``ONEDNN_MAX_CPU_ISA``, ``MKL_ENABLE_INSTRUCTIONS``)
and only float32 rows are measured, the default being what ``--precision auto``
picks there (float32); the oneDNN profile then sets it beside PyTorch channels_last float32.
TensorFlow's own default on a real AVX2-only CPU is Eigen's kernels, not oneDNN's (docs/performance.md).

Warm-up steps are excluded; step times are medians over the timed steps, with
min-max. Training efficiency = model FLOPs (2 x multiply-adds of every
convolution, x3 for forward + backward) x images/s / the matmul peak of the
same precision. Writes benchmarks/results/RECORD.{json,md} (``--record``, default throughput).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from isa_limits import ISA_LIMITS

SHAPES = ((4, 256), (16, 128))
WARMUP = 3
PROFILE_STEPS = 3
STEP_MARK = "n2n-step-end"


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _summary(seconds: list[float], images: int) -> dict[str, Any]:
    median = float(np.median(seconds))
    return {"median_s": median, "min_s": float(min(seconds)), "max_s": float(max(seconds)), "images_per_second": images / median, "peak_rss_gib": _rss_gib()}


def _rate(operation: Callable[[], Any], flop: float, repeats: int) -> dict[str, Any]:
    for _ in range(3):
        operation().numpy()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        operation().numpy()
        seconds.append(time.perf_counter() - start)
    median = float(np.median(seconds))
    return {"gflops": flop / median / 1e9, "median_s": median, "min_s": min(seconds), "max_s": max(seconds)}


def matmul_peak(dtype: str, size: int = 4096, repeats: int = 10) -> dict[str, Any]:
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size), dtype=tf.float32), dtype)
    matmul = tf.function(lambda: tf.linalg.matmul(a, a))
    return _rate(matmul, 2 * size**3, repeats)


def conv_peak(dtype: str, repeats: int = 10) -> dict[str, Any]:
    """The U-Net's busiest convolution shape alone (4 x 256² x 96 -> 96, 3 x 3, forward): a second yardstick.

    On AMX, oneDNN's convolutions outrun TensorFlow's plain bf16 matmul, so
    efficiency against the matmul alone can read over 100 %.
    """
    import tensorflow as tf

    images = tf.cast(tf.random.normal((4, 256, 256, 96)), dtype)
    kernel = tf.cast(tf.random.normal((3, 3, 96, 96)), dtype)
    convolve = tf.function(lambda: tf.nn.conv2d(images, kernel, 1, "SAME"))
    return _rate(convolve, 2 * 4 * 256 * 256 * 96 * 96 * 9, repeats)


def unet(leaky_relu: str = "fusable"):
    """The project's U-Net, or with ``leaky_relu="keras"`` the same network with Keras' own LeakyReLU layers
    (TensorFlow's gradient, which stops grappler fusing), for comparison."""
    import keras

    from noise2noise_keras.models import build_model
    from noise2noise_keras.models.leaky_relu import FusableLeakyReLU

    def clone(layer):
        kind = keras.layers.LeakyReLU if isinstance(layer, FusableLeakyReLU) else type(layer)
        return kind.from_config(layer.get_config())

    model = build_model("unet")
    return model if leaky_relu == "fusable" else keras.models.clone_model(model, clone_function=clone)


def keras_training(
    batch: int, crop: int, precision: str, xla: bool, feed: str, steps: int, data_root: str,
    step_end: Callable[[], Any] | None = None, leaky_relu: str = "fusable",
) -> dict[str, Any]:  # fmt: skip
    """Median step time of ``model.fit``; ``leaky_relu="keras"`` swaps in Keras' own LeakyReLU layers."""
    import keras
    import tensorflow as tf

    from noise2noise_keras.losses import build_loss
    from noise2noise_keras.precision import apply_precision, resolve_precision

    precision = resolve_precision(precision)
    apply_precision(precision)
    model = unet(leaky_relu)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=build_loss("l2"), jit_compile=xla)
    if feed == "synthetic":
        rng = np.random.default_rng(0)
        pair = (rng.random((batch, crop, crop, 3), dtype=np.float32), rng.random((batch, crop, crop, 3), dtype=np.float32))
        data = tf.data.Dataset.from_tensors(pair).repeat()
    else:
        data = noisy_stream(feed, batch, crop, data_root)
    ends: list[float] = []

    def step_done(batch: int, logs: dict | None = None) -> None:
        ends.append(time.perf_counter())
        if step_end:
            step_end()

    model.fit(data, epochs=1, steps_per_epoch=WARMUP + steps + 1, callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=step_done)], verbose=0)
    return {**_summary(list(np.diff(ends[WARMUP:])), batch), "precision": precision}


def noisy_stream(noise: str, batch: int, crop: int, data_root: str):
    from noise2noise_keras.datasets.images import read_images
    from noise2noise_keras.datasets.noisy import NoisyDataset
    from noise2noise_keras.datasets.registry import dataset_files
    from noise2noise_keras.noise import parse_noise

    images = [image for _, image in read_images(dataset_files("bsds300", "train", data_root))]
    return NoisyDataset(images, parse_noise(noise), "noisy", crop, augment=True, seed=0).stream(batch)


def pipeline_alone(noise: str, batch: int, crop: int, steps: int, data_root: str) -> dict[str, Any]:
    iterator = iter(noisy_stream(noise, batch, crop, data_root))
    for _ in range(WARMUP):
        next(iterator)
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        next(iterator)
        seconds.append(time.perf_counter() - start)
    return _summary(seconds, batch)


def torch_training(batch: int, crop: int, layout: str, bf16: bool, steps: int, step_end: Callable[[], Any] | None = None) -> dict[str, Any]:
    import torch
    from torch_unet import TorchUNet

    model, memory_format = TorchUNet(), torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), 3e-4, betas=(0.9, 0.99), eps=1e-8)
    generator = torch.Generator().manual_seed(0)
    source, target = (torch.rand(batch, 3, crop, crop, generator=generator).contiguous(memory_format=memory_format) for _ in range(2))
    seconds = []
    for step in range(WARMUP + steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            output = model(source)
        loss = torch.nn.functional.mse_loss(output.float(), target)
        loss.backward()
        optimizer.step()
        if step >= WARMUP:
            seconds.append(time.perf_counter() - start)
        if step_end:
            step_end()
    return _summary(seconds, batch)


def onednn_profile(
    framework: str, batch: int, crop: int, steps: int, leaky_relu: str = "fusable", precision: str = "auto", torch_bf16: bool = True
) -> dict[str, Any]:  # fmt: skip
    """oneDNN's own time per primitive in training steps (this child runs with ONEDNN_VERBOSE=1).

    Keras: the project's default precision; PyTorch: its best configuration
    (channels_last + bf16 autocast, or float32 where bf16 is ruled out). oneDNN prints through the C library's
    stdout, so the step markers go through the same stream and fd 1 is
    captured in a file while the steps run.
    """
    libc = ctypes.CDLL(None)

    def mark() -> None:
        libc.printf(STEP_MARK.encode() + b"\n")
        libc.fflush(None)

    with tempfile.TemporaryFile("w+") as log:
        libc.fflush(None)
        saved = os.dup(1)
        os.dup2(log.fileno(), 1)
        try:
            if framework == "keras":
                timing = keras_training(batch, crop, precision, False, "synthetic", steps, "", step_end=mark, leaky_relu=leaky_relu)
            else:
                timing = torch_training(batch, crop, "channels_last", torch_bf16, steps, step_end=mark)
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        primitives = onednn_step_times(log.read().splitlines(), skip=WARMUP)
    return {"median_s": timing["median_s"], "primitives": primitives}


def onednn_step_times(lines: list[str], skip: int) -> list[dict[str, Any]]:
    """Mean ms per step of each (primitive, propagation, implementation, problem) in a verbose log, steps after ``skip``."""
    ends = [index for index, line in enumerate(lines) if line == STEP_MARK]
    steps = [lines[start + 1 : stop] for start, stop in zip(ends[skip - 1 : -1], ends[skip:])]
    totals: dict[tuple[str, ...], float] = {}
    for line in (line for step in steps for line in step):
        fields = line.split(",")
        if len(fields) > 8 and fields[0] == "onednn_verbose" and fields[3] == "exec":
            key = (fields[5], fields[7], fields[6], fields[-2].removeprefix("g1"))
            totals[key] = totals.get(key, 0.0) + float(fields[-1])
    names = ("primitive", "propagation", "implementation", "problem")
    return sorted(({**dict(zip(names, key)), "ms_per_step": ms / len(steps)} for key, ms in totals.items()), key=lambda row: -row["ms_per_step"])


def op_profile(batch: int, crop: int, steps: int, leaky_relu: str = "fusable", precision: str = "auto") -> dict[str, Any]:
    """TensorFlow profiler trace of the default training step: ms per step of each op type and each top-level scope.

    Summed over TensorFlow's inter-op threads (ops running at the same time
    both count, so the sum can exceed the step), from the op events of the
    host trace; oneDNN's own threads are inside those ops.
    """
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    trace_dir = tempfile.mkdtemp(prefix="n2n-trace-")
    ended = 0

    def step_end() -> None:
        nonlocal ended
        ended += 1
        if ended == WARMUP:
            tf.profiler.experimental.start(trace_dir)
        elif ended == WARMUP + steps:
            tf.profiler.experimental.stop()

    timing = keras_training(batch, crop, precision, False, "synthetic", steps, "", step_end=step_end, leaky_relu=leaky_relu)
    space = xplane_pb2.XSpace()
    space.ParseFromString(next(Path(trace_dir).rglob("*.xplane.pb")).read_bytes())
    by_type: dict[str, float] = {}
    by_scope: dict[str, float] = {}
    for plane in (plane for plane in space.planes if plane.name == "/host:CPU"):
        for event in (event for line in plane.lines if line.name.startswith("tf_Compute") for event in line.events):
            metadata = plane.event_metadata[event.metadata_id]
            if metadata.display_name:  # TensorFlow ops: "scope/.../name:Type", display name "Type"
                ms = event.duration_ps / 1e9 / steps
                by_type[metadata.display_name] = by_type.get(metadata.display_name, 0.0) + ms
                path = metadata.name.removeprefix("StatefulPartitionedCall/")  # the train function's body
                scope = re.sub(r"_\d+$", "", path.split("/")[0]) if "/" in path else "(top level)"  # TensorFlow numbers repeated scopes
                by_scope[scope] = by_scope.get(scope, 0.0) + ms
    ranked = lambda totals: dict(sorted(totals.items(), key=lambda item: -item[1]))  # noqa: E731
    return {"median_s": timing["median_s"], "ms_by_type": ranked(by_type), "ms_by_scope": ranked(by_scope)}


def keras_inference(precision: str, repeats: int, leaky_relu: str = "fusable") -> dict[str, Any]:
    from noise2noise_keras.precision import apply_precision

    apply_precision(precision)
    model = unet(leaky_relu)
    image = np.random.default_rng(0).random((1, 512, 768, 3), dtype=np.float32)
    for _ in range(2):
        model.predict_on_batch(image)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(image)
        seconds.append(time.perf_counter() - start)
    return _summary(seconds, 1)


def torch_inference(layout: str, bf16: bool, repeats: int) -> dict[str, Any]:
    import torch
    from torch_unet import TorchUNet

    memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = TorchUNet().to(memory_format=memory_format).eval()
    image = torch.rand(1, 3, 512, 768).contiguous(memory_format=memory_format)
    seconds = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for step in range(2 + repeats):
            start = time.perf_counter()
            model(image).float()
            if step >= 2:
                seconds.append(time.perf_counter() - start)
    return _summary(seconds, 1)


def twin_check() -> dict[str, Any]:
    """The PyTorch twin computes the Keras U-Net's function: same parameter count, outputs within float rounding."""
    import torch
    from torch_unet import TorchUNet, copy_keras_weights, forward_flops

    from noise2noise_keras.models import build_model

    keras_model, twin = build_model("unet"), TorchUNet()
    copy_keras_weights(twin, keras_model)
    image = np.random.default_rng(0).random((1, 64, 96, 3), dtype=np.float32)
    with torch.no_grad():
        twin_output = twin(torch.from_numpy(image).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    return {
        "keras_parameters": keras_model.count_params(),
        "torch_parameters": sum(p.numel() for p in twin.parameters()),
        "max_abs_output_difference": float(np.abs(keras_model.predict_on_batch(image) - twin_output).max()),
        "training_gflop_per_image": {f"{crop}x{crop}": 3 * forward_flops(twin, crop, crop) / 1e9 for _, crop in SHAPES},
    }


CHILD_FUNCTIONS = {
    "matmul": matmul_peak, "conv": conv_peak, "keras_training": keras_training, "pipeline": pipeline_alone, "torch_training": torch_training,
    "keras_inference": keras_inference, "torch_inference": torch_inference, "twin_check": twin_check, "onednn_profile": onednn_profile,
    "op_profile": op_profile,
}  # fmt: skip


def run_child(kind: str, environment: dict[str, str] | None = None, **arguments: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (with extra ``environment``); returns its result dict (with the arguments)."""
    command = [sys.executable, __file__, "--child", json.dumps({"kind": kind, **arguments})]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    env.update(environment or {})
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{kind} {arguments} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items() if not isinstance(v, list)}
    print(f"{kind} {arguments}: {json.dumps(shown)}", flush=True)
    return {"kind": kind, **arguments, **result}


def measure(steps: int, data_root: str, isa: str = "native") -> dict[str, Any]:
    """Every configuration in its own child; with ``isa="avx2"`` all of them limited to AVX2 and float32, as on such a CPU."""
    from noise2noise_keras.precision import resolve_precision

    limits = ISA_LIMITS[isa]
    float32_only = isa != "native"  # bf16 on AVX2 is emulated by conversions: no CPU of that kind would train in it
    default_precision = "float32" if float32_only else resolve_precision("auto")  # what --precision auto picks on that CPU
    dtypes = ("float32",) if float32_only else ("float32", "bfloat16")
    precisions = ("float32",) if float32_only else ("float32", "mixed_bfloat16")
    torch_settings = [(layout, bf16) for layout, bf16 in (("nchw", False), ("channels_last", False), ("channels_last", True)) if not (bf16 and float32_only)]
    child = lambda kind, **arguments: run_child(kind, limits, **arguments)  # noqa: E731
    results: dict[str, Any] = {"isa": isa, "environment_limits": limits, "twin": child("twin_check")}
    results["matmul_peak"] = {dtype: child("matmul", dtype=dtype) for dtype in dtypes}
    results["conv_peak"] = {dtype: child("conv", dtype=dtype) for dtype in dtypes}
    training = []
    for batch, crop in SHAPES:
        shape = dict(batch=batch, crop=crop, steps=steps)
        for precision in precisions:
            for xla in (False, True):
                training.append(child("keras_training", precision=precision, xla=xla, feed="synthetic", data_root=data_root, **shape))
        training.append(child("keras_training", precision=default_precision, xla=False, feed="gaussian", data_root=data_root, **shape) | {"default": True})
        training += [child("torch_training", layout=layout, bf16=bf16, **shape) for layout, bf16 in torch_settings]
    results["training"] = training
    results["default_precision"] = default_precision
    results["pipeline"] = [
        child("pipeline", noise=noise, batch=batch, crop=crop, steps=steps * 2, data_root=data_root) for batch, crop in SHAPES for noise in ("gaussian", "text")
    ]
    batch, crop = SHAPES[0]
    profiled = dict(batch=batch, crop=crop, steps=PROFILE_STEPS, precision=default_precision)
    results["onednn_profile"] = {
        framework: run_child("onednn_profile", {"ONEDNN_VERBOSE": "1", **limits}, framework=framework, torch_bf16=not float32_only, **profiled)
        for framework in ("keras", "torch")
    }
    results["op_profile"] = child("op_profile", **profiled)
    results["inference"] = [
        *(child("keras_inference", precision=precision, repeats=steps) for precision in precisions),
        *(child("torch_inference", layout=layout, bf16=bf16, repeats=steps) for layout, bf16 in torch_settings),
    ]
    return results


def label(row: dict[str, Any]) -> str:
    if row["kind"] == "keras_training":
        feed = "real input pipeline" if row["feed"] != "synthetic" else "synthetic tensors"
        return f"Keras {row['precision']}, XLA {'on' if row['xla'] else 'off'}, {feed}" + (" **(default)**" if row.get("default") else "")
    return f"PyTorch {row['layout']}{' + bf16 autocast' if row['bf16'] else ' fp32'}"


PRIMITIVE_CLASSES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "convolution forward": lambda row: row["primitive"] == "convolution" and row["propagation"].startswith("forward"),
    "convolution backward data": lambda row: row["primitive"] == "convolution" and row["propagation"] == "backward_data",
    "convolution backward weights": lambda row: row["primitive"] == "convolution" and row["propagation"] == "backward_weights",
    "reorders (layout conversions)": lambda row: row["primitive"] == "reorder",
    "everything else in oneDNN": lambda row: row["primitive"] not in ("convolution", "reorder"),
    "**all oneDNN primitives**": lambda row: True,
}  # where a step's oneDNN time goes, by kind of primitive (rows of onednn_step_times)


def profile_report(profile: dict[str, Any]) -> list[str]:
    """Markdown: where the default step's oneDNN time goes, beside PyTorch's best configuration."""

    def share(framework: str, select: Callable[[dict[str, Any]], bool]) -> float:
        return sum(row["ms_per_step"] for row in profile[framework]["primitives"] if select(row))

    def layer(framework: str, problem: str, propagation: str) -> float:
        return share(framework, lambda row: row["primitive"] == "convolution" and row["problem"] == problem and row["propagation"] == propagation)

    batch, crop = SHAPES[0]
    torch_best = "channels_last + bf16 autocast" if profile["torch"].get("torch_bf16", True) else "channels_last float32"
    lines = ["", f"## Where a training step's time goes (oneDNN verbose, batch {batch} × {crop}²)", "",
             f"oneDNN's own execution time per step (mean of {PROFILE_STEPS} steps after {WARMUP} warm-ups, `ONEDNN_VERBOSE=1`, "
             f"which slows both a little): the Keras default vs PyTorch {torch_best}. TensorFlow runs independent "
             "primitives concurrently, so its sum can exceed the step's wall time.", "",
             f"| ms per step | Keras default | PyTorch {torch_best} |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {name} | {share('keras', select):.0f} | {share('torch', select):.0f} |" for name, select in PRIMITIVE_CLASSES.items()]
    lines.append(f"| step (wall, verbose on) | {profile['keras']['median_s'] * 1000:.0f} | {profile['torch']['median_s'] * 1000:.0f} |")
    weights = [row for row in profile["keras"]["primitives"] if row["primitive"] == "convolution" and row["propagation"] == "backward_weights"]
    lines += ["", "The convolution problems with the most backward-weights time in Keras, summed over the layers that share the problem "
              "(the same oneDNN problem in both frameworks):", "",
              "| problem | Keras kernel | Keras bwd-weights ms | PyTorch bwd-weights ms | Keras fwd ms | PyTorch fwd ms |", "|---|---|---|---|---|---|"]  # fmt: skip
    for row in weights[:8]:
        problem = row["problem"]
        lines.append(
            f"| `{problem}` | {row['implementation']} | {row['ms_per_step']:.1f} | {layer('torch', problem, 'backward_weights'):.1f} | "
            f"{layer('keras', problem, 'forward_training'):.1f} | {layer('torch', problem, 'forward_training'):.1f} |"
        )
    return lines


SCOPES = {
    "unet": "forward pass",
    "gradient_tape": "backward pass (TensorFlow's gradients)",
    "leaky_relu_gradient": "backward pass (FusableLeakyReLU's gradients)",
    "adam": "optimizer update",
    "compile_loss": "loss",
}  # top-level name scopes of the train function


def op_report(profile: dict[str, Any], rows: int = 15) -> list[str]:
    """Markdown: the default step's time by TensorFlow op type and by scope (forward, backward, optimizer), from the TF profiler."""
    batch, crop = SHAPES[0]
    total = sum(profile["ms_by_type"].values())
    lines = ["", f"## Where a training step's time goes (TensorFlow profiler, batch {batch} × {crop}²)", "",
             f"Each TensorFlow op's wall time in the default step, ms per step over {PROFILE_STEPS} traced steps after {WARMUP} warm-ups, "
             "summed over TensorFlow's inter-op threads (ops that overlap both count). oneDNN primitives run inside the `_MklNative*` ops. "
             f"Step wall time while tracing: {profile['median_s'] * 1000:.0f} ms; all ops: {total:.0f} ms.", "",
             "| scope | what | ms per step | share |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| `{scope}` | {SCOPES.get(scope, '')} | {ms:.1f} | {ms / total * 100:.0f} % |" for scope, ms in profile["ms_by_scope"].items() if ms >= 0.05]
    lines += ["", f"The {rows} op types with the most time:", "", "| op type | ms per step | share |", "|---|---|---|"]
    lines += [f"| `{name}` | {ms:.1f} | {ms / total * 100:.0f} % |" for name, ms in list(profile["ms_by_type"].items())[:rows]]
    return lines


def write_report(results: dict[str, Any], steps: int, record: str = "throughput") -> None:
    import torch

    from noise2noise_keras.environment import collect_environment
    from noise2noise_keras.precision import cpu_flags

    environment = collect_environment()
    environment["packages"]["torch"] = torch.__version__
    flags = sorted(cpu_flags() & {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_fp16"})
    results["machine"] = {
        "cpu": environment["cpu"],
        "cores": environment["cpu_count"],
        "flags": flags,
        "gpu": environment.get("gpus") or "none (no GPU was lent to this session)",
    }
    results["environment"] = environment
    peaks = {dtype: row["gflops"] for dtype, row in results["matmul_peak"].items()}
    conv_peaks = {dtype: row["gflops"] for dtype, row in results["conv_peak"].items()}
    limits = results.get("environment_limits")
    limited = (
        f" Every process ran with {', '.join(f'`{k}={v}`' for k, v in limits.items())} and in float32 only: a float32-only "
        f"({results['isa'].upper()}) CPU emulated on this one (bf16 rows left out)."
        if limits
        else ""
    )
    gflop = results["twin"]["training_gflop_per_image"]
    lines = [
        "# Training and inference throughput: Keras 3 / TensorFlow vs a PyTorch twin",
        "",
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, flags {', '.join(flags)}; GPU: {results['machine']['gpu']}. "
        f"TensorFlow {environment['packages'].get('tensorflow') or environment['packages'].get('tensorflow-cpu')}, Keras {environment['packages'].get('keras')}, PyTorch {torch.__version__}. "
        f"Each row is a fresh process, measured one after another in one run; {WARMUP} warm-up steps excluded, median of {steps} steps (min–max).{limited}",
        "",
        f"Twin check: Keras {results['twin']['keras_parameters']:,} parameters, PyTorch {results['twin']['torch_parameters']:,}; "
        f"max |output difference| with the same weights {results['twin']['max_abs_output_difference']:.1e}. "
        f"Training cost: {gflop['256x256']:.1f} GFLOP per 256² image, {gflop['128x128']:.1f} per 128².",
        "",
        f"Practical matmul peak (4096³, TensorFlow): {', '.join(f'{dtype} {gflops:.0f}' for dtype, gflops in peaks.items())} GFLOP/s. "
        f"The U-Net's busiest convolution alone (4 × 256² × 96 → 96, 3 × 3, forward): "
        f"{', '.join(f'{dtype} {gflops:.0f}' for dtype, gflops in conv_peaks.items())} GFLOP/s.",
    ]
    for batch, crop in SHAPES:
        rows = [row for row in results["training"] if (row["batch"], row["crop"]) == (batch, crop)]
        default = next(row for row in rows if row.get("default"))
        torch_rows = [row for row in rows if row["kind"] == "torch_training"]
        eager = next(row for row in torch_rows if row["layout"] == "nchw")
        best_torch = min(torch_rows, key=lambda row: row["median_s"])
        lines += ["", f"## Training, batch {batch} × {crop}²", "",
                  "| configuration | s/step (median) | min–max | images/s | % of its precision's matmul peak | % of its conv peak | peak RSS (GiB) |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in rows:
            precision = "bfloat16" if row.get("bf16") or "bfloat16" in row.get("precision", "") else "float32"
            rate = gflop[f"{crop}x{crop}"] * row["images_per_second"]
            lines.append(f"| {label(row)} | {row['median_s']:.3f} | {row['min_s']:.3f}–{row['max_s']:.3f} | {row['images_per_second']:.2f} | "
                         f"{rate / peaks[precision] * 100:.0f} % | {rate / conv_peaks[precision] * 100:.0f} % | {row['peak_rss_gib']:.2f} |")  # fmt: skip
        lines += [
            "",
            f"Default vs PyTorch eager fp32: **{eager['median_s'] / default['median_s']:.2f}×** faster; "
            f"vs PyTorch's best here ({label(best_torch)}): **{best_torch['median_s'] / default['median_s']:.2f}×**.",
        ]
    lines += [
        "",
        "## Input pipeline alone (BSDS300 crops, noise on the fly)",
        "",
        "| noise | batch × crop | s/batch | images/s | × the default model's consumption |",
        "|---|---|---|---|---|",
    ]
    for row in results["pipeline"]:
        consumer = next(r for r in results["training"] if r.get("default") and (r["batch"], r["crop"]) == (row["batch"], row["crop"]))
        lines.append(
            f"| {row['noise']} | {row['batch']} × {row['crop']}² | {row['median_s']:.4f} | {row['images_per_second']:.0f} | {row['images_per_second'] / consumer['images_per_second']:.1f}× |"
        )
    lines += profile_report(results["onednn_profile"])
    lines += op_report(results["op_profile"])
    lines += ["", "## Inference, one 768 × 512 image", "", "| configuration | s (median) | min–max | peak RSS (GiB) |", "|---|---|---|---|"]
    for row in results["inference"]:
        name = (
            f"Keras predict_on_batch {row['precision']}"
            if row["kind"] == "keras_inference"
            else f"PyTorch {row['layout']}{' + bf16 autocast' if row['bf16'] else ' fp32'}"
        )
        lines.append(f"| {name} | {row['median_s']:.3f} | {row['min_s']:.3f}–{row['max_s']:.3f} | {row['peak_rss_gib']:.2f} |")
    from benchmark_results import write_results

    write_results(record, results, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--record", default="throughput", help="file name under benchmarks/results (one per kind of CPU)")
    parser.add_argument("--isa", choices=sorted(ISA_LIMITS), default="native", help="avx2: limit oneDNN and MKL to AVX2, float32 only (a float32-only CPU)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(CHILD_FUNCTIONS[spec.pop("kind")](**spec)))
        return
    write_report(measure(args.steps, args.data_root, args.isa), args.steps, args.record)


if __name__ == "__main__":
    main()
