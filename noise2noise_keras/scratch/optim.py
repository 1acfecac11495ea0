"""Optimisers updating :class:`Parameter` values in place from their accumulated gradients."""

from __future__ import annotations

import numpy as np

from noise2noise_keras.scratch.modules import Parameter


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum: v = m v + g; w -= lr v."""

    def __init__(self, parameters: list[Parameter], learning_rate: float = 0.01, momentum: float = 0.9) -> None:
        self.parameters, self.learning_rate, self.momentum = parameters, learning_rate, momentum
        self._velocity = [np.zeros_like(p.value) for p in parameters]

    def step(self) -> None:
        for parameter, velocity in zip(self.parameters, self._velocity):
            velocity *= self.momentum
            velocity += parameter.grad
            parameter.value -= self.learning_rate * velocity


class Adam:
    """Adam (Kingma & Ba) with bias correction; the defaults are the paper's and Keras'."""

    def __init__(self, parameters: list[Parameter], learning_rate: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7) -> None:
        self.parameters, self.learning_rate = parameters, learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._first = [np.zeros_like(p.value) for p in parameters]
        self._second = [np.zeros_like(p.value) for p in parameters]
        self.iterations = 0

    def step(self) -> None:
        self.iterations += 1
        correction = np.sqrt(1 - self.beta_2**self.iterations) / (1 - self.beta_1**self.iterations)
        for parameter, first, second in zip(self.parameters, self._first, self._second):
            first += (1 - self.beta_1) * (parameter.grad - first)
            second += (1 - self.beta_2) * (np.square(parameter.grad) - second)
            parameter.value -= self.learning_rate * correction * first / (np.sqrt(second) + self.epsilon)
