"""The paper's training losses, in ``keras.ops`` only.

All take ``y_true``/``y_pred`` as (N, H, W, C) images in [0, 1]; the masked L2
loss takes a ``y_true`` with one extra channel, the target's validity mask
(see ``NoisyDataset(target_mask=True)``). All losses are registered Keras
serializables, so compiled checkpoints load with ``keras.saving.load_model``
after ``import noise2noise_keras``.
"""

from __future__ import annotations

import keras
from keras import ops

from noise2noise_keras.errors import UserError

_PACKAGE = "noise2noise_keras"


@keras.saving.register_keras_serializable(_PACKAGE)
class L2Loss(keras.losses.Loss):
    """Mean squared error: the minimiser is the mean, so zero-mean target noise averages out."""

    def __init__(self, name: str = "l2", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(y_pred - y_true), axis=(1, 2, 3))


@keras.saving.register_keras_serializable(_PACKAGE)
class L1Loss(keras.losses.Loss):
    """Mean absolute error: recovers the median, the right estimator when the
    target's corruption replaces fewer than half the pixels (text)."""

    def __init__(self, name: str = "l1", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return ops.mean(ops.abs(y_pred - y_true), axis=(1, 2, 3))


@keras.saving.register_keras_serializable(_PACKAGE)
class MaskedL2Loss(keras.losses.Loss):
    """L2 over the target's valid pixels only (Bernoulli noise drops target pixels).

    ``y_true`` carries the mask as its last channel; the error is normalised by
    the number of valid values per image.
    """

    def __init__(self, name: str = "masked_l2", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        target, mask = y_true[..., :-1], y_true[..., -1:]
        squared = ops.sum(mask * ops.square(y_pred - target), axis=(1, 2, 3))
        valid = ops.sum(mask, axis=(1, 2, 3)) * ops.cast(ops.shape(target)[-1], squared.dtype)
        return squared / ops.maximum(valid, 1.0)


@keras.saving.register_keras_serializable(_PACKAGE)
class AnnealedL0Loss(keras.losses.Loss):
    """``(|e| + 1e-8) ** gamma`` with gamma annealed from 2 to 0 during training.

    As gamma approaches 0 the minimiser approaches the mode, which recovers the
    clean value under random-valued impulse noise. ``gamma`` is a non-trainable
    variable that :class:`noise2noise_keras.callbacks.AnnealGamma` updates.
    """

    def __init__(self, gamma: float = 2.0, name: str = "l0", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.gamma = keras.Variable(gamma, trainable=False, dtype="float32", name="l0_gamma")

    def call(self, y_true, y_pred):
        error = ops.abs(y_pred - y_true) + 1e-8
        return ops.mean(ops.power(error, ops.cast(self.gamma, error.dtype)), axis=(1, 2, 3))

    def get_config(self):
        return {**super().get_config(), "gamma": float(ops.convert_to_numpy(self.gamma))}


LOSSES: dict[str, type[keras.losses.Loss]] = {
    "l2": L2Loss,
    "l1": L1Loss,
    "masked_l2": MaskedL2Loss,
    "l0": AnnealedL0Loss,
}


def build_loss(name: str) -> keras.losses.Loss:
    """The loss registered as ``name`` (l2, l1, masked_l2, l0)."""
    if name not in LOSSES:
        raise UserError(f"Unknown loss '{name}': use one of {', '.join(LOSSES)}.")
    return LOSSES[name]()
