"""Finding a denoiser by name or path, and exporting a run's checkpoint as a shareable folder.

Everything resolves to a :class:`~noise2noise_keras.denoiser.Denoiser`: a
shipped model's name (``noise2noise_keras/pretrained/<name>/``), a folder from
``n2n export``, a run directory (its ``checkpoints/best/`` or ``last/``), a
checkpoint folder, or a ``.keras`` file. Folders written by earlier versions
(``checkpoints/best.keras``, exports with ``config.json``) are read with the
spec their run recorded; a ``.keras`` file found outside any run carries no
spec and is read, with a warning, as a model of synthetic noise.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from noise2noise_keras.atomic import atomic_folder
from noise2noise_keras.callbacks import learning_curve, read_metrics
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.denoiser import MODEL_FILE, SPEC_FILE, Denoiser, DenoiserSpec, spec_for_training
from noise2noise_keras.errors import UserError
from noise2noise_keras.exports import FORMATS, export_format
from noise2noise_keras.inference import load_model
from noise2noise_keras.models import ARCHITECTURES
from noise2noise_keras.normalization import DTYPE_RANGE
from noise2noise_keras.warm_start import earlier_stages

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
CHECKPOINTS = ("best", "last")
LEGACY_EXPORT_FORMAT = "noise2noise_keras.model/1"  # model.keras + config.json, before the denoiser spec
_NETWORK_ONLY = "float32 (N, H, W, C) in model units, H and W multiples of size_multiple, in and out; output not clipped; normalization as above"
EXPORTED_IO = {"savedmodel": _NETWORK_ONLY, "onnx": _NETWORK_ONLY, "bioimageio": "bioimage.io model package: rdf.yaml, keras_v3 weights, pixel-unit scaling"}

log = logging.getLogger(__name__)


def pretrained_names() -> list[str]:
    """Names of the models shipped with the package."""
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / SPEC_FILE).is_file()) if PRETRAINED_DIR.is_dir() else []


def load_denoiser(spec: str | Path, precision: str = "float32", checkpoint: str = "best") -> Denoiser:
    """The denoiser named by ``spec`` (see the module docstring), its network built under the Keras dtype policy ``precision``.

    ``checkpoint`` picks ``best`` or ``last`` of a run directory (the other when that one does not exist yet).
    """
    denoiser = find_denoiser(spec, checkpoint)
    return denoiser if denoiser.policy == precision else denoiser.rebuilt(precision)


def find_denoiser(spec: str | Path, checkpoint: str = "best") -> Denoiser:
    """The denoiser named by ``spec``, its network as saved."""
    path = PRETRAINED_DIR / str(spec) if str(spec) in pretrained_names() else Path(spec)
    if path.is_dir() and (path / SPEC_FILE).is_file():
        return Denoiser.load(path)
    if path.is_dir() and (path / "config.json").is_file() and (path / "checkpoints").is_dir():
        return _run_checkpoint(path, checkpoint)
    if path.is_dir() and (path / MODEL_FILE).is_file() and (path / "config.json").is_file():
        return _legacy_export(path)
    if path.is_file() and path.suffix == ".keras":
        return _keras_file(path)
    if path.is_file():
        raise UserError(f"{path} is not a .keras model file: pass a pretrained name, a folder from n2n export, a run directory or a .keras file.")
    if path.is_dir():
        raise UserError(f"{path} is a folder but neither a model folder (model.keras + {SPEC_FILE}) nor a run directory (config.json + checkpoints/).")
    names = ", ".join(pretrained_names()) or "none shipped yet"
    raise UserError(f"No model '{spec}': pass a pretrained name ({names}), a folder from n2n export, a run directory or a .keras file.")


def _run_checkpoint(run_dir: Path, checkpoint: str) -> Denoiser:
    """``checkpoint`` of a run, else its other checkpoint; in either layout (folders, or an earlier version's .keras files)."""
    for name in dict.fromkeys((checkpoint, *CHECKPOINTS)):
        folder = run_dir / "checkpoints" / name
        if (folder / SPEC_FILE).is_file() or (run_dir / "checkpoints" / f".{name}.old").is_dir():
            return Denoiser.load(folder)
        legacy = run_dir / "checkpoints" / f"{name}.keras"
        if legacy.is_file():
            return legacy_checkpoint(run_dir, legacy)
    raise UserError(f"No checkpoint in {run_dir / 'checkpoints'}: train a model there first (n2n train ...).")


def legacy_checkpoint(run_dir: Path, path: Path) -> Denoiser:
    """An earlier version's bare ``checkpoints/<name>.keras`` of ``run_dir``, with the spec the run records."""
    model = load_model(path)
    return Denoiser.checked(model, run_spec(run_dir, int(model.input_shape[-1])), path)


def run_spec(run_dir: Path, channels: int) -> DenoiserSpec:
    """The spec of a run's checkpoints, from what the run directory records (config.json, data.json, environment.json)."""
    config = TrainConfig.load(run_dir / "config.json")
    data = json.loads((run_dir / "data.json").read_text()) if config.data_source != "synthetic" else None
    environment = run_dir / "environment.json"
    commit = json.loads(environment.read_text())["starts"][0].get("git_commit", "") if environment.is_file() else ""
    return spec_for_training(config, channels, data, commit)


def _legacy_export(folder: Path) -> Denoiser:
    """A folder exported by an earlier version: its config.json holds what the spec now holds."""
    config_path = folder / "config.json"
    try:
        description = json.loads(config_path.read_text())
    except ValueError as error:
        raise UserError(f"{config_path} is not valid JSON ({error}): re-create it with n2n export RUN_DIR {folder}.") from None
    if not isinstance(description, dict) or description.get("format") != LEGACY_EXPORT_FORMAT:
        found = description.get("format") if isinstance(description, dict) else type(description).__name__
        raise UserError(f"{config_path} is not a model description (format {found!r}): re-export the model.")
    model = load_model(folder / MODEL_FILE)
    return Denoiser.checked(model, legacy_spec(description), config_path)


def legacy_spec(description: dict[str, Any]) -> DenoiserSpec:
    """The spec equivalent to an earlier version's export description (format ``noise2noise_keras.model/1``)."""
    noise = description.get("noise", "unknown")
    source = "pairs" if noise == "pairs" else "synthetic"
    record = {k: v for k, v in description.items() if k not in ("format", "arch", "channels", "normalization", "noise", "data_range")}
    return DenoiserSpec(description.get("arch", "unet"), int(description["channels"]), description.get("normalization") or DTYPE_RANGE, noise, source, record)


def _keras_file(path: Path) -> Denoiser:
    """A .keras file: inside a checkpoint folder or a run's checkpoints/ it takes that spec; alone, a stated default."""
    if (path.parent / SPEC_FILE).is_file():
        return Denoiser.load(path.parent)
    run_dir = path.parent.parent
    if path.parent.name == "checkpoints" and (run_dir / "config.json").is_file():
        return legacy_checkpoint(run_dir, path)
    model = load_model(path)
    log.warning(
        "warning: %s carries no spec: each image is read over its sample type's full range (right for models of synthetic noise); "
        "for a model trained on your own captures pass its run directory or exported folder instead",
        path,
    )
    arch = model.name if model.name in ARCHITECTURES else "unet"
    return Denoiser(model, DenoiserSpec(arch, int(model.input_shape[-1]), DTYPE_RANGE, "unknown", "synthetic", {"source": str(path)}))


def export_model(run_dir: str | Path, out_dir: str | Path, checkpoint: str = "best", overwrite: bool = False, formats: tuple[str, ...] = ()) -> Path:
    """Write a run's ``checkpoint`` as a denoiser folder ``out_dir`` (float32; with its training record, learning curve and evaluations),
    plus each of ``formats`` (``savedmodel``, ``onnx``, ``bioimageio``: see :mod:`noise2noise_keras.exports`)."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise UserError(f"Unknown export format {unknown[0]!r}: use {', '.join(FORMATS)}.")
    if not (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir} is not a run directory (no config.json): pass the folder n2n train wrote.")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / MODEL_FILE).is_file():
            raise UserError(f"{out_dir} is a folder that holds other files: choose a new or empty folder for the model.")
        if not overwrite:
            raise UserError(f"{out_dir} already holds a model: pass --overwrite to replace it, or choose another folder.")
    trained = _run_checkpoint(run_dir, checkpoint).rebuilt("float32")
    summary_path, environment_path = run_dir / "summary.json", run_dir / "environment.json"
    spec = trained.spec.with_record(
        checkpoint=checkpoint,
        training_summary=json.loads(summary_path.read_text()) if summary_path.is_file() else None,
        evaluations=[json.loads(p.read_text()) for p in sorted(run_dir.glob("eval/*/summary.json"))],
        learning_curve=learning_curve(read_metrics(run_dir / "metrics.csv")),
        training_environment=json.loads(environment_path.read_text())["starts"] if environment_path.is_file() else None,
    )
    initialized_from = earlier_stages(run_dir)
    if initialized_from:
        spec = spec.with_record(initialized_from=initialized_from)
    with atomic_folder(out_dir) as staging:
        written = [export_format(trained.model, staging, name, spec.to_dict()) for name in formats]
        spec = spec.with_record(other_formats={path.name: EXPORTED_IO[name] for name, path in zip(formats, written) if path is not None})
        Denoiser(trained.model, spec).write_into(staging)
    return out_dir
