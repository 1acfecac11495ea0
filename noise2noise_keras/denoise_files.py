"""``n2n denoise``: denoise files and folders, writing beside them or into a chosen place.

Output naming: with no ``output``, ``photo.jpg`` becomes ``photo_denoised.jpg``
beside it; an ``output`` with an image suffix is the file to write (one input
only); any other ``output`` is an existing folder receiving ``<name>`` for each
input.

Nothing is lost: every target is checked before any work starts, and a run is
refused when a target is an input of the run, when two inputs would share a
target, or (without ``overwrite``) when a target already exists. Folders
denoised beside themselves skip their earlier outputs (``X_denoised.png`` next
to ``X.png``), so a rerun does not denoise its own results. A file that fails
(unreadable, wrong channels, unwritable) does not stop the batch: the others
are written and the failures are reported together.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import tensorflow as tf
from tqdm import tqdm

from noise2noise_keras.artifacts import load_denoiser
from noise2noise_keras.datasets.images import IMAGE_SUFFIXES, list_images
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import read_image, write_image
from noise2noise_keras.precision import inference_precision

log = logging.getLogger(__name__)

OUTPUT_SUFFIX = "_denoised"


@dataclasses.dataclass
class DenoiseReport:
    """What a batch did: the files written and, for each input that failed, one sentence saying why."""

    written: list[Path] = dataclasses.field(default_factory=list)
    failed: list[tuple[Path, str]] = dataclasses.field(default_factory=list)


def earlier_outputs(files: list[Path]) -> set[Path]:
    """Files of a folder that are this command's outputs for another file there (``X_denoised.png`` beside ``X.*``)."""
    stems = {(file.parent, file.stem) for file in files}
    return {file for file in files if file.stem.endswith(OUTPUT_SUFFIX) and (file.parent, file.stem.removesuffix(OUTPUT_SUFFIX)) in stems}


def expand_inputs(inputs: list[str | Path], skip_earlier_outputs: bool = False) -> list[Path]:
    """Files as given, folders as the images directly inside them; each file once.

    With ``skip_earlier_outputs`` a folder's earlier results (see :func:`earlier_outputs`)
    are left out; files named explicitly are always kept.
    """
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = list_images(item)
            if not found:
                raise UserError(f"Folder {item} contains no image files (.png, .jpg, .tif, ...).")
            skipped = earlier_outputs(found) if skip_earlier_outputs else set()
            if skipped:
                log.info(
                    "skipping %d earlier output(s) in %s (%s): name them explicitly to denoise them",
                    len(skipped),
                    item,
                    ", ".join(sorted(p.name for p in skipped)),
                )
            files.extend(file for file in found if file not in skipped)
        elif item.exists():
            files.append(item)
        else:
            raise UserError(f"{item} does not exist.")
    unique = {file.resolve(): file for file in reversed(files)}  # the first mention of each file wins
    return [file for file in files if unique[file.resolve()] is file]


def output_paths(files: list[Path], output: str | Path | None, overwrite: bool) -> list[Path]:
    """Where each input's result goes (see the module docstring), refusing every target that would lose a file."""
    if output is None:
        targets = [file.with_name(f"{file.stem}{OUTPUT_SUFFIX}{file.suffix}") for file in files]
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
    inputs = {file.resolve(): file for file in files}
    claimed: dict[Path, Path] = {}
    for file, target in zip(files, targets):
        resolved = target.resolve()
        if resolved in claimed:
            raise UserError(f"Inputs {claimed[resolved]} and {file} would both be written to {target}: denoise them into different folders.")
        claimed[resolved] = file
        if resolved == file.resolve():
            if not overwrite:
                raise UserError(f"Refusing to overwrite the input {file}: choose another -o or pass --overwrite.")
        elif resolved in inputs:
            raise UserError(f"Refusing to write {target}: it is also an input of this run ({inputs[resolved]}); choose another -o.")
    existing = [target for file, target in zip(files, targets) if target.exists() and target.resolve() != file.resolve()]
    if existing and not overwrite:
        named = ", ".join(map(str, existing[:3])) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        raise UserError(f"{len(existing)} output(s) already exist ({named}): pass --overwrite to replace them, or choose another -o.")
    return targets


def denoise_files(
    inputs: list[str | Path],
    output: str | Path | None = None,
    model: str = "gaussian",
    tile: int | None = None,
    tta: bool = False,
    overwrite: bool = False,
    precision: str = "auto",
) -> DenoiseReport:
    """Denoise every input image; a failing input is reported in the result, never written, and does not stop the others.

    ``precision`` ``auto`` runs bf16 on CPUs with native bf16 (see :func:`precision.inference_precision`)."""
    files = expand_inputs(inputs, skip_earlier_outputs=output is None)
    targets = output_paths(files, output, overwrite)
    denoiser = load_denoiser(model, inference_precision(precision))
    report = DenoiseReport()
    for file, target in tqdm(list(zip(files, targets)), desc="denoising", unit="img", disable=len(files) < 2):
        try:
            loaded = read_image(file)
            # with its recorded normalisation; a count of non-finite values is logged under the file's name
            loaded.pixels = denoiser.denoise(loaded.pixels, tile=tile, tta=tta, progress=True, in_place=True, label=str(file))
            write_image(target, loaded.pixels, loaded)
        except (UserError, MemoryError, tf.errors.ResourceExhaustedError) as error:
            reason = str(error) if isinstance(error, UserError) else f"{file} does not fit in memory: pass --tile 512 (or smaller) to denoise it in tiles."
            report.failed.append((file, reason))  # listed together at the end by the caller
            continue
        report.written.append(target)
        log.info("%s -> %s", file, target)
    return report
