"""Inference precision and runtime: float32 Keras vs bf16 Keras vs ONNX Runtime, per shipped model, on Kodak.

    python benchmarks/inference_precision.py [--data-root ../shared/datasets] [--repeats 7]

For every shipped model, the 24 Kodak images with the model's own fixed test
noise are denoised by each variant; the table gives each variant's mean PSNR,
its difference to float32 (mean and largest per image), and its speed on
kodim05 (768 x 512), the variants called in turn within every repetition.
The bf16 variant needs a CPU with native bf16 (AVX512-BF16 or AMX).
Writes benchmarks/results/inference_precision.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import onnxruntime
from inference_overhead import timed

from noise2noise_keras.artifacts import load_denoiser, pretrained_names
from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.environment import collect_environment, cpu_model
from noise2noise_keras.evaluation import TEST_SEED
from noise2noise_keras.exports import export_format
from noise2noise_keras.metrics import psnr
from noise2noise_keras.models import build_model
from noise2noise_keras.noise import paper_test_noise

RESULTS = Path(__file__).resolve().parent / "results"
TOLERANCE_DB = 0.02


def variants(model: keras.Model, arch: str, scratch: Path) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The same weights as float32 Keras, bf16 Keras (output layer float32, as in training) and ONNX Runtime."""
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        bf16 = build_model(arch, channels=model.input_shape[-1])
    finally:
        keras.config.set_dtype_policy("float32")
    bf16.set_weights(model.get_weights())
    session = onnxruntime.InferenceSession(str(export_format(model, scratch, "onnx", {})), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return {
        "float32 (Keras)": lambda batch: np.asarray(model.predict_on_batch(batch)),
        "mixed_bfloat16 (Keras)": lambda batch: np.asarray(bf16.predict_on_batch(batch), np.float32),
        "float32 (ONNX Runtime)": lambda batch: session.run(None, {name: batch})[0],
    }


def measure(model_name: str, images: list[tuple[str, np.ndarray]], repeats: int) -> dict:
    denoiser = load_denoiser(model_name)
    noise = paper_test_noise(denoiser.spec.noise)
    noisy = fixed_noise([image for _, image in images], noise, TEST_SEED)  # Kodak sides are multiples of 32: no padding
    with tempfile.TemporaryDirectory() as scratch:
        calls = variants(denoiser.model, denoiser.spec.arch, Path(scratch))
        scores = {variant: [psnr(clean, call(np.asarray(x, np.float32)[None])[0]) for (_, clean), x in zip(images, noisy)] for variant, call in calls.items()}
        kodim05 = np.asarray(noisy[4], np.float32)[None]
        speed = timed({variant: (lambda call=call: call(kodim05)) for variant, call in calls.items()}, repeats)
    reference = np.array(scores["float32 (Keras)"])
    rows = {}
    for variant, values in scores.items():
        difference = np.array(values) - reference
        rows[variant] = {
            "psnr_mean": float(np.mean(values)),
            "difference_mean_db": float(difference.mean()),
            "difference_max_abs_db": float(np.abs(difference).max()),
            "median_s": speed[variant]["median_s"],
            "speedup": speed["float32 (Keras)"]["median_s"] / speed[variant]["median_s"],
        }
    return {"noise": noise.spec, "variants": rows}


def report(record: dict) -> str:
    lines = [
        "# Inference precision and runtime per shipped model (Kodak, each model's own test noise)",
        "",
        f"{record['cpu']}, 2 cores, {record['date']}. 24 Kodak images; PSNR in the paper's uint8 convention; speed: median of "
        f"{record['repeats']} calls on kodim05 (768 × 512), variants in turn within each repetition. Tolerance for a faster "
        f"variant: mean PSNR within {TOLERANCE_DB} dB of float32.",
        "",
        "| model (noise) | variant | Kodak PSNR (dB) | Δ vs float32, mean (max per image) | s per image | speed vs float32 |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in record["models"].items():
        for variant, row in result["variants"].items():
            lines.append(
                f"| {name} ({result['noise']}) | {variant} | {row['psnr_mean']:.3f} | {row['difference_mean_db']:+.4f} ({row['difference_max_abs_db']:.4f}) "
                f"| {row['median_s']:.3f} | {row['speedup']:.2f}× |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    images = read_images(dataset_files("kodak", "test", args.data_root))
    record = {"cpu": cpu_model(), "date": datetime.date.today().isoformat(), "repeats": args.repeats, "environment": collect_environment()}
    record["models"] = {name: measure(name, images, args.repeats) for name in pretrained_names()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "inference_precision.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "inference_precision.md").write_text(report(record))
    print(report(record))


if __name__ == "__main__":
    main()
