"""What a training step optimises: the network, its loss and its optimizer, compiled for ``fit``.

Noise2Noise and Noise2Clean fit the network itself to (input, target) crops
with the configured loss. Neighbor2Neighbor (``--target single``) fits a
:class:`~noise2noise_keras.neighbor.NeighborTraining` wrapper whose step cuts
the pair out of each single noisy crop. Training and the ``--minutes`` timing
build the model here, so they time and train the same step.
"""

from __future__ import annotations

import keras

from noise2noise_keras.config import TrainConfig
from noise2noise_keras.datasets.single import SINGLE
from noise2noise_keras.losses import build_loss
from noise2noise_keras.models import build_model
from noise2noise_keras.neighbor import NeighborTraining
from noise2noise_keras.schedules import RampDownSchedule


def build_training_model(config: TrainConfig, channels: int) -> tuple[keras.Model, keras.losses.Loss | None]:
    """The compiled model ``fit`` trains for ``config`` on ``channels``-channel data, and its loss (None for Neighbor2Neighbor)."""
    network = build_model(config.arch, channels=channels)
    schedule = RampDownSchedule(config.learning_rate, config.total_steps, config.rampdown_fraction)
    optimizer = keras.optimizers.Adam(schedule, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon, global_clipnorm=config.clip_norm or None)
    if config.target == SINGLE:
        model = NeighborTraining(network, config.total_steps, config.seed)
        model.compile(optimizer=optimizer, jit_compile=False)
        return model, None
    loss = build_loss(config.loss)
    network.compile(optimizer=optimizer, loss=loss, jit_compile=False)
    return network, loss
