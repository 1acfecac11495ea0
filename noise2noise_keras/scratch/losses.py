"""Losses with their gradients."""

from __future__ import annotations

import numpy as np


class MSE:
    """Mean squared error over every element; ``backward`` is d(loss)/d(prediction)."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        self._difference = prediction - target
        return float(np.mean(np.square(self._difference)))

    def backward(self) -> np.ndarray:
        return 2.0 * self._difference / self._difference.size
