"""Callbacks for what Keras' own ones do not do (each says why it exists)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from noise2noise_keras.atomic import atomic_path
from noise2noise_keras.denoiser import Denoiser, DenoiserSpec
from noise2noise_keras.evaluation import score_images
from noise2noise_keras.metrics import psnr_units
from noise2noise_keras.neighbor import GAMMA, denoising_network, neighbor_loss
from noise2noise_keras.normalization import Normalization
from noise2noise_keras.plots import save_comparison_grid

SAMPLE_CROP = 256  # side of the region shown in per-epoch sample grids


class AnnealGamma(keras.callbacks.Callback):
    """Anneal the L0 loss exponent linearly from ``start`` to 0 over ``steps`` (the paper's schedule: 2, all of training).

    Keyed on ``optimizer.iterations`` rather than a counter of its own, so a
    resumed run continues the schedule where it stopped.
    """

    def __init__(self, gamma: keras.Variable, steps: int, start: float = 2.0) -> None:
        super().__init__()
        self.gamma, self.steps, self.start = gamma, steps, start

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.gamma.assign(self.start * max(0.0, 1.0 - step / self.steps))


class Validation(keras.callbacks.Callback):
    """PSNR/SSIM against **clean** images after each epoch, and a sample grid PNG.

    Noise2Noise training never sees a clean image, but judging it needs them:
    the noise is fixed once (same seed every epoch), the scores go into the
    epoch logs as ``val_psnr``/``val_ssim`` (the paper's convention: 8-bit, see metrics.py) (so CSV logging, TensorBoard and
    best-checkpoint selection see them), and ``samples/epoch_NNN.png`` shows
    noisy / denoised / clean crops.
    """

    def __init__(self, images: list[tuple[str, np.ndarray]], noisy_images: list[np.ndarray], samples_dir: Path, spec: DenoiserSpec) -> None:
        super().__init__()
        self.images, self.noisy_images, self.samples_dir, self.spec = images, noisy_images, Path(samples_dir), spec

    def score(self, model: keras.Model) -> tuple[list, list]:
        """Per-image rows and examples for ``model``: the work of one validation, also timed by ``--minutes``."""
        return score_images(local_denoiser(model, self.spec), self.images, self.noisy_images, progress=False)

    def on_epoch_end(self, epoch, logs=None):
        rows, examples = self.score(self.model)
        if logs is not None:
            logs["val_psnr"] = float(np.mean([row["psnr_denoised"] for row in rows]))
            logs["val_ssim"] = float(np.mean([row["ssim_denoised"] for row in rows]))
            logs["val_psnr_noisy"] = float(np.mean([row["psnr_noisy"] for row in rows]))
        crops = [(name, *(_center_crop(image, SAMPLE_CROP) for image in images)) for name, *images in examples[:2]]
        save_comparison_grid(self.samples_dir / f"epoch_{epoch + 1:03d}.png", crops, f"epoch {epoch + 1}")


class HeldOutValidation(keras.callbacks.Callback):
    """Validation on held-out scenes of the user's own captures, clean images or not.

    The common part of :class:`PairValidation` and :class:`SingleValidation`:
    each held-out capture A is denoised in model units, unrounded. When every
    held-out scene has a clean image, ``val_psnr_full``/``val_psnr_full_noisy``
    are reported too (full precision, peak 1 model unit; not the paper's 8-bit
    ``val_psnr`` of synthetic-noise runs) and pick the best checkpoint;
    otherwise a subclass's self-supervised loss does. ``samples/epoch_NNN.png``
    shows two held-out crops beside their clean image or the subclass's stand-in.
    """

    def __init__(self, scenes: list, samples_dir: Path, spec: DenoiserSpec) -> None:
        super().__init__()
        self.names = [scene.name for scene in scenes]
        self.recorded = Normalization.fixed(spec.normalization)
        self.inputs = [self.recorded.to_units(scene.frames[0]) for scene in scenes]
        self.has_clean = all(scene.clean is not None for scene in scenes)
        self.cleans = [self.recorded.to_units(scene.clean) for scene in scenes] if self.has_clean else None
        self.units = Normalization(0.0, 1.0, clip_unit_range=self.recorded.clip_unit_range)
        self.samples_dir, self.spec = Path(samples_dir), spec

    def score(self, model: keras.Model) -> list[np.ndarray]:
        """The held-out captures A denoised by ``model``: the work of one validation, also timed by ``--minutes``."""
        denoiser = local_denoiser(model, self.spec)
        return [denoiser.denoise(image, normalization=self.units) for image in self.inputs]

    def losses(self, denoised: list[np.ndarray]) -> dict[str, float]:
        """The self-supervised validation losses (denoised and undenoised) that rank checkpoints without clean images."""
        raise NotImplementedError

    def stand_in(self) -> tuple[list[np.ndarray], str]:
        """What the sample grid shows in place of clean images, and its label."""
        raise NotImplementedError

    def on_epoch_end(self, epoch, logs=None):
        denoised = self.score(self.model)
        logs = logs if logs is not None else {}
        logs.update(self.losses(denoised))
        if self.has_clean:
            logs["val_psnr_full"] = float(np.mean([psnr_units(c, d) for c, d in zip(self.cleans, denoised)]))
            logs["val_psnr_full_noisy"] = float(np.mean([psnr_units(c, x) for c, x in zip(self.cleans, self.inputs)]))
        references, label = (self.cleans, "clean") if self.has_clean else self.stand_in()
        crops = [(name, *(_center_crop(image, SAMPLE_CROP) for image in images)) for name, *images in zip(self.names, self.inputs, denoised, references)]
        save_comparison_grid(self.samples_dir / f"epoch_{epoch + 1:03d}.png", crops[:2], f"epoch {epoch + 1}", reference=label)


class PairValidation(HeldOutValidation):
    """Held-out validation of pairs training: ``val_n2n_loss``.

    ``val_n2n_loss`` is the mean squared difference between the denoised
    capture A and capture B (in model units). B's noise is independent of A,
    so this equals the error against the unknown clean image plus B's noise
    variance, a constant: it ranks checkpoints as the clean error would.
    ``val_n2n_loss_noisy`` is the same for the undenoised A.
    """

    def __init__(self, scenes: list, samples_dir: Path, spec: DenoiserSpec) -> None:
        super().__init__(scenes, samples_dir, spec)
        self.targets = [self.recorded.to_units(scene.frames[1]) for scene in scenes]

    def losses(self, denoised: list[np.ndarray]) -> dict[str, float]:
        return {
            "val_n2n_loss": float(np.mean([np.mean((d - t) ** 2) for d, t in zip(denoised, self.targets)])),
            "val_n2n_loss_noisy": float(np.mean([np.mean((x - t) ** 2) for x, t in zip(self.inputs, self.targets)])),
        }

    def stand_in(self) -> tuple[list[np.ndarray], str]:
        return self.targets, "capture B"


class SingleValidation(HeldOutValidation):
    """Held-out validation of single-image training: ``val_nb2nb_loss``.

    ``val_nb2nb_loss`` is the reconstruction term of the Neighbor2Neighbor
    loss on each held-out image (whole, in model units, one fixed
    sub-sampling): ``|f(g1(y)) - g2(y)|²``, which, like the Noise2Noise loss,
    is the error against the unknown clean view plus the noise variance, so it
    ranks checkpoints as the clean error would (up to the small signal
    difference between neighbouring pixels). ``val_nb2nb_loss_noisy`` is the
    same without denoising, ``|g1(y) - g2(y)|²``, about twice the noise
    variance. (The regulariser is left out: it is zero without denoising, so
    it would make that reference meaningless.)
    """

    SEED = (20210619, 0)  # the held-out images' fixed sub-sampling

    def __init__(self, scenes: list, samples_dir: Path, spec: DenoiserSpec) -> None:
        super().__init__(scenes, samples_dir, spec)
        cell = 2 * spec.geometry.size_multiple  # the loss runs the network on the whole image and on its half-size views
        self.loss_inputs = [_center_crop(image, min(image.shape[:2]) // cell * cell) for image in self.inputs]

    def losses(self, denoised: list[np.ndarray]) -> dict[str, float]:
        network = local_denoiser(self.model, self.spec).model
        seed = tf.constant(self.SEED, tf.int64)
        identity = lambda images, training: images  # noqa: E731  the undenoised reference: the two views' own difference
        values = {}
        for key, model in (("val_nb2nb_loss", network), ("val_nb2nb_loss_noisy", identity)):
            terms = [neighbor_loss(model, image[None], seed, GAMMA, training=False) for image in self.loss_inputs]
            values[key] = float(np.mean([float(term["reconstruction"]) for term in terms]))
        return values

    def stand_in(self) -> tuple[list[np.ndarray], str]:
        return self.inputs, "noisy"


def local_denoiser(model: keras.Model, spec: DenoiserSpec) -> Denoiser:
    """The network ``model`` trains, as a denoiser this worker can run alone.

    Under MultiWorkerMirroredStrategy, ``predict`` on the chief would start
    collective ops the other workers never join (they are training); a copy
    of the weights in a network outside the strategy runs locally.
    """
    denoiser = Denoiser(denoising_network(model), spec)
    if isinstance(getattr(model, "distribute_strategy", None), tf.distribute.MultiWorkerMirroredStrategy):
        return denoiser.rebuilt(denoiser.policy)
    return denoiser


def _center_crop(image: np.ndarray, size: int) -> np.ndarray:
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return image[top : top + size, left : left + size]


class EpochCSVLogger(keras.callbacks.Callback):
    """``metrics.csv``, one row per epoch, correct across resumes.

    Keras' ``CSVLogger`` appends blindly, so an epoch that is re-run after an
    interruption would appear twice. This logger rewrites the file atomically
    at every epoch end, keeping only the rows of earlier epochs. An epoch's
    seconds come from ``epoch_seconds`` (the training state's clock), which
    counts the part done before a stop too.
    """

    def __init__(self, path: Path, epoch_seconds: Callable[[], float]) -> None:
        super().__init__()
        self.path, self.epoch_seconds = Path(path), epoch_seconds

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["epoch_seconds"] = self.epoch_seconds()
        rows = [old for old in read_metrics(self.path) if int(old["epoch"]) < row["epoch"]] + [row]
        fields = list(dict.fromkeys(key for r in rows for key in r))
        with atomic_path(self.path) as temporary, open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def read_metrics(path: Path) -> list[dict[str, str]]:
    """Rows of a metrics.csv (empty if it does not exist)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def learning_curve(rows: list[dict[str, str]]) -> dict[str, list[float | None]]:
    """metrics.csv as columns, plus ``train_seconds``: the time at each epoch's end (validation included),
    so a shipped model carries the curve that shows where its training was heading."""
    columns = {key: [float(row[key]) if row.get(key) else None for row in rows] for key in (rows[0] if rows else {})}
    if "epoch_seconds" in columns:
        columns["train_seconds"] = list(itertools.accumulate(seconds or 0.0 for seconds in columns.pop("epoch_seconds")))
    return columns


class DenoiserCheckpoint(keras.callbacks.Callback):
    """Save the model as a denoiser folder (network + spec, swapped in whole) every epoch, or only on a new best.

    Keras' ``ModelCheckpoint`` writes a bare ``.keras`` file, which does not say
    how it normalises images; this writes the run's spec beside it, with the
    epoch and score it was saved at. ``best`` is the previous best of the run
    (from metrics.csv when resuming), so a resumed run keeps its best.
    """

    def __init__(self, folder: Path, spec: DenoiserSpec, monitor: str | None = None, mode: str = "max", best: float | None = None) -> None:
        super().__init__()
        self.folder, self.spec, self.monitor, self.mode, self.best = Path(folder), spec, monitor, mode, best

    def on_epoch_end(self, epoch, logs=None):
        value = None if self.monitor is None else (logs or {}).get(self.monitor)
        if self.monitor is not None:
            if value is None or not np.isfinite(value) or (self.best is not None and not self._improves(float(value))):
                return
            self.best = float(value)
        saved_at = {"checkpoint": self.folder.name, "epoch": epoch + 1, **({self.monitor: float(value)} if value is not None else {})}
        Denoiser(denoising_network(self.model), self.spec.with_record(saved_at=saved_at)).save(self.folder)

    def _improves(self, value: float) -> bool:
        return value > self.best if self.mode == "max" else value < self.best
