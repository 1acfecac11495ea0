"""The project's own callbacks, driven directly: checkpoints as denoiser folders, one metrics row per epoch, local validation."""

import json

import keras
import numpy as np
import pytest

from noise2noise_keras.callbacks import AnnealGamma, DenoiserCheckpoint, EpochCSVLogger, local_denoiser, read_metrics
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.denoiser import Denoiser, DenoiserSpec
from noise2noise_keras.losses import AnnealedL0Loss
from noise2noise_keras.models import build_model
from noise2noise_keras.normalization import DTYPE_RANGE


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    network = build_model("hourglass", channels=1)
    network.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return network


@pytest.fixture(scope="module")
def spec():
    return DenoiserSpec("hourglass", 1, DTYPE_RANGE, "gaussian", "synthetic", {"train_config": {"seed": 0}})


def test_the_best_checkpoint_is_written_only_on_improvement_and_remembers_an_earlier_best(model, spec, tmp_path):
    checkpoint = DenoiserCheckpoint(tmp_path / "best", spec, monitor="val_psnr", mode="max", best=25.0)  # a resumed run's best so far
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(3, {"val_psnr": 24.0})  # worse than the run's earlier best: nothing written
    assert not (tmp_path / "best").exists()
    checkpoint.on_epoch_end(4, {"val_psnr": 26.5})
    saved = json.loads((tmp_path / "best" / "denoiser.json").read_text())
    assert saved["saved_at"] == {"checkpoint": "best", "epoch": 5, "val_psnr": 26.5} and saved["train_config"] == {"seed": 0}
    checkpoint.on_epoch_end(5, {"val_psnr": float("nan")})  # a diverged score never counts as a best
    checkpoint.on_epoch_end(6, {"val_psnr": 26.0})
    assert json.loads((tmp_path / "best" / "denoiser.json").read_text())["saved_at"]["epoch"] == 5
    loaded = Denoiser.load(tmp_path / "best")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.model.get_weights(), model.get_weights()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # no staging folder left behind


def test_a_rerun_epoch_replaces_its_metrics_row_instead_of_adding_one(model, tmp_path):
    logger = EpochCSVLogger(tmp_path / "metrics.csv", epoch_seconds=lambda: 12.5)  # the training state's clock (tested in test_resume)
    logger.set_model(model)
    for epoch, loss in ((0, 0.5), (1, 0.4), (1, 0.35), (2, 0.3)):  # epoch 2 (index 1) ran twice: killed, then resumed
        logger.on_epoch_end(epoch, {"loss": loss})
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [(row["epoch"], float(row["loss"])) for row in rows] == [("1", 0.5), ("2", 0.35), ("3", 0.3)]
    assert all(float(row["learning_rate"]) == pytest.approx(1e-3) and float(row["epoch_seconds"]) == 12.5 for row in rows)


def test_validation_denoises_with_the_training_network_itself_outside_multi_worker_training(model, spec):
    """One worker: no copy (the copy is for MultiWorkerMirroredStrategy, covered by the two-worker SLURM test)."""
    assert local_denoiser(model, spec).model is model


@pytest.mark.parametrize("fraction, start", [(1.0, 2.0), (1.5, 2.0), (2.0, 2.0), (1.0, 1.0), (1.5, 0.5)])
def test_the_l0_exponent_falls_from_its_start_to_0_over_the_anneal_fraction_of_training(fraction, start):
    """Driven by real fit() steps: gamma at each step is start (1 - step / (fraction x total)), never below 0."""
    config = TrainConfig(noise="impulse", epochs=2, steps_per_epoch=4, anneal_fraction=fraction, anneal_start=start)
    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Dense(1)])  # the loss averages over images
    loss = AnnealedL0Loss()
    network.compile(optimizer=keras.optimizers.SGD(1e-3), loss=loss)
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(float(loss.gamma.numpy())))
    data = np.ones((8, 2, 2, 1), np.float32)
    anneal = AnnealGamma(loss.gamma, config.anneal_steps, config.anneal_start)  # as training.py builds it
    network.fit(data, data, batch_size=1, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, callbacks=[anneal, record], verbose=0)
    assert seen == pytest.approx([max(0.0, start * (1 - step / (fraction * 8))) for step in range(8)])
