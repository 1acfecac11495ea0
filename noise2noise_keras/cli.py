"""The ``n2n`` command line: a thin argparse layer over functions you can call from Python.

``n2n train NOISE DATASET``, ``n2n evaluate RUN_DIR``, ``n2n denoise INPUT...``,
``n2n export RUN_DIR OUT``, ``n2n download NAME``, ``n2n simulate-pairs OUT``,
``n2n sweep NOISE DATASET [--grid KEY=V1,V2 ...]``.
This is the only module that reads the environment (``N2N_DOWNLOAD_BASE_URL``,
``N2N_DATA_ROOT``) and turns :class:`UserError` into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter hides real messages

from noise2noise_keras.errors import UserError  # noqa: E402

log = logging.getLogger("noise2noise_keras")


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from noise2noise_keras.config import PRECISIONS, PRESETS
    from noise2noise_keras.datasets.noisy import TARGETS
    from noise2noise_keras.distribution import STRATEGIES
    from noise2noise_keras.models import ARCHITECTURES

    parser.add_argument(
        "noise", nargs="?", help="noise spec: gaussian, poisson, bernoulli, text, impulse (e.g. gaussian,25 or gaussian,0,50), or pairs / single"
    )
    parser.add_argument("dataset", nargs="?", help="bsds300, kodak, sample (ships with the package), a folder of images, or with pairs a folder of captures")
    parser.add_argument("--pairs", metavar="PATH", help="train on your own captures (A/ + B/, or burst folders): the same as NOISE=pairs DATASET=PATH")
    parser.add_argument(
        "--single", metavar="PATH", help="train on a folder of single noisy images, one per scene (Neighbor2Neighbor): the same as NOISE=single DATASET=PATH"
    )
    parser.add_argument(
        "--normalize", choices=("percentile", "dtype"), help="own captures: map the 0.1-99.9 percentiles (default) or the sample type's range to [0, 1]"
    )
    parser.add_argument(
        "--alignment-check", action=argparse.BooleanOptionalAction, default=None, help="own captures: refuse pairs that look shifted (default on)"
    )
    parser.add_argument(
        "--target", choices=TARGETS, help="noisy: Noise2Noise (default); clean: Noise2Clean; single: Neighbor2Neighbor on one fixed noisy version of each image"
    )
    parser.add_argument("--loss", help="l2, l1, masked_l2 or l0 (default: the paper's loss for the noise)")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), help="unet (the paper's, default), hourglass (seed 000), unet_bn (seed 001), dsc (seed 003)")
    parser.add_argument(
        "--preset",
        default="paper",
        choices=sorted(PRESETS),
        help="paper (300k steps), quick (a few CPU minutes), cpu (the shipped models' 30k-step recipe), seed000 / seed001 (those reports' setups)",
    )
    parser.add_argument("--epochs", type=int, help="train this many epochs (replaces a preset's --minutes)")
    parser.add_argument(
        "--minutes", type=float, help="train for about this many minutes: epochs are set from a timing of this machine (quick preset: 5; 0 = off)"
    )
    parser.add_argument("--steps", dest="steps_per_epoch", type=int, help="steps per epoch")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--crop", type=int, help="training crop side (multiple of 32)")
    parser.add_argument("--learning-rate", "--lr", type=float)
    parser.add_argument("--rampdown-fraction", type=float, help="fraction of training with the cosine^2 learning-rate ramp-down")
    parser.add_argument(
        "--anneal-fraction",
        type=float,
        help="L0 loss (impulse): its exponent falls linearly from --anneal-start to 0 over this fraction of training (default 1, the paper's; 2 ends halfway)",
    )
    parser.add_argument(
        "--anneal-start",
        type=float,
        help="L0 loss (impulse): its exponent at the first step (default 2, the paper's L2; also what did best for a second stage after --init-from)",
    )
    parser.add_argument(
        "--clip-norm",
        type=float,
        help="clip the global gradient norm (0: off; the cpu preset: 1); guards against the rare huge losses of Poisson noise at tiny lambda",
    )
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None, help="random flips and 90-degree rotations")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from this model's weights (a shipped name, an exported folder or a run directory) with a fresh optimizer: a long recipe trained in stages",
    )
    parser.add_argument("--val-dataset", help="dataset whose test split validates (default: the training dataset)")
    parser.add_argument("--val-noise", help="validation noise spec (default: the paper's test noise)")
    parser.add_argument("--val-images", type=int, help="number of validation images")
    parser.add_argument("--precision", choices=PRECISIONS, help="auto: mixed_float16 on GPU, mixed_bfloat16 on bf16 CPUs, else float32")
    parser.add_argument("--data-root", default=os.environ.get("N2N_DATA_ROOT", "data"), help="where downloaded datasets live (env N2N_DATA_ROOT)")
    parser.add_argument("--run-dir", type=Path, help="output directory (default runs/<noise>-<dataset>-<target>); reuse it to resume")
    parser.add_argument(
        "--strategy", default="auto", choices=STRATEGIES, help="auto: several GPUs of this node if present; multiworker: one worker per srun task"
    )


def _train_options(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given on the command line (NOISE DATASET or --pairs, and every option)."""
    for source in ("pairs", "single"):
        path = getattr(args, source)
        if path is not None:
            if args.noise is not None or (source == "pairs" and args.single is not None):
                raise UserError(f"Pass one of --pairs PATH, --single PATH or NOISE DATASET, not several (got --{source} {path}).")
            args.noise, args.dataset = source, path
    if args.noise is None or args.dataset is None:
        what = {"train": "Training", "sweep": "A sweep"}[args.command]
        raise UserError(f"{what} needs NOISE and DATASET (e.g. n2n {args.command} gaussian bsds300), or --pairs PATH / --single PATH for your own captures.")
    return {k: v for k, v in vars(args).items() if k not in ("command", "handler", "run_dir", "preset", "strategy", "pairs", "single", "grid")}


def run_train(args: argparse.Namespace) -> int:
    from noise2noise_keras.config import make_config
    from noise2noise_keras.preemption import EXIT_CODE, TrainingPreempted
    from noise2noise_keras.training import default_run_dir, train

    config = make_config(args.preset, **_train_options(args))
    run_dir = args.run_dir or default_run_dir(config)
    log.info("training %s on %s (%s targets) in %s", config.noise, config.dataset, config.target, run_dir)
    try:
        summary = train(config, run_dir, verbose=1 if sys.stdout.isatty() else 2, strategy=args.strategy)
    except TrainingPreempted as stopped:
        print(f"{run_dir}: {stopped}", file=sys.stderr)
        return EXIT_CODE
    if "worker" in summary:
        return 0  # a non-chief worker: the chief reports
    psnr = next((key for key in ("val_psnr", "val_psnr_full") if f"final_{key}" in summary), None)
    if psnr:
        score = f"validation PSNR {summary[f'final_{psnr}']:.2f} dB (best {summary[f'best_{psnr}']:.2f}) vs noisy {summary[f'{psnr}_noisy']:.2f} dB at {summary['val_noise']}"
    else:
        loss, method = next(
            (key, method) for key, method in (("val_n2n_loss", "Noise2Noise"), ("val_nb2nb_loss", "Neighbor2Neighbor")) if f"final_{key}" in summary
        )
        score = f"held-out {method} loss {summary[f'final_{loss}']:.3g} (best {summary[f'best_{loss}']:.3g}) vs {summary[f'{loss}_noisy']:.3g} undenoised"
    print(f"{run_dir}: {score}, {summary['train_seconds_total']:.0f} s of training")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from noise2noise_keras.preemption import EXIT_CODE, TrainingPreempted
    from noise2noise_keras.sweep import SEED001_GRID, parse_grid, run_sweep

    options = _train_options(args)
    grid = parse_grid(args.grid) if args.grid else SEED001_GRID
    out_dir = args.run_dir or Path("runs") / f"sweep-{args.preset}-{options['noise'].split(',')[0]}-{Path(options['dataset']).name}"
    try:
        ranked = run_sweep(args.preset, options, grid, out_dir, args.strategy)
    except TrainingPreempted as stopped:
        print(f"{out_dir}: {stopped}; run the same command again to continue the sweep", file=sys.stderr)
        return EXIT_CODE
    best = ranked[0]
    print(
        f"{out_dir}: {len(ranked)} runs ranked in sweep.md; best {best['run_dir']}: {best['monitor']} {best['best']:.4g} (undenoised {best['undenoised']:.4g})"
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from noise2noise_keras.evaluation import evaluate_named

    summary, out_dir = evaluate_named(args.model, args.dataset, args.noise, args.checkpoint, args.max_images, args.data_root, args.out, args.save_noisy)
    print(
        f"{Path(summary['dataset']).name} {summary['noise']}: denoised {summary['psnr_denoised_mean']:.2f} dB (SSIM {summary['ssim_denoised_mean']:.3f}) "
        f"vs noisy {summary['psnr_noisy_mean']:.2f} dB (SSIM {summary['ssim_noisy_mean']:.3f}) over {summary['images']} images -> {out_dir}"
    )
    return 0


def run_download(args: argparse.Namespace) -> int:
    from noise2noise_keras.datasets.download import download

    folder = download(args.name, args.root, args.base_url)
    print(f"{args.name}: verified in {folder}")
    return 0


def run_denoise(args: argparse.Namespace) -> int:
    from noise2noise_keras.denoise_files import denoise_files

    report = denoise_files(args.inputs, args.output, args.model, args.tile, args.tta, args.overwrite, args.precision)
    if not report.failed:
        print(f"denoised {len(report.written)} image(s) with model {args.model}")
        return 0
    if not report.written and len(report.failed) == 1:
        raise UserError(report.failed[0][1])
    for _, reason in report.failed:
        print(f"failed: {reason}", file=sys.stderr)
    total = len(report.written) + len(report.failed)
    raise UserError(f"{len(report.failed)} of {total} image(s) failed (listed above) and were not written; the other {len(report.written)} were.")


def run_export(args: argparse.Namespace) -> int:
    from noise2noise_keras.artifacts import export_model

    folder = export_model(args.run_dir, args.out, args.checkpoint, args.overwrite, tuple(args.format or ()))
    print(f"exported {args.run_dir} ({args.checkpoint}) to {folder}")
    return 0


def run_simulate_pairs(args: argparse.Namespace) -> int:
    from noise2noise_keras.datasets.simulate import simulate_pairs

    scenes = simulate_pairs(args.out, args.tile, args.peak, args.seed, f".{args.format}")
    print(f"{args.out}: {scenes} scenes, two noisy 16-bit captures each in A/ and B/, expected counts in clean/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from noise2noise_keras.datasets.download import DOWNLOADABLE

    parser = argparse.ArgumentParser(prog="n2n", description="Noise2Noise denoisers in Keras 3: train, evaluate, download.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a denoiser (resumes an existing run directory)")
    _add_train_arguments(train)
    train.set_defaults(handler=run_train)

    sweep = commands.add_parser("sweep", help="train every combination of a hyper-parameter grid and rank them (default: seed 001's grid)")
    _add_train_arguments(sweep)
    sweep.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2",
        help="a training option and its values; repeat for more (default: batch_size=32,64,128 loss=l2,l1 learning_rate=1e-4,1e-3,2e-3)",
    )
    sweep.set_defaults(handler=run_sweep)

    evaluate = commands.add_parser("evaluate", help="score a trained model on whole images against clean ones")
    evaluate.add_argument("model", help="run directory, pretrained name, folder from n2n export or .keras file")
    evaluate.add_argument("--dataset", help="kodak, bsds300 (its test split), sample or a folder (default: the run's validation set)")
    evaluate.add_argument("--noise", help="test noise spec (default: the paper's test noise for the run)")
    evaluate.add_argument("--checkpoint", default="best", choices=("best", "last"), help="for a run directory")
    evaluate.add_argument("--max-images", type=int)
    evaluate.add_argument("--data-root", default=os.environ.get("N2N_DATA_ROOT", "data"))
    evaluate.add_argument("--out", type=Path, help="report folder (default RUN_DIR/eval/<dataset>-<noise>, or ./eval/<model>/... for other models)")
    evaluate.add_argument("--save-noisy", type=Path, help="also write the exact noisy inputs as float32 TIFFs into this folder (to score other tools on them)")
    evaluate.set_defaults(handler=run_evaluate)

    denoise = commands.add_parser("denoise", help="denoise image files or folders with a trained model")
    denoise.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    denoise.add_argument("-o", "--output", help="output file (one input) or existing folder (default: <name>_denoised.<ext> beside each input)")
    denoise.add_argument("--model", default="gaussian", help="pretrained name, folder from n2n export, run directory or .keras file")
    denoise.add_argument("--tile", type=int, help="tile side in pixels, a multiple of 32 (default: 512 above 4 Mpx, else whole image; 0 = never tile)")
    denoise.add_argument("--tta", action="store_true", help="average the 8 flips/rotations (8x slower)")
    denoise.add_argument("--overwrite", action="store_true", help="allow writing over an input file")
    denoise.add_argument(
        "--precision", default="auto", choices=("auto", "float32", "mixed_bfloat16"),
        help="auto: bf16 on CPUs with native bf16 (faster, within 0.02 dB of float32 for the shipped models: docs/performance.md), else float32",
    )  # fmt: skip
    denoise.set_defaults(handler=run_denoise)

    export = commands.add_parser("export", help="write a run's model as a shareable folder (model.keras + denoiser.json)")
    export.add_argument("run_dir", type=Path)
    export.add_argument("out", type=Path)
    export.add_argument("--checkpoint", default="best", choices=("best", "last"))
    export.add_argument("--overwrite", action="store_true", help="replace a model already in OUT")
    export.add_argument(
        "--format", action="append", choices=("savedmodel", "onnx", "bioimageio"),
        help="also write a TensorFlow SavedModel (OUT/savedmodel), ONNX (OUT/model.onnx) or a bioimage.io package (OUT/bioimageio); repeatable",
    )  # fmt: skip
    export.set_defaults(handler=run_export)

    download = commands.add_parser("download", help="download and verify Kodak or BSDS300")
    download.add_argument("name", choices=DOWNLOADABLE)
    download.add_argument("--root", default=os.environ.get("N2N_DATA_ROOT", "data"), help="data root (default data/)")
    download.add_argument("--base-url", default=os.environ.get("N2N_DOWNLOAD_BASE_URL"), help="mirror base URL (env N2N_DOWNLOAD_BASE_URL)")
    download.set_defaults(handler=run_download)

    simulate = commands.add_parser("simulate-pairs", help="write a microscopy-like set of noisy 16-bit grayscale capture pairs (offline example)")
    simulate.add_argument("out", type=Path, help="new folder: receives A/, B/ and clean/")
    simulate.add_argument("--tile", type=int, default=128, help="scene side in pixels")
    simulate.add_argument("--peak", type=float, default=40.0, help="photons at white: lower is noisier")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--format", choices=("tif", "png"), default="tif")
    simulate.set_defaults(handler=run_simulate_pairs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``n2n`` command; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the last net for reads and writes outside the paths that say more
        print(
            f"error: {error.filename or 'a file'}: {error.strerror or error}; check the path, its permissions and the free space, then run the command again.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume.", file=sys.stderr)
        return 130
