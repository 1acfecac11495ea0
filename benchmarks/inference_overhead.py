"""Inference overhead: the raw model call vs denoise() vs the whole file pipeline, on a Kodak image.

    python benchmarks/inference_overhead.py [--model gaussian] [--repeats 7]

Writes benchmarks/results/inference_overhead.{json,md}. Warm-up calls are
excluded; medians and min/max over the repetitions are reported, all measured
side by side in one process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.image_io import read_image, write_image
from noise2noise_keras.inference import denoise

RESULTS = Path(__file__).resolve().parent / "results"
KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak" / "kodim05.png"


def timed(function, repeats: int) -> dict[str, float]:
    function()  # warm-up (graph tracing, allocator)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--image", type=Path, default=KODAK)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    model, _ = load_denoiser(args.model)
    loaded = read_image(args.image)
    batch = loaded.pixels[None].astype(np.float32) / 255.0  # 768x512: already a multiple of 32
    out = Path(tempfile.mkdtemp()) / "out.png"

    def pipeline():
        image = read_image(args.image)
        write_image(out, denoise(image.pixels, model), image)

    results = {
        "raw model call, eager (model(x))": timed(lambda: np.asarray(model(batch, training=False)), args.repeats),
        "raw model call, graph (predict_on_batch)": timed(lambda: model.predict_on_batch(batch), args.repeats),
        "denoise() (uint8 -> float, pad, call, crop, clip, -> uint8)": timed(lambda: denoise(loaded.pixels, model), args.repeats),
        "file pipeline (read PNG, denoise, write PNG)": timed(pipeline, args.repeats),
        "denoise() tiled 256": timed(lambda: denoise(loaded.pixels, model, tile=256), args.repeats),
    }
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
        f"{args.repeats} repetitions after one warm-up.",
        "",
        "| what | median (s) | min–max (s) | ratio to the faster raw call |",
        "|---|---|---|---|",
        *[f"| {name} | {r['median_s']:.3f} | {r['min_s']:.3f}–{r['max_s']:.3f} | {r['ratio_to_raw']:.3f} |" for name, r in results.items()],
    ]
    (RESULTS / "inference_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
