"""Model artifacts: exporting a run as a shareable folder, and finding a model by name or path.

An exported model folder holds ``model.keras`` (float32, uncompiled: loads
anywhere with ``keras.saving.load_model``) and ``config.json`` (format,
architecture, noise, channels, data range, the normalisation of models
trained on the user's own captures, the training config and summary, any
evaluations of the run, and the environment of every training start: packages,
git commit, seed, precision). Shipped models live in
``noise2noise_keras/pretrained/<name>/`` in the same layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras

from noise2noise_keras.atomic import atomic_path, write_json
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.datasets.pairs import PAIRS
from noise2noise_keras.errors import UserError
from noise2noise_keras.exports import FORMATS, export_format
from noise2noise_keras.inference import load_model
from noise2noise_keras.models import build_model
from noise2noise_keras.noise import parse_noise

FORMAT = "noise2noise_keras.model/1"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
_NETWORK_ONLY = "float32 (N, H, W, C) in model units, H and W multiples of 32, in and out; output not clipped; normalization as above"
EXPORTED_IO = {"savedmodel": _NETWORK_ONLY, "onnx": _NETWORK_ONLY, "bioimageio": "bioimage.io model package: rdf.yaml, keras_v3 weights, pixel-unit scaling"}


def pretrained_names() -> list[str]:
    """Names of the models shipped with the package."""
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "model.keras").is_file()) if PRETRAINED_DIR.is_dir() else []


def export_model(run_dir: str | Path, out_dir: str | Path, checkpoint: str = "best", overwrite: bool = False, formats: tuple[str, ...] = ()) -> Path:
    """Write ``out_dir/model.keras`` + ``out_dir/config.json`` from a training run (an existing export only with ``overwrite``),
    plus each of ``formats`` (``savedmodel``, ``onnx``: see :mod:`noise2noise_keras.exports`)."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise UserError(f"Unknown export format {unknown[0]!r}: use {', '.join(FORMATS)}.")
    if not (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir} is not a run directory (no config.json): pass the folder n2n train wrote.")
    if not overwrite and any((out_dir / name).exists() for name in ("model.keras", "config.json")):
        raise UserError(f"{out_dir} already holds a model: pass --overwrite to replace it, or choose another folder.")
    config = TrainConfig.load(run_dir / "config.json")
    model = rebuilt(load_model(run_dir, checkpoint), config.arch, "float32")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "model.keras") as temporary:
        model.save(temporary)
    summary_path, environment_path = run_dir / "summary.json", run_dir / "environment.json"
    description = {
        "format": FORMAT,
        "arch": config.arch,
        **_run_description(run_dir, config),
        "channels": int(model.input_shape[-1]),
        "checkpoint": checkpoint,
        "train_config": config.to_dict(),
        "training_summary": json.loads(summary_path.read_text()) if summary_path.is_file() else None,
        "evaluations": [json.loads(p.read_text()) for p in sorted(run_dir.glob("eval/*/summary.json"))],
        "training_environment": json.loads(environment_path.read_text())["starts"] if environment_path.is_file() else None,
    }
    written = [export_format(model, out_dir, name, description) for name in formats]
    description["other_formats"] = {path.name: EXPORTED_IO[name] for name, path in zip(formats, written) if path is not None}
    write_json(out_dir / "config.json", description)
    return out_dir


def rebuilt(model: keras.Model, arch: str, policy: str) -> keras.Model:
    """``model``'s weights in a fresh ``arch`` network built under the Keras dtype ``policy`` (its output layer stays float32)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        fresh = build_model(arch, channels=model.input_shape[-1])
    finally:
        keras.config.set_dtype_policy(previous)
    fresh.set_weights(model.get_weights())
    return fresh


def load_denoiser(spec: str | Path, precision: str = "float32") -> tuple[keras.Model, dict[str, Any]]:
    """A model and its description from a pretrained name, an exported folder, a run directory or a .keras file.

    ``precision`` other than float32 (e.g. ``mixed_bfloat16``) rebuilds the network under that policy when its
    architecture is recorded (not for a bare .keras file, which stays float32).
    """
    model, description = _load_any(spec)
    if precision != "float32" and description.get("arch"):
        model = rebuilt(model, description["arch"], precision)
    return model, description


def _load_any(spec: str | Path) -> tuple[keras.Model, dict[str, Any]]:
    path = Path(spec)
    if str(spec) in pretrained_names():
        path = PRETRAINED_DIR / str(spec)
    if path.is_dir() and (path / "model.keras").is_file():
        return _load_exported(path)
    if path.is_dir() and (path / "config.json").is_file() and (path / "checkpoints").is_dir():
        return load_model(path), _run_description(path, TrainConfig.load(path / "config.json"))
    if path.is_file() and path.suffix == ".keras":
        return load_model(path), {}
    if path.is_file():
        raise UserError(f"{path} is not a .keras model file: pass a pretrained name, a folder from n2n export, a run directory or a .keras file.")
    if path.is_dir():
        raise UserError(f"{path} is a folder but neither a model folder (model.keras + config.json) nor a run directory (config.json + checkpoints/).")
    names = ", ".join(pretrained_names()) or "none shipped yet"
    raise UserError(f"No model '{spec}': pass a pretrained name ({names}), a folder from n2n export, a run directory or a .keras file.")


def _run_description(run_dir: Path, config: TrainConfig) -> dict[str, Any]:
    """What inference needs from a run: its architecture, its noise, and how pixel values map to model units."""
    if config.noise == PAIRS:
        data = json.loads((run_dir / "data.json").read_text())
        scenes = {k: data[k] for k in ("train_scenes", "val_scenes")}
        return {"arch": config.arch, "noise": PAIRS, "data_range": [0.0, 1.0], "normalization": data["normalization"], "scenes": scenes}
    return {"arch": config.arch, "noise": parse_noise(config.noise).name, "data_range": [0.0, 1.0]}


def _load_exported(folder: Path) -> tuple[keras.Model, dict[str, Any]]:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise UserError(f"Model folder {folder} has no config.json: re-create it with n2n export RUN_DIR {folder}.")
    try:
        description = json.loads(config_path.read_text())
    except ValueError as error:
        raise UserError(f"{config_path} is not valid JSON ({error}): re-create it with n2n export RUN_DIR {folder}.") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        found = description.get("format") if isinstance(description, dict) else type(description).__name__
        raise UserError(f"{config_path} is not a {FORMAT} description (format {found!r}): re-export the model.")
    model = load_model(folder / "model.keras")
    if description.get("channels") != model.input_shape[-1] or description.get("data_range") != [0.0, 1.0]:
        raise UserError(
            f"{config_path} does not match its model.keras (channels {description.get('channels')} vs {model.input_shape[-1]}, "
            f"data range {description.get('data_range')}): re-export the model."
        )
    return model, description
