"""Single noisy images, one capture per scene: the data of Neighbor2Neighbor training (``--single PATH``, ``--target single``).

``PATH`` is a folder of noisy images (8/16-bit PNG or TIFF, float TIFF,
grayscale or RGB), read at full precision like own capture pairs and mapped
to model units by the same recorded :class:`Normalization`. An optional
``PATH/clean/`` holds clean images of the same names, used only to report
validation PSNR. Each training element is a crop of twice ``--crop`` a side,
so that the sub-sampled views the network learns from are ``--crop`` a side;
images smaller than that are refused, not padded (padding would repeat the
noise, which the method assumes independent).

For measurement, ``--target single`` with synthetic noise corrupts every
training image **once** (seeded, never re-drawn) and trains on that fixed
noisy set: re-drawing the noise each step would smuggle in extra noisy
captures of the same scene, which is Noise2Noise, not Neighbor2Neighbor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from noise2noise_keras.datasets.images import list_images
from noise2noise_keras.datasets.noisy import CropStream, fixed_noise
from noise2noise_keras.datasets.pairs import Scene, pixels_of
from noise2noise_keras.errors import UserError
from noise2noise_keras.noise import NoiseModel
from noise2noise_keras.normalization import Normalization

SINGLE = "single"  # the NOISE argument (and data source) of single noisy images
FIXED_NOISE_SEED = 20210619  # the fixed noisy training set of --target single: one draw per image, from (run seed ^ this, image index)


def load_singles(root: str | Path, crop: int) -> list[Scene]:
    """Every image of ``root`` as a one-capture scene (with its clean twin from ``root/clean/`` if there), checked."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: pass a folder of noisy images, one per scene.")
    files = list_images(root)
    if len(files) < 2:
        raise UserError(f"{root} holds {len(files)} image(s): training from single noisy images needs at least 2 (one is held out for validation).")
    clean_files = {path.stem: path for path in list_images(root / "clean")} if (root / "clean").is_dir() else {}
    scenes = []
    for path in files:
        image = pixels_of(path)
        if min(image.shape[:2]) < 2 * crop:
            raise UserError(
                f"{path} is {image.shape[1]}x{image.shape[0]}, smaller than twice the crop ({2 * crop} px a side, "
                f"sub-sampled to {crop}): pass a smaller --crop or remove the image."
            )
        clean = pixels_of(clean_files[path.stem]) if path.stem in clean_files else None
        if clean is not None and clean.shape != image.shape:
            raise UserError(f"{clean_files[path.stem]} does not match {path} in size and channels: a clean image must be the same picture.")
        scenes.append(Scene(path.stem, [image], clean))
    kinds = {(scene.frames[0].shape[-1], scene.frames[0].dtype.str) for scene in scenes}
    if len(kinds) > 1:
        described = ", ".join(f"{s.name}: {s.frames[0].shape[-1]} channel(s) of {s.frames[0].dtype}" for s in scenes[:2] + scenes[-1:])
        raise UserError(f"The images in {root} mix channel counts or sample types ({described}): convert them to one kind.")
    return scenes


def fixed_noisy_set(images: list[np.ndarray], noise: NoiseModel, seed: int) -> list[np.ndarray]:
    """One noisy float32 version of each uint8 training image, drawn once from ``seed``."""
    return [np.asarray(noisy, np.float32) for noisy in fixed_noise(images, noise, seed ^ FIXED_NOISE_SEED)]


class SingleDataset(CropStream):
    """Random crops of twice ``crop`` a side from single noisy images, in model units (one tensor per element).

    The images are the user's captures in their own sample type (mapped by
    ``normalization``) or the fixed noisy set of ``--target single`` (floats
    already in model units).
    """

    def __init__(self, images: list[np.ndarray], normalization: Normalization, crop: int = 256, augment: bool = False, seed: int = 0) -> None:
        super().__init__(crop, augment, seed)
        self.normalization, self.channels, self.num_images = normalization, images[0].shape[2], len(images)
        self._pack(images)

    def pair(self, element: tf.Tensor) -> tf.Tensor:
        """The noisy crop of stream element ``element`` (the target is cut from it by the sub-sampler)."""
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(self.seed, tf.int64), element]), 3)
        index = tf.random.stateless_uniform([], seeds[0], 0, self.num_images, dtype=tf.int64)
        crop = tf.image.stateless_random_crop(self._image(index), [2 * self.crop, 2 * self.crop, self.channels], seeds[1])
        if self.augment:
            crop = self.augmented(crop, seeds[2])
        return self.normalization.tensor_to_units(crop)
