"""Resuming a run exactly where it stopped, with public Keras APIs only.

The run's state lives in ``RUN_DIR/state/``, staged and swapped in whole at
every epoch end and when a stop is requested mid-epoch::

    training.npz          Model.get_weights() and the optimizer's variables (moments,
                          iteration count, hence the learning-rate schedule)
    position.json         completed epochs, steps done in the current one (hence the
                          training stream's next element), and the seconds they took

:func:`restore` loads both before ``fit`` (``Model.set_weights`` and the
optimizer's ``Variable.assign`` after ``Optimizer.build``), and training passes the position to ``fit`` as
``initial_epoch`` and to the data stream as its start: no Keras internals, so
a Keras release cannot change what a resume does. Runs started by earlier
versions kept Keras' ``BackupAndRestore`` files in ``backup/``; they are read
once (``Model.load_weights``) and replaced by ``state/`` at the next save.

Why NumPy rather than ``Model.save_weights``: an HDF5 file whose writing
fails (a full disk) stays open inside HDF5, which retries at exit and crashes
the process; a NumPy archive fails as a plain ``OSError``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from noise2noise_keras.atomic import atomic_folder, discard, settled
from noise2noise_keras.errors import UserError
from noise2noise_keras.preemption import StopRequest, TrainingPreempted

STATE_DIR, WEIGHTS_FILE, POSITION_FILE = "state", "training.npz", "position.json"
LEGACY_BACKUP = "backup"  # Keras BackupAndRestore of earlier versions: latest.weights.h5 + training_metadata.json

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a run stands: ``epoch`` epochs complete, ``step`` steps done in the next one, which took ``seconds``."""

    epoch: int = 0
    step: int = 0
    seconds: float = 0.0

    def global_step(self, steps_per_epoch: int) -> int:
        return self.epoch * steps_per_epoch + self.step


def read_position(run_dir: Path) -> Position:
    """The saved position of the run in ``run_dir``; the start for a new run."""
    state = settled(run_dir / STATE_DIR)
    if (state / POSITION_FILE).is_file():
        saved = json.loads((state / POSITION_FILE).read_text())
        return Position(int(saved["epoch"]), int(saved["step"]), float(saved.get("seconds", 0.0)))  # earlier versions kept no seconds
    legacy = run_dir / LEGACY_BACKUP / "training_metadata.json"
    if legacy.is_file():
        saved = json.loads(legacy.read_text())
        return Position(int(saved["epoch"]), int(saved.get("batch", 0)))
    return Position()


def restore(model: keras.Model, run_dir: Path, steps_per_epoch: int) -> Position:
    """Load the saved network and optimizer state into ``model`` (compiled, inside its strategy's scope); return the position."""
    position = read_position(run_dir)
    weights = next((path for path in (run_dir / STATE_DIR / WEIGHTS_FILE, run_dir / LEGACY_BACKUP / "latest.weights.h5") if path.is_file()), None)
    if weights is None:
        return position
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # its variables must exist to receive the saved ones
    try:
        if weights.suffix == ".npz":
            load_state(model, weights)
        else:
            model.load_weights(weights)
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"The saved training state {weights} cannot be read ({str(error).splitlines()[0][:160]}): start a new --run-dir.") from None
    iterations = int(model.optimizer.iterations.numpy())
    if iterations != position.global_step(steps_per_epoch):
        log.warning(
            "warning: %s holds %d optimizer steps but its position says %d; resuming at the position",
            weights,
            iterations,
            position.global_step(steps_per_epoch),
        )
    return position


class TrainingState(keras.callbacks.Callback):
    """Saves the state at every epoch end, and mid-epoch when a stop is requested (then raises :class:`TrainingPreempted`).

    It also keeps the epoch's clock (:meth:`epoch_seconds`), because only it
    knows how much of the epoch earlier starts did. ``write=False`` (non-chief
    workers) never writes; ``any_worker`` turns the local stop flag into the
    group's decision, so every worker stops at the same step.
    """

    def __init__(self, run_dir: Path, stop: StopRequest, any_worker: Callable[[bool], bool] = bool, write: bool = True) -> None:
        super().__init__()
        self.run_dir, self.stop, self.any_worker, self.write = Path(run_dir), stop, any_worker, write
        self.epoch, self.done = 0, Position()
        self._epoch_start = time.perf_counter()

    def continue_epoch(self, position: Position) -> None:
        """The next ``fit`` finishes the epoch ``position`` stopped inside: count its steps and seconds on from there."""
        self.done = position

    def epoch_seconds(self) -> float:
        """Seconds spent on the current epoch so far, over every start that worked on it."""
        return time.perf_counter() - self._epoch_start

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._epoch_start = time.perf_counter() - self.done.seconds

    def on_epoch_end(self, epoch, logs=None):
        self.done = Position()
        self.save(Position(epoch + 1, 0))

    def on_train_batch_end(self, batch, logs=None):
        if self.any_worker(self.stop.is_set()):
            position = Position(self.epoch, self.done.step + batch + 1, self.epoch_seconds())
            self.save(position)
            raise TrainingPreempted(
                f"stopped by {self.stop.signal_name or 'request'} at epoch {position.epoch + 1}, step {position.step}; "
                "the state is saved: run the same command again to resume"
            )

    def save(self, position: Position) -> None:
        if not self.write:
            return
        with atomic_folder(self.run_dir / STATE_DIR) as staging:
            save_state(self.model, staging / WEIGHTS_FILE)
            saved = {**dataclasses.asdict(position), "optimizer_iterations": int(self.model.optimizer.iterations.numpy())}
            (staging / POSITION_FILE).write_text(json.dumps(saved, indent=2) + "\n")
        discard(self.run_dir / LEGACY_BACKUP)


def save_state(model: keras.Model, path: Path) -> None:
    """The model's weights and its optimizer's variables, in order, as one NumPy archive."""
    arrays = {f"model_{index}": value for index, value in enumerate(model.get_weights())}
    arrays |= {f"optimizer_{index}": keras.ops.convert_to_numpy(variable) for index, variable in enumerate(model.optimizer.variables)}
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_state(model: keras.Model, path: Path) -> None:
    """Inverse of :func:`save_state` into a model of the same architecture whose optimizer is built."""
    with np.load(path) as archive:
        model.set_weights([archive[f"model_{index}"] for index in range(len(model.get_weights()))])
        variables = model.optimizer.variables
        saved = sum(name.startswith("optimizer_") for name in archive.files)
        if saved != len(variables):
            raise ValueError(f"it holds {saved} optimizer variables, this run's optimizer has {len(variables)}")
        for index, variable in enumerate(variables):
            variable.assign(archive[f"optimizer_{index}"])


def clear_state(run_dir: Path) -> None:
    """Remove the state of a completed run (its summary.json now marks it done)."""
    for name in (STATE_DIR, LEGACY_BACKUP):
        discard(run_dir / name)
