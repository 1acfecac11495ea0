"""Resume owned by the project: a stopped run, resumed, ends with the weights of a run that never stopped.

These fail when resume breaks in any way that matters (weights, optimizer
moments, learning-rate schedule, epoch, step, data stream position), whatever
the Keras version: the comparison is bit-for-bit in float32 on this CPU.
"""

import json
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from noise2noise_keras.artifacts import find_denoiser
from noise2noise_keras.atomic import atomic_folder, settled
from noise2noise_keras.callbacks import EpochCSVLogger, read_metrics
from noise2noise_keras.config import make_config
from noise2noise_keras.objective import build_training_model
from noise2noise_keras.preemption import StopRequest, TrainingPreempted
from noise2noise_keras.resume import LEGACY_BACKUP, POSITION_FILE, STATE_DIR, WEIGHTS_FILE, TrainingState, load_state, read_position
from noise2noise_keras.training import train


class StopAtCheck(StopRequest):
    """A stop request that arrives after ``steps`` training steps (the state callback checks once per step)."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.remaining = steps

    def is_set(self) -> bool:
        self.remaining -= 1
        return self.remaining <= 0


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for index in range(3):
        Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(folder / f"p{index}.png")
    return folder


def tiny_config(photos: Path, target: str):
    return make_config(
        "quick", noise="gaussian", dataset=str(photos), target=target, epochs=3, steps_per_epoch=4, batch_size=2, crop=32, val_images=1, precision="float32"
    )


@pytest.fixture(scope="module")
def uninterrupted(photos, tmp_path_factory) -> dict[str, list[np.ndarray]]:
    """The final weights of runs that never stopped, per target (trained on first use)."""
    trained = {}

    def weights(target: str) -> list[np.ndarray]:
        if target not in trained:
            run = tmp_path_factory.mktemp(f"uninterrupted-{target}") / "run"
            train(tiny_config(photos, target), run, verbose=0)
            trained[target] = find_denoiser(run, "last").model.get_weights()
        return trained[target]

    return weights


def assert_same_weights(run: Path, expected: list[np.ndarray]) -> None:
    weights = find_denoiser(run, "last").model.get_weights()
    assert len(weights) == len(expected) and all(np.array_equal(a, b) for a, b in zip(weights, expected))


@pytest.mark.parametrize("target", ["noisy", "single"], ids=["noise2noise", "neighbor2neighbor"])
def test_a_run_stopped_mid_epoch_resumes_to_the_same_weights(photos, uninterrupted, tmp_path, target):
    """Neighbor2Neighbor's own training step also draws its sub-sampling from the step count: it must resume exactly too."""
    config, run = tiny_config(photos, target), tmp_path / "run"
    with pytest.raises(TrainingPreempted, match="epoch 2, step 2"):
        train(config, run, verbose=0, stop=StopAtCheck(4 + 2))
    saved = json.loads((run / STATE_DIR / POSITION_FILE).read_text())
    assert saved.pop("seconds") > 0 and saved == {"epoch": 1, "step": 2, "optimizer_iterations": 6}
    train(config, run, verbose=0)
    assert_same_weights(run, uninterrupted(target))
    assert not (run / STATE_DIR).exists()


def test_an_epoch_stopped_and_resumed_is_timed_whole_in_the_metrics(tmp_path):
    """The seconds before the stop travel in position.json, so metrics.csv and summary.json do not count only the last start's part."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    run = tmp_path / "run"
    first = TrainingState(run, StopAtCheck(1))
    first.set_model(model)
    first.on_epoch_begin(1)
    time.sleep(0.5)  # the epoch's work before the stop
    with pytest.raises(TrainingPreempted, match="epoch 2, step 3"):
        first.on_train_batch_end(2)
    position = read_position(run)
    assert position.step == 3 and position.seconds >= 0.5

    resumed = TrainingState(run, StopRequest())  # the next start, as training.py wires it
    logger = EpochCSVLogger(run / "metrics.csv", resumed.epoch_seconds)
    for callback in (resumed, logger):
        callback.set_model(model)
    resumed.continue_epoch(position)
    resumed.on_epoch_begin(1)
    logger.on_epoch_end(1, {"loss": 0.1})
    resumed.on_epoch_end(1)
    assert position.seconds <= float(read_metrics(run / "metrics.csv")[0]["epoch_seconds"]) < position.seconds + 1
    resumed.on_epoch_begin(2)  # the next epoch starts its clock from zero
    assert resumed.epoch_seconds() < 0.5 and read_position(run).seconds == 0.0


def test_a_run_of_an_earlier_version_resumes_from_its_keras_backup(photos, uninterrupted, tmp_path):
    """Runs started before this version kept Keras' BackupAndRestore files; they resume the same, then switch over."""
    config, run = tiny_config(photos, "noisy"), tmp_path / "run"
    with pytest.raises(TrainingPreempted):
        train(config, run, verbose=0, stop=StopAtCheck(4 + 1))
    legacy = run / LEGACY_BACKUP
    legacy.mkdir()
    model, _ = build_training_model(config, 3)  # the same state as Keras' BackupAndRestore wrote it: Model.save_weights
    model.optimizer.build(model.trainable_variables)
    load_state(model, run / STATE_DIR / WEIGHTS_FILE)
    model.save_weights(legacy / "latest.weights.h5")
    (run / STATE_DIR / WEIGHTS_FILE).unlink()
    (legacy / "training_metadata.json").write_text(json.dumps({"epoch": 1, "batch": 1}))
    for name in ("best", "last"):  # and its checkpoints were bare .keras files
        (run / "checkpoints" / name / "model.keras").rename(run / "checkpoints" / f"{name}.keras")
        (run / "checkpoints" / name / "denoiser.json").unlink()
        (run / "checkpoints" / name).rmdir()
    (run / STATE_DIR / POSITION_FILE).unlink()
    (run / STATE_DIR).rmdir()
    assert read_position(run).epoch == 1 and read_position(run).step == 1

    train(config, run, verbose=0)
    assert_same_weights(run, uninterrupted("noisy"))
    assert not legacy.exists() and not list((run / "checkpoints").glob("*.keras"))
    assert (run / "checkpoints" / "best" / "denoiser.json").is_file()


def test_a_folder_swap_cut_between_its_two_renames_leaves_the_previous_folder(tmp_path):
    final = tmp_path / "state"
    with atomic_folder(final) as staging:
        (staging / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_folder(final) as staging:
        (staging / "a").write_text("2")
        raise RuntimeError("killed while writing")
    assert (final / "a").read_text() == "1" and not list(tmp_path.glob(".*"))
    final.rename(tmp_path / ".state.old")  # a kill after the first rename of a swap
    assert (settled(final) / "a").read_text() == "1"
