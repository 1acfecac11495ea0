"""Starting a run from a trained model's weights (``--init-from``): training in stages.

A recipe longer than a job, on a machine whose run directories do not outlive
the job, can still be trained whole: each stage starts from the weights the
previous stage exported, with a fresh optimizer and its own learning-rate
schedule. The run directory's ``init.json`` keeps the earlier stage's record
(its config, summary, learning curve and evaluations, and the SHA-256 of the
weights it started from), and ``n2n export`` carries it into the new model's
``denoiser.json``, so a model made in stages records its whole history.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from noise2noise_keras.atomic import write_json
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.denoiser import Denoiser
from noise2noise_keras.errors import UserError

INIT_FILE = "init.json"


def check_initial(source: Denoiser, config: TrainConfig, channels: int) -> None:
    """Refuse a starting model unless this run builds the same network for the same channels."""
    if (source.spec.arch, source.spec.channels) != (config.arch, channels):
        raise UserError(
            f"--init-from {config.init_from} is a {source.spec.channels}-channel {source.spec.arch} but this run trains a {channels}-channel {config.arch}: "
            "pass a model of the same architecture and channels, or drop --init-from."
        )


def start_from(network: keras.Model, source: Denoiser, config: TrainConfig, run_dir: Path, write: bool) -> None:
    """Load ``source``'s weights into ``network`` and (``write``: the chief) record where they came from in ``init.json``."""
    network.set_weights(source.model.get_weights())
    if write:
        write_json(run_dir / INIT_FILE, {"init_from": config.init_from, "weights_sha256": weights_fingerprint(network), "record": source.spec.record})


def earlier_stages(run_dir: Path) -> dict[str, Any] | None:
    """What ``init.json`` records of the model this run started from; None for a run that started from scratch."""
    path = run_dir / INIT_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def stages(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's record and those of the stages before it, earliest first (one entry for a model trained in one go)."""
    chain = [record]
    while chain[0].get("initialized_from"):
        chain.insert(0, chain[0]["initialized_from"]["record"])
    return chain


def weights_fingerprint(model: keras.Model) -> str:
    """SHA-256 of all weights: names a starting point exactly, and is equal on every worker of a correctly synchronised group."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()
