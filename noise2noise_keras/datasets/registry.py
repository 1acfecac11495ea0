"""Built-in datasets by name, and folders, resolved to lists of image files.

``kodak`` and ``bsds300`` live under a data root in the layout of their
official downloads (``kodak/kodimNN.png``, ``BSDS300/images/{train,test}``);
``sample`` is a handful of colour photographs shipped inside scikit-image, so
the quickstart needs no download at all.
"""

from __future__ import annotations

from pathlib import Path

from noise2noise_keras.datasets.images import list_images
from noise2noise_keras.errors import UserError

SAMPLE_TRAIN = ("astronaut.png", "rocket.jpg", "motorcycle_left.png", "motorcycle_right.png", "coffee.png", "ihc.png", "hubble_deep_field.jpg", "retina.jpg")
SAMPLE_TEST = ("chelsea.png",)

_SPLIT_FOLDERS = {
    ("kodak", "train"): "kodak",
    ("kodak", "test"): "kodak",
    ("bsds300", "train"): "BSDS300/images/train",
    ("bsds300", "test"): "BSDS300/images/test",
}
_EXPECTED_COUNTS = {"kodak": 24, "BSDS300/images/train": 200, "BSDS300/images/test": 100}

BUILTIN_DATASETS = ("sample", "kodak", "bsds300")


def sample_dir() -> Path:
    """Folder of scikit-image's bundled photographs (installed with the package)."""
    import skimage.data

    return Path(skimage.data.__file__).parent


def dataset_files(dataset: str, split: str, data_root: str | Path = "data") -> list[Path]:
    """Image files of ``dataset`` (a built-in name or a folder) for ``split`` ('train' or 'test').

    Kodak has no separate split: both return the 24 images (the paper only
    tests on it). A folder is the same for both splits.
    """
    if dataset == "sample":
        names = SAMPLE_TRAIN if split == "train" else SAMPLE_TEST
        return [sample_dir() / name for name in names]
    key = (dataset.lower(), split)
    if key in _SPLIT_FOLDERS:
        relative = _SPLIT_FOLDERS[key]
        folder = Path(data_root) / relative
        files = list_images(folder) if folder.is_dir() else []
        if len(files) < _EXPECTED_COUNTS[relative]:
            raise UserError(
                f"Dataset '{dataset}' is not in {folder} ({len(files)} of {_EXPECTED_COUNTS[relative]} images): "
                f"run `n2n download {dataset.lower()} --root {data_root}` or pass --data-root where it lives."
            )
        return files
    folder = Path(dataset)
    if not folder.is_dir():
        raise UserError(f"Dataset '{dataset}' is neither a built-in name ({', '.join(BUILTIN_DATASETS)}) nor a folder.")
    files = list_images(folder)
    if not files:
        raise UserError(f"Folder '{dataset}' contains no image files (.png, .jpg, .tif, ...): point at a folder of images.")
    return files
