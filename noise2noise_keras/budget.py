"""Training for a time budget (``--minutes``): the same wall time on any CPU, however fast.

A step of the U-Net costs 0.14 s on a 2-core bf16 Xeon and several seconds on
a 2-core AVX2 laptop in float32, so a fixed step count is minutes on one and
most of an hour on the other. With a budget, the number of epochs is chosen
before training from a timing of this machine: a throwaway copy of the model
takes a few real steps on real batches, and validation and the checkpoint
writes of an epoch end are timed once. The
learning-rate ramp-down (and the L0 annealing) then run over exactly that
many steps, as for any other run. The resolved epoch count is stored in the
run's ``config.json`` and the timing in ``environment.json``, so a resumed
run trains the same steps on whatever machine it resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from noise2noise_keras.config import TrainConfig
from noise2noise_keras.neighbor import denoising_network
from noise2noise_keras.objective import build_training_model

log = logging.getLogger(__name__)

WARMUP_STEPS = 2  # tracing and the first, slower steps
TIMED_STEPS = 4
CHECKPOINTS_PER_EPOCH = ("last", "best", "state")  # what an epoch end writes, each about one model with its optimizer


@dataclasses.dataclass(frozen=True)
class Timing:
    """What the budget is divided by, in seconds: a training step; what every epoch adds (validation and the
    checkpoint writes); what the first epoch adds (tracing the training graph); the setup spent measuring."""

    step_seconds: float
    epoch_overhead_seconds: float
    tracing_seconds: float
    setup_seconds: float

    def epochs(self, config: TrainConfig) -> int:
        """Whole epochs of ``config.steps_per_epoch`` steps, each followed by validation and checkpoints, that fit the budget left."""
        available = config.minutes * 60.0 - self.setup_seconds - self.tracing_seconds
        per_epoch = config.steps_per_epoch * self.step_seconds + self.epoch_overhead_seconds
        return max(1, int(available // per_epoch))


def time_this_machine(config: TrainConfig, channels: int, batches: Any, validate: Callable[[keras.Model], object]) -> Timing:
    """Time a throwaway model on this machine: training steps on ``batches`` (an iterator of training batches),
    one ``validate(model)`` pass and the checkpoint writes of an epoch."""
    started = time.perf_counter()
    model, _ = build_training_model(config, channels)

    def step(batch: Any) -> None:  # (input, target) crops, or single noisy crops for Neighbor2Neighbor
        if isinstance(batch, tuple):
            model.train_on_batch(*batch)
        else:
            model.train_on_batch(batch)

    timed = time.perf_counter()
    for _ in range(WARMUP_STEPS):
        step(next(batches))
    warmup = time.perf_counter() - timed
    timed = time.perf_counter()
    for _ in range(TIMED_STEPS):
        step(next(batches))
    step_seconds = (time.perf_counter() - timed) / TIMED_STEPS
    validate(model)  # the first pass traces the inference graph, as the run's first validation will
    timed = time.perf_counter()
    validate(model)
    with tempfile.TemporaryDirectory() as scratch:
        for name in CHECKPOINTS_PER_EPOCH:
            denoising_network(model).save(Path(scratch) / f"{name}.keras")
    overhead = time.perf_counter() - timed
    return Timing(step_seconds, overhead, max(0.0, warmup - WARMUP_STEPS * step_seconds), time.perf_counter() - started)


def budgeted(config: TrainConfig, timing: Timing) -> TrainConfig:
    """``config`` with the epochs that fit its ``minutes`` on this machine."""
    epochs = timing.epochs(config)
    log.info(
        "time budget %.3g min: %.3f s per step, %.1f s per epoch end -> %d epochs of %d steps (%d steps)",
        config.minutes,
        timing.step_seconds,
        timing.epoch_overhead_seconds,
        epochs,
        config.steps_per_epoch,
        epochs * config.steps_per_epoch,
    )
    return dataclasses.replace(config, epochs=epochs)


def same_run(stored: TrainConfig, requested: TrainConfig) -> bool:
    """Whether ``stored`` (from a run directory) is the run ``requested``: equal, or equal but for the epochs a budget chose."""
    return stored == requested or (requested.minutes > 0 and stored == dataclasses.replace(requested, epochs=stored.epochs))
