"""``TrainConfig``: every setting of a training run, validated on construction.

Configuration flows one way: preset -> command-line overrides -> this frozen
object -> the functions that need it. The resolved config is written to the
run directory as ``config.json``; re-running on that directory resumes only if
the config matches.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Any

from noise2noise_keras.atomic import write_json
from noise2noise_keras.datasets.noisy import TARGETS
from noise2noise_keras.datasets.pairs import NORMALIZATIONS, PAIRS
from noise2noise_keras.datasets.single import SINGLE
from noise2noise_keras.errors import UserError
from noise2noise_keras.losses import LOSSES
from noise2noise_keras.models import ARCHITECTURES
from noise2noise_keras.noise import NoiseModel, default_loss_for, paper_test_noise, parse_noise

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run. Field names match the command-line options."""

    noise: str = "gaussian"
    dataset: str = "bsds300"
    target: str = "noisy"
    loss: str = ""
    arch: str = "unet"
    preset: str = "paper"
    epochs: int = 300
    steps_per_epoch: int = 1000
    batch_size: int = 4
    crop: int = 256
    learning_rate: float = 3e-4
    beta_1: float = 0.9
    beta_2: float = 0.99
    epsilon: float = 1e-8
    clip_norm: float = 0.0  # clip the global gradient norm to this (0: off, as the paper); see --clip-norm
    rampdown_fraction: float = 0.3
    anneal_fraction: float = 1.0  # the L0 loss (impulse): its exponent falls from anneal_start towards 0 over this fraction of training (the paper: 1)
    anneal_start: float = 2.0  # the L0 exponent at the first step (the paper: 2, L2); lower starts a second stage nearer where the first ended
    augment: bool = False
    seed: int = 0
    val_dataset: str = ""
    val_noise: str = ""
    val_images: int = 8
    data_root: str = "data"
    precision: str = "auto"
    normalize: str = "percentile"  # own captures (noise 'pairs') only: see datasets.pairs.fit_normalization
    alignment_check: bool = True  # own captures only: refuse pairs that look shifted
    minutes: float = 0.0  # a training time budget: epochs are set from a timing of this machine (0: off; see budget.py)
    init_from: str = ""  # a model (shipped name, folder, run directory) whose weights this run starts from: training in stages (warm_start.py)
    # synthetic noise on clean photos; "pairs": the user's own capture pairs (noise "pairs"); "single": single noisy images (noise "single")
    data_source: str = "synthetic"

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        own = next((source for source in (PAIRS, SINGLE) if source in (self.noise, self.data_source)), None)
        if own:  # the user's own captures: their noise is in the data, validation is held-out scenes
            set_("data_source", own)
            set_("noise", own)
            set_("loss", self.loss or "l2")
            set_("val_dataset", self.dataset)
            set_("val_noise", own)
            if own == PAIRS and self.target == SINGLE:
                raise UserError("Capture pairs train with --target noisy (or clean); for Neighbor2Neighbor on single images use --single PATH.")
            if own == SINGLE:
                if self.target not in ("noisy", SINGLE):
                    raise UserError(f"Single noisy images train with --target single (Neighbor2Neighbor), not --target {self.target}.")
                set_("target", SINGLE)
        else:
            if self.data_source != "synthetic":
                raise UserError(f"Unknown data source '{self.data_source}': use synthetic, pairs or single.")
            noise = self.noise_model
            set_("noise", noise.spec if self.noise != noise.name else noise.name)
            paper_loss = default_loss_for(noise)
            if self.target == SINGLE and paper_loss != "l2":
                raise UserError(
                    f"Neighbor2Neighbor (--target single) assumes zero-mean noise such as gaussian or poisson; {noise.spec} "
                    f"needs the {paper_loss} loss with --target noisy."
                )
            set_("loss", self.loss or paper_loss)
            set_("val_dataset", self.val_dataset or self.dataset)
            set_("val_noise", parse_noise(self.val_noise).spec if self.val_noise else paper_test_noise(noise).spec)
        if self.target == SINGLE and self.loss != "l2":
            raise UserError(f"Neighbor2Neighbor trains with its own regularised L2 loss: drop --loss {self.loss}.")
        if self.normalize not in NORMALIZATIONS:
            raise UserError(f"Unknown normalisation '{self.normalize}': use one of {', '.join(NORMALIZATIONS)}.")
        if self.target not in TARGETS:
            raise UserError(f"Unknown target '{self.target}': use one of {', '.join(TARGETS)}.")
        if self.loss not in LOSSES:
            raise UserError(f"Unknown loss '{self.loss}': use one of {', '.join(LOSSES)}.")
        if self.arch not in ARCHITECTURES:
            raise UserError(f"Unknown architecture '{self.arch}': use one of {', '.join(ARCHITECTURES)}.")
        if self.precision not in PRECISIONS:
            raise UserError(f"Unknown precision '{self.precision}': use one of {', '.join(PRECISIONS)}.")
        if not 0.0 <= self.minutes < math.inf:
            raise UserError(f"--minutes {self.minutes} must be 0 (off: train the given epochs) or a positive number.")
        if not 0 <= self.seed < 2**32:
            raise UserError(f"--seed {self.seed} must be between 0 and 2**32 - 1.")
        for name in ("epochs", "steps_per_epoch", "batch_size", "val_images"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1.")
        if self.crop < 32 or self.crop % 32:
            raise UserError(f"--crop {self.crop} must be a positive multiple of 32 (the U-Net pools 5 times).")
        # Written as "not (valid)" so that NaN, which fails every comparison, is refused too.
        if not 0.0 <= self.rampdown_fraction <= 1.0:
            raise UserError(f"--rampdown-fraction {self.rampdown_fraction} must be between 0 and 1.")
        if not 1.0 <= self.anneal_fraction < math.inf:  # below 1 the rest of training would learn nothing: at exponent 0 the gradient vanishes
            raise UserError(
                f"--anneal-fraction {self.anneal_fraction} must be at least 1 (1: the L0 exponent reaches 0 at the last step; 2: it ends halfway, at 1 from the default start)."
            )
        if not 0.0 < self.anneal_start <= 2.0:
            raise UserError(f"--anneal-start {self.anneal_start} must be above 0 and at most 2 (2: the paper's L2 start; 1: L1-like).")
        if not 0.0 < self.learning_rate < math.inf:
            raise UserError(f"--learning-rate {self.learning_rate} must be a positive number.")
        if not 0.0 <= self.clip_norm < math.inf:
            raise UserError(f"--clip-norm {self.clip_norm} must be 0 (off) or a positive number.")
        if not (0.0 <= self.beta_1 < 1.0 and 0.0 <= self.beta_2 < 1.0 and 0.0 < self.epsilon < math.inf):
            raise UserError(f"Adam needs 0 <= beta_1, beta_2 < 1 and epsilon > 0 (got {self.beta_1}, {self.beta_2}, {self.epsilon}).")

    @functools.cached_property
    def noise_model(self) -> NoiseModel:
        """The training noise, parsed once (synthetic data only)."""
        return parse_noise(self.noise)

    @functools.cached_property
    def val_noise_model(self) -> NoiseModel:
        """The validation noise, parsed once (synthetic data only)."""
        return parse_noise(self.val_noise)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def anneal_steps(self) -> int:
        """Steps over which the L0 exponent falls from ``anneal_start`` to 0 (``anneal_fraction`` of training)."""
        return round(self.anneal_fraction * self.total_steps)  # at least total_steps: the fraction is at least 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> TrainConfig:
        """A recorded config: fields added since it was written take their defaults, fields since removed are dropped."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known})

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (ValueError, TypeError, AttributeError) as error:  # not JSON, not an object, or fields of the wrong type
            raise UserError(
                f"{path} is not a valid training config ({type(error).__name__}: {str(error)[:120]}): restore it, or start a new --run-dir."
            ) from None


# Presets: named bundles of defaults; explicit command-line options override them.
PRESETS: dict[str, dict[str, Any]] = {
    # The paper / official code: 300k iterations of batch 4 x 256^2, Adam 3e-4 (0.9, 0.99, 1e-8),
    # cosine^2 learning-rate ramp-down over the last 30% (ramp_down_perc=0.3 in the official config).
    "paper": dict(epochs=300, steps_per_epoch=1000, batch_size=4, crop=256, learning_rate=3e-4, rampdown_fraction=0.3, augment=False),
    # Five minutes of training on any CPU (a time budget: as many 50-step epochs as this machine fits; --epochs N
    # trains N epochs instead). Batch, crop and learning rate were chosen by equal-time measurements (benchmarks/results/quality_per_minute.md).
    "quick": dict(minutes=5.0, epochs=14, steps_per_epoch=50, batch_size=12, crop=96, learning_rate=1e-3, rampdown_fraction=0.5, augment=True, val_images=2),
    # The shipped models' recipe: `quick`'s batch, crop, learning rate, ramp-down and flips (which beat `paper` at equal
    # CPU time at 5, 20 and 60 minutes: benchmarks/results/quality_per_minute.md) for 30k steps, 4 validation images,
    # and the global gradient norm clipped to 1 (+0.25 dB at equal time on Bernoulli, and what keeps Poisson and
    # Bernoulli at lr 1e-3 from diverging: benchmarks/results/recipes_bernoulli.md, docs/shipped-models.md).
    "cpu": dict(epochs=100, steps_per_epoch=300, batch_size=12, crop=96, learning_rate=1e-3, rampdown_fraction=0.5, augment=True, val_images=4, clip_norm=1.0),
    # Seed 000's setup: its hourglass on 32 x 32 patches, Adam at lr 0.002, batches of 1000 (MSE: the Gaussian default loss).
    "seed000": dict(arch="hourglass", epochs=10, steps_per_epoch=50, batch_size=1000, crop=32, learning_rate=2e-3, rampdown_fraction=0.0),
    # Seed 001's best setting: its BatchNorm U-Net on 32 x 32 patches, batch 32, lr 1e-3, flips (MSE: the Gaussian default); 10 epochs (its 10-minute limit).
    # Its other augmentation, swapping source and target, is what our Noise2Noise streams do already: both are independent draws.
    "seed001": dict(arch="unet_bn", epochs=10, steps_per_epoch=100, batch_size=32, crop=32, learning_rate=1e-3, rampdown_fraction=0.0, augment=True),
}


def make_config(preset: str = "paper", **overrides: Any) -> TrainConfig:
    """A config from ``preset`` with ``overrides`` (``None`` values are ignored)."""
    if preset not in PRESETS:
        raise UserError(f"Unknown preset '{preset}': use one of {', '.join(PRESETS)}.")
    given = {k: v for k, v in overrides.items() if v is not None}
    values = {**PRESETS[preset], **given}
    if "epochs" in given and "minutes" not in given:
        values["minutes"] = 0.0  # an explicit epoch count replaces the preset's time budget
    return TrainConfig(preset=preset, **values)
