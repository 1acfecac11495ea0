"""Inference overhead: the raw model call vs denoise() vs the whole file pipeline, on a Kodak image.

    python benchmarks/inference_overhead.py [--model gaussian] [--repeats 15]

Writes benchmarks/results/inference_overhead.{json,md}. Warm-up calls are
excluded; every repetition calls each variant in turn (side by side in one
process), and medians and min/max over the repetitions are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.image_io import read_image, write_image
from noise2noise_keras.inference import denoise

RESULTS = Path(__file__).resolve().parent / "results"
KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak" / "kodim05.png"


def timed(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, float]]:
    """Median/min/max seconds of each function, called in turn within every repetition (a slow spell hits all alike)."""
    for function in functions.values():
        function()  # warm-up (graph tracing, allocator)
    seconds: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            seconds[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(s), "min_s": min(s), "max_s": max(s)} for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--image", type=Path, default=KODAK)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    denoiser = load_denoiser(args.model)
    model = denoiser.model
    loaded = read_image(args.image)
    batch = loaded.pixels[None].astype(np.float32) / 255.0  # 768x512: already a multiple of 32
    out = Path(tempfile.mkdtemp()) / "out.png"

    def pipeline():
        image = read_image(args.image)
        write_image(out, denoiser.denoise(image.pixels), image)

    results = timed({
        "raw model call, eager (model(x))": lambda: np.asarray(model(batch, training=False)),
        "raw model call, graph (predict_on_batch)": lambda: model.predict_on_batch(batch),
        "denoise() (uint8 -> float, pad, call, crop, clip, -> uint8)": lambda: denoise(loaded.pixels, model),
        "file pipeline (read PNG, denoise, write PNG)": pipeline,
        "denoise() tiled 256": lambda: denoise(loaded.pixels, model, tile=256),
    }, args.repeats)  # fmt: skip
    raw = min(results[name]["median_s"] for name in results if name.startswith("raw"))  # the faster raw call is the baseline
    for entry in results.values():
        entry["ratio_to_raw"] = entry["median_s"] / raw
    report = {"image": str(args.image.name), "shape": list(loaded.pixels.shape), "model": args.model, "results": results, "environment": collect_environment()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "inference_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Inference overhead ({args.image.name}, {loaded.pixels.shape[1]}x{loaded.pixels.shape[0]})",
        "",
        f"CPU: {report['environment']['cpu']} ({report['environment']['cpu_count']} cores), GPUs: {report['environment']['gpus'] or 'none'}; "
        f"{args.repeats} repetitions after one warm-up, each calling every variant in turn.",
        "",
        "| what | median (s) | min–max (s) | ratio to the faster raw call |",
        "|---|---|---|---|",
        *[f"| {name} | {r['median_s']:.3f} | {r['min_s']:.3f}–{r['max_s']:.3f} | {r['ratio_to_raw']:.3f} |" for name, r in results.items()],
    ]
    (RESULTS / "inference_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
