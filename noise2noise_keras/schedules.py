"""The official code's learning-rate schedule: constant, then a cosine^2 ramp-down to 0."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable("noise2noise_keras")
class RampDownSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``lr`` until ``(1 - rampdown_fraction) * total_steps``, then ``lr * (0.5 + cos(pi t) / 2)^2``.

    ``t`` runs from 0 to 1 over the last ``rampdown_fraction`` of training, as in
    ``compute_ramped_down_lrate`` of NVlabs/noise2noise. Being a function of the
    optimizer's step counter, it resumes exactly with the optimizer state.
    """

    def __init__(self, learning_rate: float, total_steps: int, rampdown_fraction: float = 0.3) -> None:
        self.learning_rate, self.total_steps, self.rampdown_fraction = learning_rate, total_steps, rampdown_fraction

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rampdown_steps = max(self.rampdown_fraction * self.total_steps, 1e-9)
        start = self.total_steps - rampdown_steps
        t = ops.clip((step - start) / rampdown_steps, 0.0, 1.0)
        return self.learning_rate * ops.square(0.5 + ops.cos(t * math.pi) / 2.0)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps, "rampdown_fraction": self.rampdown_fraction}
