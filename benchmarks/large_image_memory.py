"""Peak memory of ``n2n denoise`` on a 20000 x 20000 photograph (tiled automatically): the target is < 4 GiB.

    python benchmarks/large_image_memory.py [--side 20000] [--model gaussian]

Builds a noisy 8-bit RGB PNG of Kodak photographs tiled to ``side`` x ``side``
(Gaussian noise, sigma 25), runs the real command line on it in a child
process and reads that process's own peak resident set (``VmHWM``) while it
runs, so decoding, denoising and encoding are all counted. Also checks the
result denoised: PSNR of a central crop against the clean image. Writes
benchmarks/results/large_image_memory.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from noise2noise_keras.environment import collect_environment
from noise2noise_keras.image_io import read_image
from noise2noise_keras.inference import AUTO_TILE
from noise2noise_keras.metrics import psnr
from noise2noise_keras.models import GEOMETRY

RESULTS = Path(__file__).resolve().parent / "results"
KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak"
BAND = 1000  # rows of noise drawn at a time: float64 noise for the whole image would take 9.6 GB here


def clean_image(side: int) -> np.ndarray:
    """Kodak photographs (landscape ones, 512 x 768) tiled to side x side."""
    photos = [np.asarray(Image.open(KODAK / f"kodim{index:02d}.png").convert("RGB")) for index in (1, 5, 13, 23)]
    photos = [photo for photo in photos if photo.shape[:2] == (512, 768)]
    row = np.concatenate(photos * (-(-side // (768 * len(photos)))), axis=1)[:, :side]
    return np.concatenate([np.roll(row, 192 * k, axis=1) for k in range(-(-side // 512))], axis=0)[:side]


def run_and_watch_peak(command: list[str]) -> float:
    """Run ``command``; returns its peak resident set (GiB), its own ``VmHWM`` read while it runs.

    Not ``getrusage(RUSAGE_CHILDREN)``: Linux carries the parent's high-water
    mark into the child's at ``exec``, so it would report this process's
    peak (the clean and noisy 20000² images, 4.28 GiB) instead of the child's.
    """
    child = subprocess.Popen(command)
    peak_kib = 0
    while child.poll() is None:
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
            peak_kib = max(peak_kib, int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]))
        except (OSError, StopIteration):
            pass  # exiting
        time.sleep(0.1)
    if child.returncode:
        raise SystemExit(f"n2n denoise failed with exit code {child.returncode}.")
    return peak_kib / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=20000)
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--note", default="", help="a sentence for the report, e.g. what else ran on the machine")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="n2n-large-"))
    clean = clean_image(args.side)
    noisy = np.empty_like(clean)
    rng = np.random.default_rng(0)
    for top in range(0, args.side, BAND):
        band = clean[top : top + BAND]
        noisy[top : top + BAND] = np.clip(np.rint(band + rng.normal(0, 25, band.shape)), 0, 255)
    Image.fromarray(noisy).save(work / "noisy.png", compress_level=1)
    print(f"wrote {work / 'noisy.png'} ({args.side} x {args.side}); denoising ...", flush=True)

    command = [sys.executable, "-m", "noise2noise_keras", "denoise", str(work / "noisy.png"), "-o", str(work / "denoised.png"), "--model", args.model]
    start = time.perf_counter()
    peak_gib = run_and_watch_peak(command)
    seconds = time.perf_counter() - start

    denoised = read_image(work / "denoised.png").pixels  # the package's reader: Pillow's own refuses > 179 Mpx as a "decompression bomb"
    centre = slice(args.side // 2 - 1024, args.side // 2 + 1024)
    crop = lambda image: image[centre, centre] / 255.0  # noqa: E731
    report = {
        "side": args.side,
        "megapixels": args.side**2 / 1e6,
        "model": args.model,
        "tile": AUTO_TILE,
        "margin": GEOMETRY["unet"].margin,
        "peak_rss_gib": peak_gib,
        "target_gib": 4.0,
        "wall_seconds": seconds,
        "note": args.note,
        "output_shape": list(denoised.shape),
        "psnr_noisy_centre_crop": psnr(crop(noisy), crop(clean)),
        "psnr_denoised_centre_crop": psnr(crop(denoised), crop(clean)),
        "environment": collect_environment(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "large_image_memory.json").write_text(json.dumps(report, indent=2) + "\n")
    env = report["environment"]
    lines = [
        f"# Peak memory denoising a {args.side} x {args.side} image",
        "",
        f"`n2n denoise` (model `{args.model}`, automatic tiles of {AUTO_TILE} px + {GEOMETRY['unet'].margin} px context) on an 8-bit RGB PNG; "
        f"CPU: {env['cpu']} ({env['cpu_count']} cores), GPUs: {env['gpus'] or 'none'}.",
        "",
        "| peak RSS (GiB) | target (GiB) | wall time (s) | PSNR noisy → denoised, central 2048² crop (dB) |",
        "|---|---|---|---|",
        f"| {peak_gib:.2f} | < 4.0 | {seconds:.0f} | {report['psnr_noisy_centre_crop']:.2f} → {report['psnr_denoised_centre_crop']:.2f} |",
        *(["", args.note] if args.note else []),
    ]
    (RESULTS / "large_image_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    for name in ("noisy.png", "denoised.png"):
        (work / name).unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
