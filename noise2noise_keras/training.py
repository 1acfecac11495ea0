"""Training a denoiser: one call turns a :class:`TrainConfig` into a run directory.

Run directory layout::

    config.json        the resolved config (re-running with another config is refused)
    environment.json   packages, git commit, CPU/GPU, seed, precision; one entry per (re)start
    metrics.csv        one row per epoch: loss, val_psnr, val_ssim, learning_rate, seconds
    checkpoints/       last/ (every epoch), best/ (best validation score): denoiser folders
    state/             weights + optimizer + position, while training (see resume.py)
    logs/              TensorBoard event files
    samples/           epoch_NNN.png: noisy / denoised / clean validation crops
    summary.json       written when training completes; its presence means "done"

Re-running the same command on an existing directory resumes mid-run: the
state restores weights, optimizer state (hence the learning-rate schedule),
epoch and step (a run stopped by a signal mid-epoch finishes just that
epoch's remaining steps), and the data stream continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from noise2noise_keras.artifacts import CHECKPOINTS, find_denoiser, legacy_checkpoint
from noise2noise_keras.atomic import cannot_write, storage_error, write_json
from noise2noise_keras.budget import budgeted, same_run, time_this_machine
from noise2noise_keras.callbacks import AnnealGamma, DenoiserCheckpoint, EpochCSVLogger, PairValidation, SingleValidation, Validation, read_metrics
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.datasets.images import read_images
from noise2noise_keras.datasets.noisy import CropStream, NoisyDataset, fixed_noise
from noise2noise_keras.datasets.pairs import PairedDataset, fit_normalization, load_scenes, split_scenes
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.datasets.single import SINGLE, SingleDataset, fixed_noisy_set, load_singles
from noise2noise_keras.denoiser import DenoiserSpec, spec_for_training
from noise2noise_keras.distribution import any_worker_flag, describe_devices, fit_workers, make_strategy, worker_info
from noise2noise_keras.environment import collect_environment, cpu_model, git_commit
from noise2noise_keras.errors import UserError
from noise2noise_keras.evaluation import SSIM_WINDOW, TEST_SEED, scorable
from noise2noise_keras.losses import AnnealedL0Loss
from noise2noise_keras.normalization import Normalization
from noise2noise_keras.objective import build_training_model
from noise2noise_keras.precision import apply_precision, resolve_precision
from noise2noise_keras.preemption import StopRequest
from noise2noise_keras.resume import Position, TrainingState, clear_state, read_position, restore
from noise2noise_keras.warm_start import check_initial, start_from, weights_fingerprint

log = logging.getLogger(__name__)

# Our streams are shuffled by construction (stateless per-element seeds); Keras warns regardless.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


def default_run_dir(config: TrainConfig, root: str | Path = "runs") -> Path:
    """``runs/<noise>-<dataset>-<target>``, e.g. ``runs/gaussian-bsds300-noisy`` or ``runs/pairs-micro-noisy``."""
    noise = config.noise if config.data_source != "synthetic" else config.noise_model.name
    dataset = Path(config.dataset).name or "data"
    return Path(root) / f"{noise}-{dataset}-{config.target}"


def prepare_run_dir(config: TrainConfig, run_dir: Path) -> bool:
    """Create ``run_dir`` or check that it holds the same config; return True when resuming."""
    config_path = run_dir / "config.json"
    if config_path.is_file():
        stored = TrainConfig.load(config_path).to_dict()  # options added since the run started take their defaults
        changed = {k: (stored.get(k), v) for k, v in config.to_dict().items() if stored.get(k) != v}
        if changed:
            listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
            raise UserError(f"Run directory {run_dir} holds a run with a different config ({listed}): pass the same options to resume it, or a new --run-dir.")
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    config.save(config_path)
    return False


def record_environment(run_dir: Path, **extra: Any) -> None:
    """Append this start's environment to environment.json (first start + every resume)."""
    path = run_dir / "environment.json"
    starts = json.loads(path.read_text())["starts"] if path.is_file() else []
    starts.append(collect_environment(**extra))
    write_json(path, {"starts": starts})


def train(config: TrainConfig, run_dir: str | Path, verbose: int | str = "auto", strategy: str = "auto", stop: StopRequest | None = None) -> dict[str, Any]:
    """Train (or resume) the run in ``run_dir``; return its summary (also in summary.json).

    ``strategy`` picks the ``tf.distribute`` strategy (see
    :mod:`noise2noise_keras.distribution`); only the chief worker writes files.
    Raises :class:`TrainingPreempted` after saving the state when ``stop`` is
    requested (SIGUSR1/SIGTERM/SIGINT by default), and :class:`UserError` when
    the run directory cannot be written (full disk, read-only): every file in
    it is written atomically, so the rerun resumes from the last good state.
    """
    try:
        return _train(config, Path(run_dir), verbose, strategy, stop)
    except OSError as error:
        raise cannot_write(error, run_dir, "run the same command again to resume") from None
    except tf.errors.OpError as error:  # TensorFlow's own file writers (TensorBoard events) report this way
        storage = storage_error(error.message)
        if storage is None:
            raise
        raise cannot_write(storage, run_dir, "run the same command again to resume") from None


def _train(config: TrainConfig, run_dir: Path, verbose: int | str, strategy: str, stop: StopRequest | None) -> dict[str, Any]:
    distribution = make_strategy(strategy)
    worker, _ = worker_info(distribution)
    chief = worker == 0
    summary_path = run_dir / "summary.json"
    stored = TrainConfig.load(run_dir / "config.json") if (run_dir / "config.json").is_file() else None
    if stored is not None and same_run(stored, config):
        config = stored  # a run with a time budget resumes with the epochs it chose
    if summary_path.is_file() and stored == config:
        log.info("%s is already complete; nothing to do", run_dir)
        return json.loads(summary_path.read_text())
    replicas = distribution.num_replicas_in_sync
    if config.minutes and replicas > 1:
        raise UserError(f"--minutes times one device; with {replicas} replicas pass --epochs instead.")
    if config.batch_size % replicas:
        raise UserError(f"--batch-size {config.batch_size} is the global batch and must be divisible by the {replicas} replicas.")
    data, validation, monitor, spec = load_training_data(config, run_dir)  # every data problem surfaces before anything is written
    starting = read_position(run_dir) == Position()
    initial = find_denoiser(config.init_from) if config.init_from and starting else None  # a missing or unfit model too
    if initial:
        check_initial(initial, config, data.channels)
    precision = resolve_precision(config.precision)
    apply_precision(precision)
    timing = None
    if config.minutes and stored is None:  # a new run with a time budget: as many epochs as this machine fits
        timing = time_this_machine(config, data.channels, iter(data.stream(config.batch_size)), validation.score)
        config = budgeted(config, timing)
    resuming = prepare_run_dir(config, run_dir) if chief else (run_dir / "config.json").is_file()
    spec = spec.with_record(train_config=config.to_dict())  # a time budget has set the epochs since the data was read
    if chief and config.data_source != "synthetic":
        write_json(run_dir / "data.json", {"normalization": spec.normalization, "channels": spec.channels, **spec.record["scenes"]})
    if chief and resuming:
        migrate_checkpoints(run_dir)

    keras.utils.set_random_seed(config.seed)
    devices = describe_devices(distribution)
    log.info("training on %s, precision %s", devices, precision)
    if not tf.config.list_physical_devices("GPU"):
        log.warning("warning: no GPU found, training on the CPU (%s); on a cluster request one with --gres=gpu:1 and install tensorflow[and-cuda]", cpu_model())
    if chief:
        budget = {"budget_timing": dataclasses.asdict(timing)} if timing else {}
        record_environment(run_dir, seed=config.seed, precision=precision, resumed=resuming, strategy=strategy, devices=devices, **budget)

    with distribution.scope():
        model, loss = build_training_model(config, data.channels)

    stop = stop or StopRequest()
    stop.install()
    state = TrainingState(run_dir, stop, any_worker_flag(distribution), write=chief)
    callbacks = [
        *([AnnealGamma(loss.gamma, config.anneal_steps, config.anneal_start)] if isinstance(loss, AnnealedL0Loss) else []),
        keras.callbacks.TerminateOnNaN(),
    ]
    if chief:
        callbacks += chief_callbacks(run_dir, validation, monitor, spec, state.epoch_seconds)
    callbacks.append(state)  # last: an epoch counts as done once its validation, metrics and checkpoints are written

    def stream_from(step: int) -> tf.data.Dataset:
        return data.stream(config.batch_size, start_element=step * config.batch_size)

    with distribution.scope():
        position = restore(model, run_dir, config.steps_per_epoch)
    epoch, step = position.epoch, position.step
    if initial:
        start_from(getattr(model, "network", model), initial, config, run_dir, write=chief)
        log.info("starting from the weights of %s", config.init_from)
    if epoch or step:
        log.info("resuming %s at epoch %d of %d, step %d", run_dir, epoch + 1, config.epochs, step)
    started = time.perf_counter()
    # Keras' fit on one worker; our loop of public APIs on several, where Keras' fit does not run (see fit_workers).
    fit = model.fit if worker_info(distribution)[1] == 1 else functools.partial(fit_workers, model, distribution)
    if step:  # stopped inside an epoch: finish only its remaining steps
        state.continue_epoch(position)
        steps_left = config.steps_per_epoch - step
        fit(
            stream_from(epoch * config.steps_per_epoch + step),
            initial_epoch=epoch,
            epochs=epoch + 1,
            steps_per_epoch=steps_left,
            callbacks=callbacks,
            verbose=verbose,
        )
        epoch += 1
    if epoch < config.epochs:
        history = fit(
            stream_from(epoch * config.steps_per_epoch),
            initial_epoch=epoch,
            epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
        if model.stop_training and any(not _finite(v) for v in history.history.get("loss", [])):
            raise UserError(f"Training of {run_dir} diverged (loss became NaN): lower --learning-rate and start a new --run-dir.")
    log.info("worker %d: final weights sha256 %s", worker, weights_fingerprint(model))
    if not chief:
        return {"worker": worker}

    summary = write_summary(run_dir, config, precision, devices, time.perf_counter() - started, monitor)
    clear_state(run_dir)  # only once the summary marks the run complete
    return summary


def load_training_data(config: TrainConfig, run_dir: Path) -> tuple[CropStream, keras.callbacks.Callback, str, DenoiserSpec]:
    """The training stream, the validation callback, the metric that picks the best checkpoint, and the checkpoints' spec.

    Synthetic noise on clean photos is validated by PSNR against the clean
    images. The user's own captures (noise ``pairs``) are validated on
    held-out scenes: by PSNR when every one has a clean image, else by the
    Noise2Noise loss between the denoised capture A and capture B. Single
    noisy images (``single``) likewise: by PSNR with clean images, else by
    the Neighbor2Neighbor loss on the held-out images.
    """
    if config.data_source == SINGLE:
        scenes = load_singles(config.dataset, config.crop)
        train_scenes, val_scenes = split_scenes(scenes, config.val_images)
        normalization = fit_normalization(train_scenes, config.normalize)
        data = SingleDataset([scene.frames[0] for scene in train_scenes], Normalization.fixed(normalization), config.crop, config.augment, config.seed)
        record = {"normalization": normalization, "train_scenes": [scene.name for scene in train_scenes], "val_scenes": [scene.name for scene in val_scenes]}
        spec = spec_for_training(config, data.channels, record, git_commit())
        validation = SingleValidation(val_scenes, run_dir / "samples", spec)
        log.info("%d training images, %d held out for validation (%s)", len(train_scenes), len(val_scenes), ", ".join(record["val_scenes"]))
        return data, validation, "val_psnr_full" if validation.has_clean else "val_nb2nb_loss", spec
    if config.data_source == "pairs":
        scenes = load_scenes(config.dataset, config.alignment_check)
        train_scenes, val_scenes = split_scenes(scenes, config.val_images)
        normalization = fit_normalization(train_scenes, config.normalize)
        data = PairedDataset(train_scenes, normalization, config.target, config.crop, config.augment, config.seed)
        record = {"normalization": normalization, "train_scenes": [scene.name for scene in train_scenes], "val_scenes": [scene.name for scene in val_scenes]}
        spec = spec_for_training(config, data.channels, record, git_commit())
        validation = PairValidation(val_scenes, run_dir / "samples", spec)
        log.info("%d training scenes, %d held out for validation (%s)", len(train_scenes), len(val_scenes), ", ".join(record["val_scenes"]))
        return data, validation, "val_psnr_full" if validation.has_clean else "val_n2n_loss", spec
    train = read_images(dataset_files(config.dataset, "train", config.data_root))
    train_names, train_images = [name for name, _ in train], [image for _, image in train]
    val_images = scorable(read_images(dataset_files(config.val_dataset, "test", config.data_root)))[: config.val_images]
    if not val_images:
        raise UserError(
            f"No readable validation image of at least {SSIM_WINDOW} px on a side in '{config.val_dataset}': pass --val-dataset with a folder of images."
        )
    if config.target == SINGLE:  # Neighbor2Neighbor on one fixed noisy version of each training image
        small = [name for name, image in zip(train_names, train_images) if min(image.shape[:2]) < 2 * config.crop]
        if small:
            raise UserError(
                f"{len(small)} training image(s) of '{config.dataset}' are smaller than twice the crop ({2 * config.crop} px a side, e.g. {small[0]}): pass a smaller --crop."
            )
        noisy = fixed_noisy_set(train_images, config.noise_model, config.seed)
        data = SingleDataset(noisy, Normalization(0.0, 1.0), config.crop, config.augment, config.seed)
    else:
        data = NoisyDataset(train_images, config.noise_model, config.target, config.crop, config.augment, config.seed, target_mask=config.loss == "masked_l2")
    val_noisy = fixed_noise([image for _, image in val_images], config.val_noise_model, TEST_SEED)
    spec = spec_for_training(config, data.channels, None, git_commit())
    return data, Validation(val_images, val_noisy, run_dir / "samples", spec), "val_psnr", spec


def chief_callbacks(
    run_dir: Path, validation: keras.callbacks.Callback, monitor: str, spec: DenoiserSpec, epoch_seconds: Callable[[], float]
) -> list[keras.callbacks.Callback]:
    """The callbacks that write the run directory (the chief worker's alone); ``epoch_seconds`` is the training state's clock."""
    mode = "max" if higher_is_better(monitor) else "min"
    earlier = [float(row[monitor]) for row in read_metrics(run_dir / "metrics.csv") if row.get(monitor)]
    best_so_far = (min if mode == "min" else max)(earlier, default=None)
    return [
        validation,
        EpochCSVLogger(run_dir / "metrics.csv", epoch_seconds),
        DenoiserCheckpoint(run_dir / "checkpoints" / "last", spec),
        DenoiserCheckpoint(run_dir / "checkpoints" / "best", spec, monitor=monitor, mode=mode, best=best_so_far),
        keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False),
    ]


def migrate_checkpoints(run_dir: Path) -> None:
    """Turn an earlier version's ``checkpoints/{best,last}.keras`` into denoiser folders with the run's spec (resumed runs)."""
    for name in CHECKPOINTS:
        legacy = run_dir / "checkpoints" / f"{name}.keras"
        if legacy.is_file():
            legacy_checkpoint(run_dir, legacy).save(run_dir / "checkpoints" / name)
            legacy.unlink()


def write_summary(run_dir: Path, config: TrainConfig, precision: str, devices: str, seconds_this_start: float, monitor: str = "val_psnr") -> dict[str, Any]:
    """summary.json from metrics.csv; its presence marks the run complete."""
    metrics = read_metrics(run_dir / "metrics.csv")
    last = metrics[-1]
    summary = {"epochs": len(metrics), "steps": config.total_steps, "precision": precision, "devices": devices, "monitor": monitor}
    for metric, best in (("val_psnr", max), ("val_psnr_full", max), ("val_n2n_loss", min), ("val_nb2nb_loss", min)):
        if last.get(metric):
            summary[f"final_{metric}"] = float(last[metric])
            summary[f"best_{metric}"] = best(float(row[metric]) for row in metrics)
            summary[f"{metric}_noisy"] = float(last[f"{metric}_noisy"])
    summary["val_noise"] = config.val_noise
    summary["train_seconds_this_start"] = seconds_this_start
    summary["train_seconds_total"] = sum(float(row["epoch_seconds"]) for row in metrics)
    write_json(run_dir / "summary.json", summary)
    return summary


def higher_is_better(monitor: str) -> bool:
    """PSNRs rank up, losses down."""
    return not monitor.endswith("loss")


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
