"""``n2n denoise``: denoise files and folders, writing beside them or into a chosen place.

Output naming: with no ``output``, ``photo.jpg`` becomes ``photo_denoised.jpg``
beside it; an ``output`` with an image suffix is the file to write (one input
only); any other ``output`` is an existing folder receiving ``<name>`` for each
input. An input is never overwritten unless ``overwrite`` is set.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.datasets.images import IMAGE_SUFFIXES, list_images
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import read_image, write_image
from noise2noise_keras.inference import Normalization, denoise

log = logging.getLogger(__name__)


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files as given, folders as the images directly inside them."""
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = list_images(item)
            if not found:
                raise UserError(f"Folder {item} contains no image files (.png, .jpg, .tif, ...).")
            files.extend(found)
        elif item.exists():
            files.append(item)
        else:
            raise UserError(f"{item} does not exist.")
    return files


def output_paths(files: list[Path], output: str | Path | None, overwrite: bool) -> list[Path]:
    """Where each input's result goes (see the module docstring)."""
    if output is None:
        targets = [file.with_name(f"{file.stem}_denoised{file.suffix}") for file in files]
    elif Path(output).suffix.lower() in IMAGE_SUFFIXES:
        if len(files) != 1:
            raise UserError(f"{len(files)} inputs cannot all be written to the one file {output}: pass a folder as -o.")
        targets = [Path(output)]
        if not targets[0].parent.is_dir():
            raise UserError(f"Cannot write {output}: the folder {targets[0].parent} does not exist.")
    else:
        if not Path(output).is_dir():
            raise UserError(f"Output folder {output} does not exist: create it or pass an existing folder.")
        targets = [Path(output) / file.name for file in files]
    for file, target in zip(files, targets):
        if target.resolve() == file.resolve() and not overwrite:
            raise UserError(f"Refusing to overwrite the input {file}: choose another -o or pass --overwrite.")
    return targets


def denoise_files(
    inputs: list[str | Path], output: str | Path | None = None, model: str = "gaussian", tile: int | None = None, tta: bool = False, overwrite: bool = False
) -> list[Path]:
    """Denoise every input image; returns the written paths. Nothing is written for an input that fails."""
    files = expand_inputs(inputs)
    targets = output_paths(files, output, overwrite)
    network, description = load_denoiser(model)
    for file, target in tqdm(list(zip(files, targets)), desc="denoising", unit="img", disable=len(files) < 2):
        loaded = read_image(file)
        normalization = Normalization.from_description(description, loaded.pixels.dtype)  # own-data models record theirs
        loaded.pixels = denoise(loaded.pixels, network, tile=tile, tta=tta, progress=True, normalization=normalization, in_place=True)
        write_image(target, loaded.pixels, loaded)
        log.info("%s -> %s", file, target)
    return targets
