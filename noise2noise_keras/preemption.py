"""Preemption-safe training: on SIGUSR1/SIGTERM/SIGINT, checkpoint mid-epoch, stop, and later resume there.

Clusters stop jobs early: SLURM sends SIGUSR1 ahead of the time limit (our job
scripts ask for ``--signal=B:USR1@120``) and SIGTERM on preemption or
``scancel``. The handler only sets a flag; ``resume.TrainingState`` checks it
after every step, saves the full training state (weights, optimizer, epoch
and step within the epoch) and raises :class:`TrainingPreempted`. Re-running
the same command resumes at that exact step. With several workers the flag is
OR-ed across all of them each step, so every worker stops at the same step.
"""

from __future__ import annotations

import logging
import signal
import threading

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
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, keep the last epoch's state
        self.signal_name = signal.Signals(signum).name
        log.warning("%s received: saving a checkpoint after the current step", self.signal_name)
        self._event.set()

    def request(self) -> None:
        """Ask training to stop as if a signal had arrived (for notebooks and tests)."""
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()
