"""The denoiser artifact: a network and the spec that says how to use it, saved as one folder.

Every checkpoint of a run (``checkpoints/best/``, ``checkpoints/last/``), every
export and every shipped model is such a folder::

    model.keras      the network (float32, uncompiled; loads with keras.saving.load_model)
    denoiser.json    the spec: format version, architecture, channels, grid and tile
                     margin, normalisation, noise, data source, training config, commit,
                     and what is known about its training and evaluations

The folder is staged and swapped in whole (``atomic.atomic_folder``), so a
reader never meets a network without its spec or a spec of another network.
:meth:`Denoiser.denoise` applies the spec: the normalisation a model was
trained with (a 16-bit percentile-normalised own-data model denoises a 16-bit
TIFF the same way from any of its folders) and its architecture's tile margin.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import keras
import numpy as np

from noise2noise_keras.atomic import atomic_folder, settled
from noise2noise_keras.errors import UserError
from noise2noise_keras.inference import denoise, load_model
from noise2noise_keras.models import ARCHITECTURES, GEOMETRY, Geometry, build_model
from noise2noise_keras.normalization import DTYPE_RANGE, Normalization, check_record

FORMAT = "noise2noise_keras.denoiser/2"
MODEL_FILE, SPEC_FILE = "model.keras", "denoiser.json"
DATA_SOURCES = ("synthetic", "pairs", "single")  # synthetic noise on clean photos; the user's own capture pairs; single noisy images

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DenoiserSpec:
    """What inference needs (the fields) and what is known of the model's making (``record``: train_config, commit, ...)."""

    arch: str
    channels: int
    normalization: dict[str, Any]
    noise: str
    data_source: str
    record: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def geometry(self) -> Geometry:
        return GEOMETRY[self.arch]

    def with_record(self, **entries: Any) -> DenoiserSpec:
        return dataclasses.replace(self, record={**self.record, **entries})

    def to_dict(self) -> dict[str, Any]:
        geometry = self.geometry
        core = {k: v for k, v in dataclasses.asdict(self).items() if k != "record"}
        return {"format": FORMAT, **core, "size_multiple": geometry.size_multiple, "tile_margin": geometry.margin, **self.record}

    @classmethod
    def from_dict(cls, stored: Any, where: Path | str) -> DenoiserSpec:
        """Parse and check a spec; one sentence naming ``where`` when it cannot be used."""
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            found = stored.get("format") if isinstance(stored, dict) else type(stored).__name__
            raise UserError(f"{where} is not a {FORMAT} spec (format {found!r}): re-export the model with this version of noise2noise_keras.")
        missing = [name for name in ("arch", "channels", "normalization", "noise", "data_source") if name not in stored]
        if missing:
            raise UserError(f"{where} lacks {', '.join(missing)}: re-export the model.")
        if stored["arch"] not in ARCHITECTURES or stored["data_source"] not in DATA_SOURCES:
            raise UserError(
                f"{where} names architecture {stored['arch']!r} and data source {stored['data_source']!r}, which this version does not know: upgrade noise2noise_keras."
            )
        check_record(stored["normalization"])
        derived = ("format", "size_multiple", "tile_margin")
        core = {name: stored[name] for name in ("arch", "channels", "normalization", "noise", "data_source")}
        return cls(**core, record={k: v for k, v in stored.items() if k not in core and k not in derived})


@dataclasses.dataclass
class Denoiser:
    """A network with its spec: denoise images, save as a folder, load from one."""

    model: keras.Model
    spec: DenoiserSpec

    def denoise(self, image: np.ndarray, normalization: Normalization | None = None, **options: Any) -> np.ndarray:
        """Denoise ``image`` with the spec's normalisation (or ``normalization``) and tile margin; see :func:`inference.denoise`."""
        normalization = normalization or Normalization.for_image(self.spec.normalization, np.asarray(image).dtype)
        return denoise(image, self.model, normalization=normalization, geometry=self.spec.geometry, **options)

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/model.keras`` + ``folder/denoiser.json`` as one atomic swap; returns ``folder``."""
        folder = Path(folder)
        with atomic_folder(folder) as staging:
            self.write_into(staging)
        return folder

    def write_into(self, folder: Path) -> None:
        """Write the two files into ``folder`` as they are (the caller stages the folder)."""
        self.model.save(folder / MODEL_FILE)
        (folder / SPEC_FILE).write_text(json.dumps(self.spec.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> Denoiser:
        """The denoiser saved in ``folder``, checked against its spec."""
        folder = settled(folder)
        spec_path = folder / SPEC_FILE
        try:
            stored = json.loads(spec_path.read_text())
        except FileNotFoundError:
            raise UserError(f"{folder} has no {SPEC_FILE}: pass a folder written by n2n train or n2n export.") from None
        except ValueError as error:
            raise UserError(f"{spec_path} is not valid JSON ({error}): re-export the model.") from None
        spec = DenoiserSpec.from_dict(stored, spec_path)
        return cls.checked(load_model(folder / MODEL_FILE), spec, spec_path)

    @classmethod
    def checked(cls, model: keras.Model, spec: DenoiserSpec, where: Path | str) -> Denoiser:
        """``model`` with ``spec``, refused when they disagree (a spec copied beside another network)."""
        if spec.channels != model.input_shape[-1]:
            raise UserError(f"{where} describes a {spec.channels}-channel model but its network takes {model.input_shape[-1]} channels: re-export the model.")
        return cls(model, spec)

    @property
    def policy(self) -> str:
        """The dtype policy its layers compute in (the model object itself always reports float32)."""
        return next((layer.dtype_policy.name for layer in self.model.layers if layer.weights), "float32")

    def rebuilt(self, policy: str) -> Denoiser:
        """The same weights in a fresh network built under the Keras dtype ``policy`` (its output layer stays float32)."""
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:
            fresh = build_model(self.spec.arch, channels=self.spec.channels)
        finally:
            keras.config.set_dtype_policy(previous)
        fresh.set_weights(self.model.get_weights())
        return Denoiser(fresh, self.spec)


def spec_for_training(config: Any, channels: int, data_record: dict[str, Any] | None, commit: str) -> DenoiserSpec:
    """The spec of every checkpoint of a run of ``config`` (a TrainConfig) on data with ``channels`` channels.

    ``data_record`` is the run's data.json (own data: its normalisation and scenes), None for synthetic noise.
    """
    record = {"train_config": config.to_dict(), "commit": commit}
    if config.data_source != "synthetic":  # the user's own data: its recorded normalisation and the scenes held out
        scenes = {key: data_record[key] for key in ("train_scenes", "val_scenes")}
        return DenoiserSpec(config.arch, channels, data_record["normalization"], config.data_source, config.data_source, {**record, "scenes": scenes})
    return DenoiserSpec(config.arch, channels, DTYPE_RANGE, config.noise_model.name, "synthetic", record)
