"""Corruption models of the Noise2Noise paper, as a registry parsed from spec strings.

Convention: images are float32 tensors of shape (H, W, C) with values in [0, 1].
Every model draws its randomness from a stateless ``seed`` (an int tensor of
shape [2]), so a dataset element's noise depends only on its seed: runs are
deterministic, resumable and identical whatever ``tf.data`` parallelism is used.

Spec strings (parameters in the paper's units)::

    gaussian            sigma ~ U[0, 50] on the 0-255 scale (train); test sigma 25
    gaussian,25         fixed sigma
    gaussian,0,50       sigma ~ U[0, 50]
    poisson             lambda ~ U[0.001, 50]; test lambda 30
    bernoulli           drop probability p ~ U[0, 95] percent; test 50
    text                text coverage p ~ U[0, 50] percent; test 25
    impulse             random-valued impulse probability ~ U[0, 95] percent; test 70
    saltpepper          black/white impulse probability ~ U[0, 10] percent; test 5 (seed 003)
    gaussian,25+saltpepper,5   corruptions applied in turn
    clean               no corruption
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from noise2noise_keras.errors import UserError
from noise2noise_keras.text_overlay import render_one_at_a_time


@dataclasses.dataclass(frozen=True)
class NoiseModel:
    """A corruption with its parameter drawn uniformly from ``[low, high]`` per image.

    ``low``/``high`` are in the spec's units (sigma on 0-255, lambda, or percent);
    ``scale`` converts them to the unit the formula uses.
    """

    name: str
    low: float
    high: float

    unit_scale = 1.0

    @property
    def spec(self) -> str:
        """The canonical spec string, parseable by :func:`parse_noise`."""
        if self.low == self.high:
            return f"{self.name},{self.low:g}"
        return f"{self.name},{self.low:g},{self.high:g}"

    def draw_parameter(self, seed: tf.Tensor) -> tf.Tensor:
        """The per-image parameter, already converted to the formula's unit."""
        u = tf.random.stateless_uniform([], seed, dtype=tf.float32)
        return (self.low + (self.high - self.low) * u) * self.unit_scale

    def corrupt(self, image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Return a noisy copy of ``image`` (float32 (H, W, C) in [0, 1])."""
        raise NotImplementedError


class CleanNoise(NoiseModel):
    """No corruption: the target of Noise2Clean training."""

    def corrupt(self, image, seed):
        return image


class GaussianNoise(NoiseModel):
    """Additive white Gaussian noise; not clipped, as in the paper."""

    unit_scale = 1.0 / 255.0

    def corrupt(self, image, seed):
        param_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        sigma = self.draw_parameter(param_seed)
        return image + sigma * tf.random.stateless_normal(tf.shape(image), noise_seed)


class PoissonNoise(NoiseModel):
    """Shot noise as in the official code: ``Poisson(lam * x) / lam``."""

    def corrupt(self, image, seed):
        param_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        lam = self.draw_parameter(param_seed)
        counts = tf.random.stateless_poisson(tf.shape(image), noise_seed, lam * image, dtype=tf.float32)
        return counts / lam


class BernoulliNoise(NoiseModel):
    """Multiplicative Bernoulli noise: each pixel is dropped (set to 0) with probability p.

    The kept-pixel mask is what the masked L2 loss needs, so
    :meth:`corrupt_with_mask` returns it too.
    """

    unit_scale = 0.01

    def corrupt_with_mask(self, image: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Return ``(noisy, mask)``; ``mask`` is (H, W, 1) float32, 1 where the pixel was kept."""
        param_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        p = self.draw_parameter(param_seed)
        shape = tf.concat([tf.shape(image)[:2], [1]], axis=0)
        mask = tf.cast(tf.random.stateless_uniform(shape, noise_seed) >= p, tf.float32)
        return image * mask, mask

    def corrupt(self, image, seed):
        return self.corrupt_with_mask(image, seed)[0]


class ImpulseNoise(NoiseModel):
    """Random-valued impulse noise: a pixel becomes a uniform random colour with probability p."""

    unit_scale = 0.01

    def corrupt(self, image, seed):
        param_seed, mask_seed, colour_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        p = self.draw_parameter(param_seed)
        shape = tf.shape(image)
        replaced = tf.random.stateless_uniform(tf.concat([shape[:2], [1]], 0), mask_seed) < p
        colours = tf.random.stateless_uniform(shape, colour_seed)
        return tf.where(replaced, colours, image)


class SaltPepperNoise(NoiseModel):
    """Salt-and-pepper (seed 003): a pixel becomes black or white, equally likely, with probability p.

    Not zero-mean, so Noise2Noise needs a median-seeking loss (L1) for it.
    """

    unit_scale = 0.01

    def corrupt(self, image, seed):
        param_seed, mask_seed, value_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        p = self.draw_parameter(param_seed)
        shape = tf.concat([tf.shape(image)[:2], [1]], 0)
        replaced = tf.random.stateless_uniform(shape, mask_seed) < p
        white = tf.cast(tf.random.stateless_uniform(shape, value_seed) < 0.5, image.dtype)
        return tf.where(replaced, white, image)


@dataclasses.dataclass(frozen=True)
class CompositeNoise(NoiseModel):
    """Corruptions applied one after the other, e.g. ``gaussian,25+saltpepper,5`` (seed 003's corruption)."""

    parts: tuple[NoiseModel, ...] = ()

    @property
    def spec(self) -> str:
        return "+".join(part.spec for part in self.parts)

    def corrupt(self, image, seed):
        for part, part_seed in zip(self.parts, tf.unstack(tf.random.experimental.stateless_split(seed, len(self.parts)))):
            image = part.corrupt(image, part_seed)
        return image


class TextNoise(NoiseModel):
    """Random strings in random colours, sizes and positions until a fraction p is covered.

    Glyphs come from Pillow's built-in scalable font (no download), rendered
    once per size into an atlas and composed inside a ``tf.numpy_function``
    (see :mod:`noise2noise_keras.text_overlay`); they are drawn without
    anti-aliasing so every pixel is either the image or the text colour,
    which makes the coverage exact.
    """

    unit_scale = 0.01

    def corrupt(self, image, seed):
        param_seed, text_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        p = self.draw_parameter(param_seed)
        shape = tf.shape(image)
        colours, mask = tf.numpy_function(render_one_at_a_time, [shape[0], shape[1], shape[2], p, text_seed], [tf.float32, tf.bool], stateful=False)
        colours = tf.ensure_shape(colours, image.shape)
        mask = tf.ensure_shape(mask, image.shape[:2] + (1,))
        return tf.where(mask, colours, image)


@dataclasses.dataclass(frozen=True)
class NoiseKind:
    """A registry entry: the model class and the paper's train/test parameters."""

    model: type[NoiseModel]
    train_range: tuple[float, float]
    test_value: float
    default_loss: str


NOISE_KINDS: dict[str, NoiseKind] = {
    "gaussian": NoiseKind(GaussianNoise, (0.0, 50.0), 25.0, "l2"),
    "poisson": NoiseKind(PoissonNoise, (0.001, 50.0), 30.0, "l2"),
    "bernoulli": NoiseKind(BernoulliNoise, (0.0, 95.0), 50.0, "masked_l2"),
    "text": NoiseKind(TextNoise, (0.0, 50.0), 25.0, "l1"),
    "impulse": NoiseKind(ImpulseNoise, (0.0, 95.0), 70.0, "l0"),
    "saltpepper": NoiseKind(SaltPepperNoise, (0.0, 10.0), 5.0, "l1"),  # not in the paper: seed 003's corruption
    "clean": NoiseKind(CleanNoise, (0.0, 0.0), 0.0, "l2"),
}

_PERCENT_KINDS = {"bernoulli", "text", "impulse", "saltpepper"}


def parse_noise(spec: str) -> NoiseModel:
    """Parse ``name``, ``name,value`` or ``name,low,high`` (or several joined by ``+``) into a noise model.

    Raises :class:`UserError` with the valid names for anything else.
    """
    if "+" in str(spec):
        pieces = str(spec).split("+")
        if any(not piece.strip() for piece in pieces):
            raise UserError(f"Noise spec '{spec}' has an empty part: join complete specs with '+', e.g. gaussian,25+saltpepper,5.")
        parts = tuple(parse_noise(piece) for piece in pieces)
        return CompositeNoise("+".join(part.name for part in parts), 0.0, 0.0, parts)
    parts = [part.strip() for part in str(spec).split(",")]
    name = parts[0].lower()
    valid = ", ".join(NOISE_KINDS)
    if not name:
        raise UserError(f"Noise spec '{spec}' is empty: use one of {valid}, optionally with parameters such as gaussian,25 or gaussian,0,50.")
    if name not in NOISE_KINDS:
        raise UserError(f"Unknown noise '{spec}': use one of {valid}, optionally with parameters such as gaussian,25 or gaussian,0,50.")
    kind = NOISE_KINDS[name]
    if name == "clean" and len(parts) > 1:
        raise UserError(f"Noise spec '{spec}' is invalid: 'clean' takes no parameters.")
    if len(parts) > 3:
        raise UserError(f"Noise spec '{spec}' has too many parts: write {name}, {name},VALUE or {name},LOW,HIGH.")
    try:
        values = [float(part) for part in parts[1:]]
    except ValueError:
        raise UserError(f"Noise spec '{spec}' has a non-numeric parameter: write {name}, {name},VALUE or {name},LOW,HIGH.") from None
    low, high = kind.train_range if not values else (values[0], values[-1])
    if not (np.isfinite(low) and np.isfinite(high)) or low > high or low < 0:
        raise UserError(f"Noise spec '{spec}' needs 0 <= LOW <= HIGH.")
    if name in _PERCENT_KINDS and high >= 100:
        raise UserError(f"Noise spec '{spec}' is a percentage below 100: at 100 % no pixel of the image survives, so there is nothing to learn.")
    if name == "poisson" and low <= 0:
        raise UserError(f"Noise spec '{spec}' needs lambda > 0 (larger lambda means less noise).")
    return kind.model(name, low, high)


def paper_test_noise(spec: str | NoiseModel) -> NoiseModel:
    """The paper's fixed test corruption for the kind of noise named by ``spec`` (each part's, for combinations)."""
    noise = spec if isinstance(spec, NoiseModel) else parse_noise(spec)
    if isinstance(noise, CompositeNoise):
        return parse_noise("+".join(paper_test_noise(part).spec for part in noise.parts))
    kind = noise.name
    if kind == "clean":
        return parse_noise("clean")
    return parse_noise(f"{kind},{NOISE_KINDS[kind].test_value:g}")


def default_loss_for(spec: str | NoiseModel) -> str:
    """The paper's loss for a noise kind: L2, masked L2 (Bernoulli), L1 (text), annealed L0 (impulse).

    A combination gets L2 only if every part is zero-mean, else L1 (the median survives outliers).
    """
    noise = spec if isinstance(spec, NoiseModel) else parse_noise(spec)
    if isinstance(noise, CompositeNoise):
        return "l2" if all(default_loss_for(part) == "l2" for part in noise.parts) else "l1"
    return NOISE_KINDS[noise.name].default_loss
