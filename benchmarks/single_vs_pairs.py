"""Single noisy images (Neighbor2Neighbor) vs noisy pairs (Noise2Noise) vs clean targets (Noise2Clean), at equal CPU time.

    python benchmarks/single_vs_pairs.py --data-root DIR [--minutes 6] [--work /var/tmp/n2n-single-vs-pairs]
        [--settings gaussian,poisson,microscopy] [--methods n2c,n2n,nb2nb,nb2nb-small] [--record single_vs_pairs]

Three settings, each trained three ways through the real command line with
the same ``--minutes`` budget (``--preset quick``: epochs are set from a timing
of each method's own step, so a costlier step gets fewer steps):

- Gaussian σ=25 and Poisson λ=30: BSDS300 train with clean targets
  (Noise2Clean), with independent noisy targets re-drawn every step
  (Noise2Noise), and with ``--target single``: one fixed noisy version of each
  image, never re-drawn (Neighbor2Neighbor). Scored on Kodak with the fixed
  test noise (the paper's uint8 PSNR, mean over the 24 images).
- Simulated 16-bit microscopy (``n2n simulate-pairs``): ``--pairs --target
  clean``, ``--pairs``, and ``--single`` on the A captures alone; scored on the
  held-out scenes' capture A against their clean images, at full precision
  with the Noise2Noise run's normalisation range as peak.

A Neighbor2Neighbor step costs about twice a Noise2Noise step at the same
``--crop`` (a no-gradient pass over the full-resolution crop, twice the side,
comes on top of the training pass over the half-size views), so it gets
about half the steps; the "small crops" row trains it at ``--crop 64``
(128² crops, views of 64²: a step about as costly as Noise2Noise's 96²) on the
photos and ``--crop 32`` on the microscopy tiles.

Every model is its final checkpoint (choosing by clean PSNR would peek at
clean data). Beside them: the noisy input and scikit-image's non-local means,
its strength tuned on training images. The work folder keeps every run, so
rerunning the command resumes (a different ``--minutes`` needs its own
``--work``). ``--settings``/``--methods`` run a subset (Noise2Noise, the
reference of every gap, always runs), e.g. a longer budget for the settings
where the gap matters. Writes benchmarks/results/RECORD.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from n2n_command import n2n

from noise2noise_keras.artifacts import load_denoiser  # noqa: E402
from noise2noise_keras.baselines import run_baseline, tune  # noqa: E402
from noise2noise_keras.datasets.images import read_images  # noqa: E402
from noise2noise_keras.datasets.noisy import fixed_noise  # noqa: E402
from noise2noise_keras.datasets.pairs import load_scenes  # noqa: E402
from noise2noise_keras.datasets.registry import dataset_files  # noqa: E402
from noise2noise_keras.environment import collect_environment  # noqa: E402
from noise2noise_keras.evaluation import TEST_SEED, evaluate_named  # noqa: E402
from noise2noise_keras.image_io import read_image  # noqa: E402
from noise2noise_keras.metrics import psnr, psnr_units  # noqa: E402
from noise2noise_keras.noise import parse_noise  # noqa: E402
from noise2noise_keras.normalization import Normalization  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SMALL = "Neighbor2Neighbor, small crops"  # crops whose step costs about what a Noise2Noise step does (see the docstring)
METHODS = {"n2c": "Noise2Clean", "n2n": "Noise2Noise", "nb2nb": "Neighbor2Neighbor", "nb2nb-small": SMALL}
NEIGHBOR_METHODS = ("Neighbor2Neighbor", SMALL)
SMALL_CROP = {"synthetic": "64", "microscopy": "32"}
SYNTHETIC = {"gaussian": ("Gaussian σ=25", "gaussian,25"), "poisson": ("Poisson λ=30", "poisson,30")}
MICROSCOPY = "microscopy (16-bit, simulated)"
COLOURS = {"noisy input": "lightgray", "non-local means (tuned)": "dimgray", "Noise2Clean": "C1", "Noise2Noise": "C2", "Neighbor2Neighbor": "C3", SMALL: "C4"}
GOAL_DB = 0.5
BASELINE = "nl_means"


def slug(method: str) -> str:
    return method.replace(", ", "-").replace(" ", "-")


def train(run: Path, source: list[str], minutes: float, extra: list[str]) -> float:
    """Train (or resume) one run through the CLI; returns the wall seconds of this call."""
    started = time.perf_counter()
    command = [
        "train",
        *source,
        "--preset",
        "quick",
        "--minutes",
        str(minutes),
        "--seed",
        "0",
        "--run-dir",
        str(run),
        *extra,
    ]
    print(" ".join(command), flush=True)
    n2n(*command)
    return time.perf_counter() - started


def steps_of(run: Path) -> int:
    config = json.loads((run / "config.json").read_text())
    return int(config["epochs"]) * int(config["steps_per_epoch"])


def synthetic_setting(spec: str, args: argparse.Namespace) -> dict:
    noise = parse_noise(spec)
    runs = {method: args.work / f"{spec.split(',')[0]}-{slug(method)}" for method in args.methods}
    targets = {"Noise2Clean": "clean", "Noise2Noise": "noisy", "Neighbor2Neighbor": "single", SMALL: "single"}
    extra = {SMALL: ["--crop", SMALL_CROP["synthetic"]]}
    wall = {
        method: train(
            run, [spec, "bsds300"], args.minutes, ["--target", targets[method], "--data-root", args.data_root, "--val-images", "2", *extra.get(method, [])]
        )
        for method, run in runs.items()
    }
    scores = {}
    for method, run in runs.items():
        summary, _ = evaluate_named(run, "kodak", spec, "last", None, args.data_root, args.work / "eval" / run.name)
        scores[method] = summary["psnr_denoised_mean"]
        scores["noisy input"] = summary["psnr_noisy_mean"]
    kodak = read_images(dataset_files("kodak", "test", args.data_root))
    noisy = fixed_noise([image for _, image in kodak], noise, TEST_SEED)
    train_crops = [image[:128, :128] for _, image in read_images(dataset_files("bsds300", "train", args.data_root))[:4]]
    strength, _ = tune(BASELINE, train_crops, fixed_noise(train_crops, noise, 1))
    scores[f"non-local means (h = {strength:g} σ)"] = float(np.mean([psnr(clean, run_baseline(BASELINE, x, strength)) for (_, clean), x in zip(kodak, noisy)]))
    return {"scores_db": scores, "steps": {m: steps_of(r) for m, r in runs.items()}, "train_wall_seconds": wall, "test": "Kodak (24), uint8 PSNR"}


def microscopy_setting(args: argparse.Namespace) -> dict:
    data = args.work / "micro"
    if not (data / "clean").is_dir():
        n2n("simulate-pairs", data)
    common = ["--crop", "64", "--val-images", "12"]
    sources = {
        "Noise2Clean": ["--pairs", str(data), "--target", "clean"],
        "Noise2Noise": ["--pairs", str(data)],
        "Neighbor2Neighbor": ["--single", str(data / "A")],
        SMALL: ["--single", str(data / "A")],
    }
    runs = {method: args.work / f"micro-{slug(method)}" for method in args.methods}
    wall = {
        method: train(runs[method], sources[method], args.minutes, [*common, *(["--crop", SMALL_CROP["microscopy"]] if method == SMALL else [])])
        for method in args.methods
    }
    record = json.loads((runs["Noise2Noise"] / "data.json").read_text())
    for run in runs.values():
        assert record["val_scenes"] == json.loads((run / "data.json").read_text())["val_scenes"], f"{run.name}: different held-out scenes"
    scenes = {scene.name: scene for scene in load_scenes(data)}
    held_out = [scenes[name] for name in record["val_scenes"]]
    units = Normalization.fixed(record["normalization"])  # one scale for every method's output: counts -> N2N units
    scores = {}
    for method, run in runs.items():
        denoiser = load_denoiser(run, "float32", "last")
        outputs = [denoiser.denoise(read_image(data / "A" / f"{scene.name}.tif").pixels) for scene in held_out]
        scores[method] = float(np.mean([psnr_units(units.to_units(s.clean), units.to_units(o)) for s, o in zip(held_out, outputs)]))
    scores["noisy input"] = float(np.mean([psnr_units(units.to_units(s.clean), units.to_units(s.frames[0])) for s in held_out]))
    train_scenes = [scenes[name] for name in record["train_scenes"][:6]]
    tuned_cleans = [np.clip(np.rint(units.to_units(s.clean) * 255), 0, 255).astype(np.uint8) for s in train_scenes]
    strength, _ = tune(BASELINE, tuned_cleans, [units.to_units(s.frames[0]) for s in train_scenes])
    baseline = [run_baseline(BASELINE, units.to_units(s.frames[0]), strength) for s in held_out]
    scores[f"non-local means (h = {strength:g} σ)"] = float(np.mean([psnr_units(units.to_units(s.clean), b) for s, b in zip(held_out, baseline)]))
    test = f"{len(held_out)} held-out scenes (capture A), full-precision PSNR, peak = the Noise2Noise run's normalisation range"
    return {"scores_db": scores, "steps": {m: steps_of(r) for m, r in runs.items()}, "train_wall_seconds": wall, "test": test}


def figure(results: dict, methods: list[str], path: Path) -> None:
    settings = list(results)
    methods = ["noisy input", "non-local means (tuned)", *methods]

    def score(setting: str, method: str) -> float:
        scores = results[setting]["scores_db"]
        return scores[method] if method in scores else next(value for key, value in scores.items() if key.startswith("non-local"))

    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    width = 0.84 / len(methods)
    for index, method in enumerate(methods):
        bars = ax.bar(np.arange(len(settings)) + index * width, [score(s, method) for s in settings], width, label=method, color=COLOURS[method])
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(np.arange(len(settings)) + width * (len(methods) - 1) / 2, settings)
    ax.set_ylabel("PSNR (dB)")
    ax.set_ylim(min(score(s, "noisy input") for s in settings) - 2, None)
    fig.legend(fontsize=8, ncols=3, loc="outside lower center")
    ax.set_title("Equal CPU time: clean targets, noisy pairs, single noisy images")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def chosen(names: str, choices: dict) -> list:
    """The values of ``choices`` named in the comma-separated ``names``, in ``choices``' order."""
    picked = set(names.split(","))
    if unknown := picked - set(choices):
        raise SystemExit(f"unknown {', '.join(sorted(unknown))}: choose from {', '.join(choices)}")
    return [value for key, value in choices.items() if key in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget of every model")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/n2n-single-vs-pairs"), help="keeps every run: rerun to resume")
    parser.add_argument("--settings", default="gaussian,poisson,microscopy", help="comma-separated: gaussian, poisson, microscopy")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated: {', '.join(METHODS)} (n2n always runs)")
    parser.add_argument("--record", default="single_vs_pairs", help="name of the files written under benchmarks/results/")
    args = parser.parse_args()
    args.methods = chosen(args.methods + ",n2n", METHODS)
    settings = chosen(args.settings, {**{key: key for key in SYNTHETIC}, "microscopy": "microscopy"})
    args.work.mkdir(parents=True, exist_ok=True)
    results = {SYNTHETIC[key][0]: synthetic_setting(SYNTHETIC[key][1], args) for key in settings if key in SYNTHETIC}
    if "microscopy" in settings:
        results[MICROSCOPY] = microscopy_setting(args)
    neighbors = [m for m in NEIGHBOR_METHODS if m in args.methods]
    for result in results.values():
        result["gap_nb2nb_minus_n2n_db"] = {m: result["scores_db"][m] - result["scores_db"]["Noise2Noise"] for m in neighbors}
    environment = collect_environment()
    RESULTS.mkdir(exist_ok=True)
    record = {"minutes_per_model": args.minutes, "goal_gap_db": GOAL_DB, "methods": args.methods, "settings": results, "environment": environment}
    (RESULTS / f"{args.record}.json").write_text(json.dumps(record, indent=2) + "\n")
    figure(results, args.methods, RESULTS / f"{args.record}.png")
    columns = [f"{m} (− N2N)" if m in neighbors else m for m in args.methods]
    lines = [
        "# Single noisy images vs pairs vs clean targets, at equal CPU time",
        "",
        f"{environment['cpu']} ({environment['cpu_count']} cores), {time.strftime('%Y-%m-%d')}, commit {environment['git_commit'][:12]}. "
        f"Every model: `--preset quick --minutes {args.minutes:g}` (epochs set from a timing of its own step), seed 0, final checkpoint. "
        "Neighbor2Neighbor trains on one fixed noisy version of each training image (synthetic) or on the A captures alone (microscopy). "
        f"Goal: Neighbor2Neighbor within {GOAL_DB} dB of Noise2Noise (its paper: 0.33 dB on Kodak σ=25).",
        "",
        f"| setting | test | noisy input | classical | {' | '.join(columns)} | steps ({' / '.join(args.methods)}) |",
        "|---|---|---|---|" + "---|" * len(columns) + "---|",
    ]
    for name, result in results.items():
        scores = result["scores_db"]
        classical = next(key for key in scores if key.startswith("non-local"))
        cells = [f"{scores[m]:.2f} ({result['gap_nb2nb_minus_n2n_db'][m]:+.2f})" if m in neighbors else f"{scores[m]:.2f}" for m in args.methods]
        steps = " / ".join(str(result["steps"][m]) for m in args.methods)
        lines.append(f"| {name} | {result['test']} | {scores['noisy input']:.2f} | {scores[classical]:.2f} ({classical}) | {' | '.join(cells)} | {steps} |")
    (RESULTS / f"{args.record}.md").write_text("\n".join(lines) + "\n\n![single vs pairs](" + f"{args.record}.png)\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
