"""Does the default precision cost quality? The same short training in float32 and in ``--precision auto``, scored on Kodak σ=25.

    python benchmarks/precision_quality.py [--preset quick] [--seeds 0 1 2] [--data-root ../shared/datasets]

Both runs use the real command line with the same preset, seed, data stream
and step count; only ``--precision`` differs (``auto`` is mixed_bfloat16 on
CPUs with bf16 instructions, mixed_float16 on GPUs). Both final checkpoints
are evaluated on the 24 Kodak images with the fixed test noise, for several
seeds, so the difference can be set beside the seed-to-seed spread. Target:
the default within 0.05 dB of float32. Finished runs are kept in ``--work``
and reused. Writes
benchmarks/results/precision_quality.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from benchmark_results import write_results
from n2n_command import n2n

from noise2noise_keras.environment import collect_environment
from noise2noise_keras.precision import resolve_precision

PRECISIONS = ("float32", "auto")


def train_and_score(run: Path, preset: str, precision: str, seed: int, data_root: str) -> dict:
    """One training + Kodak score, kept in ``run`` so a rerun skips it."""
    record = run / "precision_quality.json"
    if record.exists():
        return json.loads(record.read_text())
    start = time.perf_counter()
    n2n("train", "gaussian", "bsds300", "--preset", preset, "--precision", precision, "--seed", str(seed), "--data-root", data_root, "--run-dir", str(run))
    seconds = time.perf_counter() - start
    n2n("evaluate", str(run), "--checkpoint", "last", "--dataset", "kodak", "--noise", "gaussian,25", "--data-root", data_root, "--out", str(run / "kodak"))
    summary = json.loads((run / "kodak" / "summary.json").read_text())
    result = {
        "precision": precision,
        "seed": seed,
        "resolved": json.loads((run / "summary.json").read_text())["precision"],
        "kodak_psnr": summary["psnr_denoised_mean"],
        "kodak_ssim": summary["ssim_denoised_mean"],
        "kodak_psnr_noisy": summary["psnr_noisy_mean"],
        "train_wall_seconds": seconds,
    }
    record.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one float32 and one auto training per seed")
    parser.add_argument("--work", type=Path, default=Path("runs/precision_quality"), help="finished runs here are reused")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--note", default="", help="a sentence for the report, e.g. what else ran on the machine")
    args = parser.parse_args()
    runs = [
        train_and_score(args.work / f"{precision}-seed{seed}", args.preset, precision, seed, args.data_root) for seed in args.seeds for precision in PRECISIONS
    ]
    psnr = {precision: np.array([run["kodak_psnr"] for run in runs if run["precision"] == precision]) for precision in PRECISIONS}
    differences = psnr["auto"] - psnr["float32"]
    spread = float(np.std(psnr["float32"], ddof=1)) if len(args.seeds) > 1 else float("nan")
    config = json.loads((args.work / f"auto-seed{args.seeds[0]}" / "config.json").read_text())
    record = {
        "preset": args.preset, "seeds": args.seeds, "config": config, "runs": runs, "difference_db_per_seed": differences.tolist(),
        "difference_db_mean": float(differences.mean()), "float32_seed_std_db": spread, "target_db": 0.05, "note": args.note,
        "environment": collect_environment(),
    }  # fmt: skip
    lines = [
        f"# Default precision vs float32: the same `{args.preset}` training, Kodak σ=25",
        "",
        f"{config['epochs']} × {config['steps_per_epoch']} steps of {config['batch_size']} × {config['crop']}², seeds {', '.join(map(str, args.seeds))}, "
        f"final checkpoints; `auto` resolved to {resolve_precision('auto')} on {record['environment']['cpu']} ({record['environment']['cpu_count']} cores).",
        "",
        "| seed | precision | Kodak PSNR (dB) | SSIM | training wall time (s) |",
        "|---|---|---|---|---|",
        *[
            f"| {run['seed']} | {run['precision']} ({run['resolved']}) | {run['kodak_psnr']:.3f} | {run['kodak_ssim']:.4f} | {run['train_wall_seconds']:.0f} |"
            for run in runs
        ],
        "",
        f"Default − float32 per seed: {', '.join(f'{d:+.3f}' for d in differences)} dB; mean **{differences.mean():+.3f} dB** "
        f"(target: within ±0.05 dB). Seed-to-seed spread of float32 alone (sample std): {spread:.3f} dB. "
        f"Noisy input {runs[0]['kodak_psnr_noisy']:.2f} dB.",
        *(["", args.note] if args.note else []),
    ]
    write_results("precision_quality", record, lines)


if __name__ == "__main__":
    main()
