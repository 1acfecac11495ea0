"""Does the default precision cost quality? The same short training in float32 and in ``--precision auto``, scored on Kodak σ=25.

    python benchmarks/precision_quality.py [--preset quick] [--data-root ../shared/datasets]

Both runs use the real command line with the same preset, seed, data stream
and step count; only ``--precision`` differs (``auto`` is mixed_bfloat16 on
CPUs with bf16 instructions, mixed_float16 on GPUs). Both final checkpoints
are evaluated on the 24 Kodak images with the fixed test noise. Target: the
default within 0.05 dB of float32. Writes
benchmarks/results/precision_quality.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark_results import write_results
from noise2noise_keras.environment import collect_environment
from noise2noise_keras.precision import resolve_precision

PRECISIONS = ("float32", "auto")


def n2n(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "noise2noise_keras", *arguments], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--data-root", default="data")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="n2n-precision-"))
    runs = {}
    for precision in PRECISIONS:
        run = work / precision
        start = time.perf_counter()
        n2n("train", "gaussian", "bsds300", "--preset", args.preset, "--precision", precision, "--seed", "0", "--data-root", args.data_root, "--run-dir", str(run))
        seconds = time.perf_counter() - start
        n2n("evaluate", str(run), "--checkpoint", "last", "--dataset", "kodak", "--noise", "gaussian,25", "--data-root", args.data_root, "--out", str(run / "kodak"))
        summary = json.loads((run / "kodak" / "summary.json").read_text())
        runs[precision] = {
            "resolved": json.loads((run / "summary.json").read_text())["precision"],
            "kodak_psnr": summary["psnr_denoised_mean"],
            "kodak_ssim": summary["ssim_denoised_mean"],
            "kodak_psnr_noisy": summary["psnr_noisy_mean"],
            "train_wall_seconds": seconds,
        }
    difference = runs["auto"]["kodak_psnr"] - runs["float32"]["kodak_psnr"]
    config = json.loads((work / "auto" / "config.json").read_text())
    record = {"preset": args.preset, "config": config, "runs": runs, "difference_db": difference, "target_db": 0.05, "environment": collect_environment()}
    lines = [
        f"# Default precision vs float32: the same `{args.preset}` training, Kodak σ=25",
        "",
        f"{config['epochs']} × {config['steps_per_epoch']} steps of {config['batch_size']} × {config['crop']}², seed 0, final checkpoints; "
        f"`auto` resolved to {resolve_precision('auto')} on {record['environment']['cpu']} ({record['environment']['cpu_count']} cores).",
        "",
        "| precision | Kodak PSNR (dB) | SSIM | training wall time (s) |",
        "|---|---|---|---|",
        *[f"| {name} ({run['resolved']}) | {run['kodak_psnr']:.3f} | {run['kodak_ssim']:.4f} | {run['train_wall_seconds']:.0f} |" for name, run in runs.items()],
        "",
        f"Default − float32: **{difference:+.3f} dB** (target: within ±0.05 dB; noisy input {runs['auto']['kodak_psnr_noisy']:.2f} dB).",
    ]
    write_results("precision_quality", record, lines)


if __name__ == "__main__":
    main()
