"""The user's own noisy captures as training data: A/B pairs or bursts, no clean images needed.

Layouts of ``PATH`` (``python train_model.py pairs PATH``)::

    PATH/A/x.tif, PATH/B/x.tif    two captures of each scene, matched by file name (stem)
    PATH/scene_x/*.png            bursts: every subfolder holds >= 2 frames of one scene
    PATH/clean/x.tif              optional, either layout: a clean image per scene (named like
                                  the A/B file or the burst folder), used only to score validation
                                  PSNR and for --target clean

Frames are read at full precision in their own sample type (8/16-bit PNG or
TIFF, float TIFF) and mapped to the model's units by a :class:`Normalization`
recorded with the model, so ``n2n denoise`` inverts it exactly. Every problem a
user can fix (a file without its twin, sizes or channels that differ, mixed
sample types, a burst of one frame, pairs that look shifted) stops before
anything is written, with one sentence naming the files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from noise2noise_keras.datasets.images import list_images
from noise2noise_keras.datasets.noisy import CropStream, pad_to_min_size
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import read_image
from noise2noise_keras.normalization import Normalization

PAIRS = "pairs"  # the NOISE argument that selects this data source
NORMALIZATIONS = ("dtype", "percentile")
PERCENTILES = (0.1, 99.9)  # percentile normalisation maps this range of the training frames to [0, 1]
ALIGNMENT_WINDOW = 512  # side of the central crop on which pairs are checked for shifts
MAX_SHIFT = 4  # shifts up to this many pixels are looked for
SHIFT_EVIDENCE = 0.05  # a shift must beat zero shift by this much correlation to count as misalignment ...
SHIFT_EVIDENCE_SIGMAS = 8  # ... and by this many standard errors of a correlation estimate (1/sqrt(pixels))


@dataclasses.dataclass
class Scene:
    """Two or more noisy captures of one scene, and its clean image if the user has one."""

    name: str
    frames: list[np.ndarray]
    clean: np.ndarray | None = None


def find_scene_files(root: str | Path) -> list[tuple[str, list[Path], Path | None]]:
    """``(name, frame files, clean file or None)`` per scene of an A/B or burst folder."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: pass a folder with A/ and B/ subfolders, or one subfolder per burst.")
    clean_files = {path.stem: path for path in list_images(root / "clean")} if (root / "clean").is_dir() else {}
    if (root / "A").is_dir() or (root / "B").is_dir():
        a_files, b_files = ({p.stem: p for p in list_images(root / side)} if (root / side).is_dir() else {} for side in "AB")
        for only, side, other in ((sorted(a_files.keys() - b_files.keys()), "A", "B"), (sorted(b_files.keys() - a_files.keys()), "B", "A")):
            if only:
                raise UserError(
                    f"{len(only)} file(s) in {root / side} have no twin of the same name in {root / other} ({', '.join(only[:5])}): add or remove them."
                )
        if not a_files:
            raise UserError(f"{root / 'A'} and {root / 'B'} contain no images: put two captures of each scene there, matched by file name.")
        return [(stem, [a_files[stem], b_files[stem]], clean_files.get(stem)) for stem in sorted(a_files)]
    bursts = sorted(p for p in root.iterdir() if p.is_dir() and p.name != "clean")
    if not bursts:
        raise UserError(f"{root} has neither A/ and B/ subfolders nor burst subfolders: see docs/own-data.md for the layouts.")
    scenes = []
    for folder in bursts:
        frames = list_images(folder)
        if len(frames) < 2:
            raise UserError(f"Burst {folder} has {len(frames)} frame(s): a scene needs at least 2 captures (remove the folder or add frames).")
        scenes.append((folder.name, frames, clean_files.get(folder.name)))
    return scenes


def pixels_of(path: Path) -> np.ndarray:
    """Full-precision pixels without alpha (alpha is not part of the signal); training needs every value finite."""
    pixels = read_image(path).pixels
    if pixels.dtype.kind == "f" and not np.isfinite(pixels).all():
        raise UserError(
            f"{path} holds NaN or infinite values: training needs finite pixels (fill or crop the masked region; n2n denoise treats them as missing)."
        )
    return pixels


def load_scenes(root: str | Path, check_alignment: bool = True) -> list[Scene]:
    """Read and check every scene of ``root`` (see the module docstring)."""
    scenes = []
    for name, frame_files, clean_file in find_scene_files(root):
        frames = [pixels_of(path) for path in frame_files]
        clean = pixels_of(clean_file) if clean_file is not None else None
        for path, frame in zip(frame_files[1:] + ([clean_file] if clean_file else []), frames[1:] + ([clean] if clean is not None else [])):
            if frame.shape != frames[0].shape:
                raise UserError(
                    f"{path} is {_describe(frame)} but {frame_files[0]} is {_describe(frames[0])}: captures of a scene must match in size and channels."
                )
        scenes.append(Scene(name, frames, clean))
    kinds = {(scene.frames[0].shape[-1], scene.frames[0].dtype.str) for scene in scenes}
    if len(kinds) > 1:
        described = ", ".join(f"{scene.name}: {_describe(scene.frames[0])}" for scene in scenes[:2] + scenes[-1:])
        raise UserError(f"The scenes in {root} mix channel counts or sample types ({described}): convert them to one kind.")
    if check_alignment:
        shifted = [f"{scene.name} (shift {shift[0]:+d},{shift[1]:+d} px)" for scene in scenes if (shift := misalignment(scene.frames[0], scene.frames[1]))]
        if shifted:
            raise UserError(
                f"{len(shifted)} pair(s) look misaligned: {', '.join(shifted[:5])}; register them first, or pass --no-alignment-check if the scene moves."
            )
    return scenes


def _describe(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]} with {image.shape[2]} channel(s) of {image.dtype}"


def misalignment(a: np.ndarray, b: np.ndarray) -> tuple[int, int] | None:
    """The (dy, dx) shift that aligns ``b`` to ``a`` better than none, or None when they look aligned.

    Normalised cross-correlation of the channel means on a central crop, for
    shifts up to ``MAX_SHIFT`` pixels: two captures of a still scene correlate
    best at zero shift (independent noise does not correlate at all).
    """
    crops = []
    for image in (a, b):
        top, left = max(0, (image.shape[0] - ALIGNMENT_WINDOW) // 2), max(0, (image.shape[1] - ALIGNMENT_WINDOW) // 2)
        gray = image[top : top + ALIGNMENT_WINDOW, left : left + ALIGNMENT_WINDOW].astype(np.float64).mean(axis=-1)
        crops.append((gray - gray.mean()) / (gray.std() or 1.0))
    correlation = np.fft.irfft2(np.fft.rfft2(crops[0]) * np.conj(np.fft.rfft2(crops[1])), s=crops[0].shape) / crops[0].size
    shifts = [(dy, dx) for dy in range(-MAX_SHIFT, MAX_SHIFT + 1) for dx in range(-MAX_SHIFT, MAX_SHIFT + 1)]
    best = max(shifts, key=lambda shift: correlation[shift])
    threshold = max(SHIFT_EVIDENCE, SHIFT_EVIDENCE_SIGMAS / np.sqrt(crops[0].size))  # noise alone never gets there
    return best if correlation[best] - correlation[0, 0] > threshold else None


def fit_normalization(scenes: list[Scene], mode: str) -> dict[str, Any]:
    """The mapping of pixel values to model units, recorded in the run and the exported model.

    ``dtype``: the sample type's full range (uint16 / 65535), as for photos.
    ``percentile``: the training frames' 0.1-99.9 percentiles map to [0, 1];
    for data using a sliver of its range (12-bit cameras in 16-bit files,
    fluorescence) or float data in arbitrary units.
    """
    if mode not in NORMALIZATIONS:
        raise UserError(f"Unknown normalisation '{mode}': use one of {', '.join(NORMALIZATIONS)}.")
    dtype = scenes[0].frames[0].dtype
    if mode == "dtype":
        if dtype.kind == "f":
            values = np.concatenate([frame.reshape(-1) for scene in scenes for frame in scene.frames])
            if values.min() < -0.5 or values.max() > 1.5:
                raise UserError(f"Float frames range over [{values.min():.3g}, {values.max():.3g}], not [0, 1]: pass --normalize percentile.")
        reference = Normalization.for_dtype(dtype)
        return {"mode": "dtype", "dtype": dtype.name, "offset": reference.offset, "scale": reference.scale}
    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.choice(frame.reshape(-1), min(frame.size, 200_000), replace=False) for scene in scenes for frame in scene.frames])
    low, high = np.percentile(samples.astype(np.float64), PERCENTILES)
    if high <= low:
        raise UserError("The training frames are constant (their 0.1 and 99.9 percentiles are equal): there is nothing to denoise.")
    return {"mode": "percentile", "dtype": dtype.name, "percentiles": list(PERCENTILES), "offset": float(low), "scale": float(high - low)}


def split_scenes(scenes: list[Scene], validation: int) -> tuple[list[Scene], list[Scene]]:
    """Hold out ``validation`` scenes (at most a fifth, at least one), evenly spread over the name order."""
    if len(scenes) < 2:
        raise UserError("Training on your own captures needs at least 2 scenes (one is held out for validation): cut a large capture into tiles.")
    count = max(1, min(validation, len(scenes) // 5))
    held_out = set(np.linspace(len(scenes) - 1, 0, count, endpoint=False).round().astype(int).tolist())
    return [s for i, s in enumerate(scenes) if i not in held_out], [s for i, s in enumerate(scenes) if i in held_out]


class PairedDataset(CropStream):
    """Random same-position crops of two different captures of a random scene.

    Each element picks a scene and an ordered pair of distinct frames (so
    every capture serves as input and as target), crops both at one position
    and applies one flip/rotation to both. ``target='clean'`` (Noise2Clean,
    for comparison) pairs a frame with the scene's clean image instead.
    """

    def __init__(
        self, scenes: list[Scene], normalization: dict[str, Any], target: str = "noisy", crop: int = 256, augment: bool = False, seed: int = 0
    ) -> None:
        if target == "clean" and any(scene.clean is None for scene in scenes):
            missing = [scene.name for scene in scenes if scene.clean is None]
            raise UserError(f"--target clean needs a clean image for every training scene; missing for {', '.join(missing[:5])} (put them in clean/).")
        super().__init__(crop, augment, seed)
        self.target = target
        self.normalization = Normalization.fixed(normalization)
        images, first, counts = [], [], []
        for scene in scenes:
            first.append(len(images))
            counts.append(len(scene.frames))
            images += [pad_to_min_size(frame, crop) for frame in scene.frames]
        self.clean_index = tf.constant([len(images) + i for i in range(len(scenes))], tf.int64)
        if target == "clean":
            images += [pad_to_min_size(scene.clean, crop) for scene in scenes]
        self.channels = images[0].shape[2]
        self._pack(images)
        self._first, self._counts = tf.constant(first, tf.int64), tf.constant(counts, tf.int64)
        self.num_scenes = len(scenes)

    def pair(self, element: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The (input, target) crops of stream element ``element`` (an int64 scalar), in model units."""
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(self.seed, tf.int64), element]), 5)
        scene = tf.random.stateless_uniform([], seeds[0], 0, self.num_scenes, dtype=tf.int64)
        count = self._counts[scene]
        first = tf.random.stateless_uniform([], seeds[1], 0, count, dtype=tf.int64)
        second = tf.random.stateless_uniform([], seeds[2], 0, count - 1, dtype=tf.int64)
        second += tf.cast(second >= first, tf.int64)  # a different frame, in either order
        source = self._first[scene] + first
        target = self.clean_index[scene] if self.target == "clean" else self._first[scene] + second
        both = tf.concat([self._image(source), self._image(target)], axis=-1)
        both = tf.image.stateless_random_crop(both, [self.crop, self.crop, 2 * self.channels], seeds[3])
        if self.augment:
            both = self.augmented(both, seeds[4])
        both = self.normalization.tensor_to_units(both)
        return both[..., : self.channels], both[..., self.channels :]
