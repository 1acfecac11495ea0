"""Neighbor2Neighbor (Huang et al., CVPR 2021): a denoiser trained from single noisy images.

Each 2×2 cell of a noisy crop ``y`` gives two pixels that are neighbours
(sharing a side, chosen at random per cell, the same for every channel):
the sub-sampler ``g1, g2`` turns ``y`` into two half-resolution views whose
noise is independent and whose signals nearly agree, a Noise2Noise pair cut
from one image. The network learns ``f(g1(y)) ≈ g2(y)``; because the two
views sample slightly different positions, a regulariser pulls that
difference towards the one the current network sees at full resolution::

    loss = |f(g1(y)) - g2(y)|² + γ |f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))|²

``f(y)`` is computed without gradient; γ rises linearly from 0 to ``GAMMA``
(the paper's 2) over training, as the official code's ``epoch / n_epoch *
increase_ratio``. Sub-sampling choices derive from the run's seed and the
optimizer's step, so a resumed run draws what an uninterrupted one would.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# Cells of a 2×2 block, numbered as tf.nn.space_to_depth orders them: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
# The ordered pairs of cells that share a side (the official code's eight choices; no diagonals).
NEIGHBOUR_PAIRS = ((0, 1), (0, 2), (1, 3), (2, 3), (1, 0), (2, 0), (3, 1), (3, 2))
GAMMA = 2.0


def neighbour_choice(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """One index into ``NEIGHBOUR_PAIRS`` per 2×2 cell of ``images`` (N, H, W, C): int32 (N, H // 2, W // 2)."""
    shape = tf.shape(images)
    return tf.random.stateless_uniform([shape[0], shape[1] // 2, shape[2] // 2], seed, 0, len(NEIGHBOUR_PAIRS), dtype=tf.int32)


def subsample(images: tf.Tensor, choice: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The two half-resolution views ``g1, g2`` of ``images`` (N, H, W, C) for the per-cell ``choice``.

    Odd sides lose their last row or column (no cell holds it).
    """
    shape = tf.shape(images)
    half_h, half_w, channels = shape[1] // 2, shape[2] // 2, shape[3]
    cells = tf.nn.space_to_depth(images[:, : 2 * half_h, : 2 * half_w], 2)
    cells = tf.reshape(cells, [shape[0], half_h, half_w, 4, channels])
    pairs = tf.gather(tf.constant(NEIGHBOUR_PAIRS, tf.int32), choice)
    first = tf.gather(cells, pairs[..., 0], axis=3, batch_dims=3)
    second = tf.gather(cells, pairs[..., 1], axis=3, batch_dims=3)
    return first, second


def neighbor_loss(network: keras.Model, noisy: tf.Tensor, seed: tf.Tensor, gamma: tf.Tensor | float, training: bool) -> dict[str, tf.Tensor]:
    """The regularised loss of one batch of noisy crops, with its two terms."""
    choice = neighbour_choice(noisy, seed)
    first, second = subsample(noisy, choice)
    whole = tf.stop_gradient(tf.cast(network(noisy, training=False), tf.float32))
    whole_first, whole_second = subsample(whole, choice)
    difference = tf.cast(network(first, training=training), tf.float32) - tf.cast(second, tf.float32)
    reconstruction = tf.reduce_mean(tf.square(difference))
    regulariser = tf.reduce_mean(tf.square(difference - (whole_first - whole_second)))
    return {"loss": reconstruction + gamma * regulariser, "reconstruction": reconstruction, "regulariser": regulariser}


class NeighborTraining(keras.Model):
    """Wraps a denoising network so that ``fit`` trains it with :func:`neighbor_loss` on batches of single noisy crops.

    The network is what checkpoints, validation and inference use
    (``self.network``); this model adds the training step only. The seed of
    step ``k``'s sub-sampling is ``(seed, k)``.
    """

    def __init__(self, network: keras.Model, total_steps: int, seed: int, gamma: float = GAMMA) -> None:
        super().__init__(name="neighbor2neighbor")
        self.network, self.total_steps, self.seed, self.final_gamma = network, total_steps, seed, gamma
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True  # the network is built; this wrapper adds no weights

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker]  # reset by fit at every epoch

    def gamma(self) -> tf.Tensor:
        progress = tf.cast(self.optimizer.iterations, tf.float32) / float(self.total_steps)
        return self.final_gamma * tf.minimum(progress, 1.0)

    def batch_loss(self, data) -> tf.Tensor:
        """The loss of one batch (a tensor of noisy crops, or a tuple whose first element is)."""
        noisy = data[0] if isinstance(data, tuple | list) else data
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)])
        return neighbor_loss(self.network, noisy, seed, self.gamma(), training=True)["loss"]

    def train_step(self, data):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss = self.batch_loss(data)
            scaled = self.optimizer.scale_loss(loss / replicas)  # gradients are summed over replicas
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def denoising_network(model: keras.Model) -> keras.Model:
    """The network a training model trains: itself, or the one a :class:`NeighborTraining` wraps."""
    return model.network if isinstance(model, NeighborTraining) else model
