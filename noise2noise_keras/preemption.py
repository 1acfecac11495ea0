"""Preemption-safe training: on SIGUSR1/SIGTERM/SIGINT, checkpoint mid-epoch, stop, and later resume there.

Clusters stop jobs early: SLURM sends SIGUSR1 ahead of the time limit (our job
scripts ask for ``--signal=B:USR1@120``) and SIGTERM on preemption or
``scancel``. The handler only sets a flag; :class:`PreemptibleBackup` checks it
after every step, saves the full training state (weights, optimizer, epoch
and step within the epoch) and raises :class:`TrainingPreempted`. Re-running
the same command resumes at that exact step. With several workers the flag is
OR-ed across all of them each step, so every worker stops at the same step.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

import keras

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)
EXIT_CODE = 3  # the CLI's exit status after a signal stopped training with its state saved


class TrainingPreempted(Exception):
    """Training stopped on a signal after saving its state; re-run to resume."""


class StopRequest:
    """A flag set by SIGUSR1, SIGTERM or a first Ctrl-C (handlers installed only from the main thread)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame) -> None:
        if signum == signal.SIGINT and self._event.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, keep the last epoch's backup
        self.signal_name = signal.Signals(signum).name
        log.warning("%s received: saving a checkpoint after the current step", self.signal_name)
        self._event.set()

    def request(self) -> None:
        """Ask training to stop as if a signal had arrived (for notebooks and tests)."""
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class PreemptibleBackup(keras.callbacks.BackupAndRestore):
    """Keras ``BackupAndRestore`` (saved each epoch) that also saves mid-epoch when asked to stop.

    The saved metadata holds ``epoch`` and ``batch`` (steps done in that epoch);
    :func:`noise2noise_keras.training.train` resumes a partial epoch for the
    remaining steps only. ``write=False`` (non-chief workers) restores from the
    shared backup but never writes it. ``any_worker`` turns the local flag into
    the group's decision (identity for a single worker).
    """

    def __init__(self, backup_dir: str, stop: StopRequest, any_worker: Callable[[bool], bool] = bool, write: bool = True) -> None:
        super().__init__(backup_dir, double_checkpoint=True, delete_checkpoint=False)
        self.stop, self.any_worker, self.write = stop, any_worker, write
        self.batch_offset = 0
        self._restored = False

    def on_train_begin(self, logs=None):
        # Restore once per process. A later fit() in the same process (the rest of the run after
        # a partial epoch) already has current weights, and re-reading the backup there would race
        # with the chief, who may still be writing it (HDF5 "unable to lock file").
        if self._restored:
            self.model._initial_epoch = None  # noqa: SLF001  use the epoch passed to fit()
            return
        super().on_train_begin(logs)
        self._restored = True

    def on_epoch_begin(self, epoch, logs=None):
        # Keras only updates this at epoch end; a save in the first epoch after a resume needs it.
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.batch_offset = 0
        super().on_epoch_end(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self.any_worker(self.stop.is_set()):
            self._last_batch_seen = self.batch_offset + batch + 1
            self._save_model()
            raise TrainingPreempted(
                f"stopped by {self.stop.signal_name or 'request'} at epoch {self._current_epoch + 1}, step {self._last_batch_seen}; "
                "the state is saved: run the same command again to resume"
            )

    def _save_model(self):
        if self.write:
            super()._save_model()
