"""``n2n export --format bioimageio``: a bioimage.io model-zoo package (microscopy tools such as ilastik,
deepImageJ and bioimageio.core run it).

The package holds ``rdf.yaml`` (the bioimage.io model description, validated
by ``bioimageio.spec`` as it is written), the network as ``keras_v3`` weights,
a test input and the output this package computes for it, and a README. The
network is saved with Keras' own LeakyReLU layers (same values; ours differs
only in its gradient), so any Keras 3 loads it without this package. Pre- and
post-processing reproduce our normalisation with ``scale_linear``: pixel values
to model units and back, as ``n2n denoise`` does (8-bit range for models of
synthetic noise, the recorded normalisation for models of your own captures).
Needs the optional extra: ``pip install 'noise2noise-keras[bioimageio]'``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from noise2noise_keras.errors import UserError
from noise2noise_keras.models.leaky_relu import FusableLeakyReLU

CITATION = {"text": "Lehtinen et al., Noise2Noise: Learning Image Restoration without Clean Data, ICML 2018", "doi": "10.48550/arXiv.1803.04189"}


def with_stock_layers(model: keras.Model) -> keras.Model:
    """``model`` rebuilt from Keras' own layers only (loads anywhere); refuses architectures with other custom layers."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, FusableLeakyReLU):
            return keras.layers.LeakyReLU.from_config(layer.get_config())
        if type(layer).__module__.startswith("noise2noise_keras"):
            raise UserError(
                f"The {type(layer).__name__} layer of this architecture is ours, which bioimage.io's Keras runner cannot load: export a unet, hourglass or unet_bn model."
            )
        return layer.__class__.from_config(layer.get_config())

    stock = keras.models.clone_model(model, clone_function=clone)
    stock.set_weights(model.get_weights())
    return stock


def default_test_input(description: dict[str, Any], channels: int) -> np.ndarray:
    """A 128 x 192 crop of the first `sample` photograph in model units, with the model's own test noise where it has one."""
    from noise2noise_keras.datasets.images import read_rgb
    from noise2noise_keras.datasets.noisy import fixed_noise
    from noise2noise_keras.datasets.registry import dataset_files
    from noise2noise_keras.evaluation import TEST_SEED
    from noise2noise_keras.noise import NOISE_KINDS, paper_test_noise

    clean = read_rgb(dataset_files("sample", "test")[0])[:128, :192]
    if channels == 1:
        clean = clean.mean(axis=-1, keepdims=True).round().astype(np.uint8)
    noise = description.get("noise")
    if noise not in NOISE_KINDS:  # the user's own captures: their noise is in their data
        return clean.astype(np.float32) / 255.0
    return np.asarray(fixed_noise([clean], paper_test_noise(noise), TEST_SEED)[0], np.float32)


def pixel_scaling(description: dict[str, Any]) -> tuple[float, float]:
    """``(offset, scale)`` with ``value = offset + scale * unit``: the recorded normalisation of own captures, else 8-bit."""
    recorded = description.get("normalization") or {}
    if "offset" in recorded and "scale" in recorded:
        return float(recorded["offset"]), float(recorded["scale"])
    return 0.0, 255.0


def write_package(model: keras.Model, description: dict[str, Any], folder: Path, test_input: np.ndarray | None = None) -> Path:
    """Write the bioimage.io package of ``model`` into ``folder``; ``test_input`` is (H, W, C) in pixel units
    (default: a noisy crop of a `sample` photograph, with the model's own test noise)."""
    try:
        from bioimageio.spec import ValidationContext, build_description
        from bioimageio.spec.model.v0_5 import ModelDescr
    except ImportError:
        raise UserError("bioimage.io export needs bioimageio.spec: pip install 'noise2noise-keras[bioimageio]'.") from None
    folder.mkdir(parents=True, exist_ok=True)
    stock = with_stock_layers(model)
    stock.save(folder / "model.keras")
    offset, scale = pixel_scaling(description)
    if test_input is None:
        test_input = default_test_input(description, int(model.input_shape[-1])) * scale + offset
    batch = test_input[None].astype(np.float32)
    output = np.asarray(stock.predict_on_batch((batch - offset) / scale), np.float32) * scale + offset
    np.save(folder / "test_input.npy", batch)
    np.save(folder / "test_output.npy", output.astype(np.float32))
    noise = description.get("noise", "unknown")
    (folder / "README.md").write_text(
        f"# Noise2Noise denoiser ({noise})\n\nA U-Net trained with noisy targets only (Lehtinen et al., ICML 2018) by "
        f"noise2noise_keras. Input and output are float32 images in pixel units; sides multiples of 32.\n\n"
        f"Training: `{json.dumps(description.get('train_config'))}`\n"
    )
    rdf = _description(stock, noise, offset, scale, ModelDescr.implemented_format_version)
    with ValidationContext(root=folder, perform_io_checks=True):
        built = build_description(rdf, format_version=ModelDescr.implemented_format_version)
    if not isinstance(built, ModelDescr):
        raise UserError(f"The bioimage.io description does not validate: {built.validation_summary.format()}")
    (folder / "rdf.yaml").write_text(json.dumps(rdf, indent=2) + "\n")  # JSON is YAML
    return folder


def _description(model: keras.Model, noise: str, offset: float, scale: float, format_version: str) -> dict[str, Any]:
    import tensorflow as tf

    channels = int(model.input_shape[-1])
    names = ["r", "g", "b"] if channels == 3 else [f"c{index}" for index in range(channels)]
    space = [{"type": "space", "id": axis, "size": {"min": 32, "step": 32}} for axis in ("y", "x")]
    same = [{"type": "space", "id": axis, "size": {"tensor_id": "noisy", "axis_id": axis}} for axis in ("y", "x")]
    return {
        "format_version": format_version,
        "type": "model",
        "name": f"Noise2Noise {noise} denoiser",
        "description": f"Noise2Noise U-Net for {noise} noise, trained without clean images (noise2noise_keras).",
        "authors": [{"name": "noise2noise_keras"}],
        "cite": [CITATION],
        "license": "MIT",
        "documentation": {"source": "README.md"},
        "tags": ["denoising", "noise2noise", "keras", "2d"],
        "inputs": [{
            "id": "noisy",
            "axes": [{"type": "batch"}, *space, {"type": "channel", "channel_names": names}],
            "test_tensor": {"source": "test_input.npy"},
            "data": {"type": "float32"},
            "preprocessing": [{"id": "scale_linear", "kwargs": {"gain": 1.0 / scale, "offset": -offset / scale}}],
        }],
        "outputs": [{
            "id": "denoised",
            "axes": [{"type": "batch"}, *same, {"type": "channel", "channel_names": names}],
            "test_tensor": {"source": "test_output.npy"},
            "data": {"type": "float32"},
            "postprocessing": [{"id": "scale_linear", "kwargs": {"gain": scale, "offset": offset}}],
        }],
        "weights": {"keras_v3": {"source": "model.keras", "keras_version": keras.__version__, "backend": ["tensorflow", tf.__version__]}},
    }  # fmt: skip
