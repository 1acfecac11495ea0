"""``NoisyDataset``: infinite streams of (noisy input, noisy-or-clean target) crops for ``model.fit``.

Design: images are decoded once and packed into one flat uint8 tensor; each
stream element ``k`` derives all of its randomness (which image, where to
crop, flips, input noise, target noise) from the stateless seed ``(seed, k)``.
So a stream is reproducible under a seed regardless of ``tf.data`` parallelism,
and a resumed run continues the stream at element ``k`` instead of replaying it.
Input and target noise use different seeds, i.e. they are **independent**
realisations, which is what Noise2Noise requires.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from noise2noise_keras.errors import UserError
from noise2noise_keras.noise import BernoulliNoise, NoiseModel

TARGETS = ("noisy", "clean", "single")  # Noise2Noise, Noise2Clean, Neighbor2Neighbor (datasets/single.py)


def pad_to_min_size(image: np.ndarray, size: int) -> np.ndarray:
    """Mirror-pad (symmetric) an (H, W, C) image so both sides are at least ``size``.

    Why mirror padding rather than upscaling: it keeps the pixel statistics
    (and hence the noise level) of the original; a 1x1 image just repeats.
    """
    pad_h, pad_w = max(0, size - image.shape[0]), max(0, size - image.shape[1])
    if not (pad_h or pad_w):
        return image
    return np.pad(image, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)), mode="symmetric")


class CropStream:
    """Images packed into one flat tensor, and the infinite, resumable stream of training pairs cut from them.

    Subclasses define :meth:`pair`, which derives every random choice of
    stream element ``k`` from the stateless seed ``(seed, k)``.
    """

    channels: int

    def __init__(self, crop: int, augment: bool, seed: int) -> None:
        self.crop, self.augment, self.seed = crop, augment, seed

    def _pack(self, images: list[np.ndarray]) -> None:
        sizes = np.array([image.size for image in images], dtype=np.int64)
        self._flat = tf.constant(np.concatenate([image.reshape(-1) for image in images]))
        self._offsets = tf.constant(np.concatenate([[0], np.cumsum(sizes)[:-1]]))
        self._shapes = tf.constant(np.array([image.shape for image in images], dtype=np.int64))

    def _image(self, index: tf.Tensor) -> tf.Tensor:
        shape = self._shapes[index]
        size = tf.reduce_prod(shape)
        return tf.reshape(self._flat[self._offsets[index] : self._offsets[index] + size], shape)

    @staticmethod
    def augmented(crop: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """One of the 8 flips/rotations of a square crop (whose channels hold input and target alike)."""
        lr_seed, ud_seed, tr_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        crop = tf.image.stateless_random_flip_left_right(crop, lr_seed)
        crop = tf.image.stateless_random_flip_up_down(crop, ud_seed)
        transpose = tf.random.stateless_uniform([], tr_seed) < 0.5
        return tf.cond(transpose, lambda: tf.transpose(crop, [1, 0, 2]), lambda: crop)

    def pair(self, element: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        raise NotImplementedError

    def stream(self, batch_size: int, start_element: int = 0) -> tf.data.Dataset:
        """Infinite stream of ``batch_size`` batches from element ``start_element`` (for resume).

        Under a multi-worker strategy every worker builds this same stream and
        keeps its own share of each batch (``AutoShardPolicy.DATA``), so the
        group trains on exactly the batches a single worker would.
        """
        elements = tf.data.Dataset.counter(start=start_element, dtype=tf.int64)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return (
            elements.map(self.pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE)
            .with_options(options)
        )


class NoisyDataset(CropStream):
    """Random crops of ``images`` with independent noise on input and target.

    ``images`` are uint8 (H, W, C) arrays; the stream yields float32 batches in
    [0, 1] (noisy values may leave that range: Gaussian noise is not clipped).
    ``target='clean'`` gives Noise2Clean pairs. ``target_mask=True`` appends a
    channel to the target that is 1 where the target pixel is valid (the kept
    pixels of Bernoulli noise; all ones otherwise), for the masked L2 loss.
    """

    def __init__(
        self,
        images: list[np.ndarray],
        noise: NoiseModel,
        target: str = "noisy",
        crop: int = 256,
        augment: bool = False,
        seed: int = 0,
        target_mask: bool = False,
    ) -> None:
        if not images:
            raise UserError("No readable training images were found: check the dataset folder or name.")
        if target not in ("noisy", "clean"):
            raise UserError(f"Unknown target '{target}' for pairs of noisy crops: use noisy or clean.")
        super().__init__(crop, augment, seed)
        self.noise, self.target, self.target_mask = noise, target, target_mask
        padded = [pad_to_min_size(image, crop) for image in images]
        self.channels = padded[0].shape[2]
        self._pack(padded)
        self.num_images = len(padded)

    def pair(self, element: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The (input, target) pair of stream element ``element`` (an int64 scalar)."""
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(self.seed, tf.int64), element]), 5)
        index = tf.random.stateless_uniform([], seeds[0], 0, self.num_images, dtype=tf.int64)
        crop = tf.image.stateless_random_crop(self._image(index), [self.crop, self.crop, self.channels], seeds[1])
        if self.augment:
            crop = self.augmented(crop, seeds[2])
        clean = tf.cast(crop, tf.float32) / 255.0
        noisy_input = self.noise.corrupt(clean, seeds[3])
        mask = tf.ones_like(clean[..., :1])
        if self.target == "clean":
            target = clean
        elif isinstance(self.noise, BernoulliNoise):
            target, mask = self.noise.corrupt_with_mask(clean, seeds[4])
        else:
            target = self.noise.corrupt(clean, seeds[4])
        if self.target_mask:
            target = tf.concat([target, mask], axis=-1)
        return noisy_input, target


def fixed_noise(images: list[np.ndarray], noise: NoiseModel, seed: int) -> list[np.ndarray]:
    """Noisy float32 copies of uint8 ``images``, image ``i`` corrupted with seed ``(seed, i)``.

    Used for validation and test sets: the same noise every epoch and every
    run, so PSNR differences come from the model only.
    """
    noisy = []
    for i, image in enumerate(images):
        clean = tf.constant(image, tf.float32) / 255.0
        noisy.append(noise.corrupt(clean, tf.constant([seed, i], tf.int64)).numpy())
    return noisy
