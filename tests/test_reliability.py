"""Hostile cases a new user meets: colliding outputs, bad files in a batch, NaN pixels, tiny images, full disks,
foreign model files, multi-frame and signed images, degenerate settings. Each is a class of failure
(docs/reliability.md): the user gets one sentence, a non-zero exit status, and loses no file.

The full-disk and read-only cases use real tmpfs mounts (the tests run as root in CI); elsewhere they skip.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tifffile
from PIL import Image

import noise2noise_keras  # noqa: F401
from noise2noise_keras.atomic import cannot_write, storage_error
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.datasets.download import download_kodak
from noise2noise_keras.datasets.images import UnreadableImage, read_rgb
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import read_image
from noise2noise_keras.inference import denoise
from noise2noise_keras.models import build_model
from tests.conftest import REPO

TINY_TRAINING = ["--epochs", "3", "--steps", "40", "--batch-size", "4", "--crop", "64", "--val-images", "1", "--precision", "float32"]


def n2n(*args, cwd=None, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "noise2noise_keras", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def assert_one_sentence_error(result, *expected):
    assert result.returncode == 2, result.stderr
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error:") and "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """An untrained U-Net saved as a bare .keras file: fast, and enough to exercise every file path."""
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "unet.keras"
    build_model("unet").save(path)
    return path


def photo(path, size=(40, 56), seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def write_pages(path, pages):
    with tifffile.TiffWriter(path) as tiff:
        for page in range(pages):
            tiff.write(np.full((16, 16), page, np.uint16))


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}


# 1. Nothing an input or another output holds is overwritten without --overwrite.
def test_outputs_never_replace_inputs_or_each_other(model_file, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(folder / "photo.png")
    photo(folder / "photo_denoised.png", seed=1)  # an earlier result, or a user's own file of that name
    before = snapshot(folder)
    assert_one_sentence_error(n2n("denoise", folder, "--model", model_file), "already exist", "photo_denoised.png", "--overwrite")
    assert snapshot(folder) == before

    rerun = n2n("denoise", folder, "--model", model_file, "--overwrite")
    assert rerun.returncode == 0, rerun.stderr
    assert "denoised 1 image(s)" in rerun.stdout and "skipping 1 earlier output" in rerun.stderr
    assert sorted(snapshot(folder)) == ["photo.png", "photo_denoised.png"]  # no photo_denoised_denoised.png
    assert snapshot(folder)["photo.png"] == before["photo.png"]

    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    for directory in (a, b, out):
        directory.mkdir()
    photo(a / "x.png"), photo(b / "x.png", seed=2)
    assert_one_sentence_error(n2n("denoise", a / "x.png", b / "x.png", "-o", out, "--model", model_file), "would both be written to")
    assert not list(out.iterdir())
    # The output folder is an input folder: the targets are the inputs themselves.
    assert_one_sentence_error(n2n("denoise", a, "-o", a, "--model", model_file), "Refusing to overwrite the input")
    # The same file named twice (directly and through its folder) is denoised once.
    twice = n2n("denoise", a / "x.png", a, "-o", out, "--model", model_file)
    assert twice.returncode == 0 and "denoised 1 image(s)" in twice.stdout, twice.stderr


def test_an_output_that_is_another_input_is_refused(model_file, tmp_path):
    photo(tmp_path / "x.png"), photo(tmp_path / "x_denoised.png", seed=1)
    before = snapshot(tmp_path)
    result = n2n("denoise", tmp_path / "x.png", tmp_path / "x_denoised.png", "--model", model_file, "--overwrite")
    assert_one_sentence_error(result, "it is also an input of this run")
    assert snapshot(tmp_path) == before


# 2. A batch writes every good file and lists every bad one.
def test_a_batch_goes_past_bad_files_and_lists_them(model_file, tmp_path):
    folder, out = tmp_path / "mixed", tmp_path / "out"
    folder.mkdir(), out.mkdir()
    photo(folder / "a.png"), photo(folder / "c.jpg"), photo(folder / "e.png")
    (folder / "b.png").write_bytes(b"\x89PNG truncated")
    write_pages(folder / "d.tif", 3)
    result = n2n("denoise", folder, "-o", out, "--model", model_file)
    assert_one_sentence_error(result, "2 of 5 image(s) failed", "b.png", "d.tif", "holds 3 pages")
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.jpg", "e.png"]
    assert sum(line.startswith("failed:") for line in result.stderr.splitlines()) == 2


# 3. Non-finite pixels are missing values: filled for the network, kept in place, never spread.
def test_nan_and_inf_pixels_stay_where_they_were_and_nowhere_else(model_file, tmp_path):
    rng = np.random.default_rng(0)
    image = rng.random((64, 96, 3), dtype=np.float32)
    image[20:30, 40:50] = np.nan
    image[0, 0, 1], image[63, 95, 2] = np.inf, -np.inf
    tifffile.imwrite(tmp_path / "masked.tif", image)
    result = n2n("denoise", tmp_path / "masked.tif", "--model", model_file)
    assert result.returncode == 0, result.stderr
    assert "302 non-finite value(s) treated as missing" in result.stderr
    denoised = read_image(tmp_path / "masked_denoised.tif").pixels
    assert np.array_equal(np.isnan(denoised), np.isnan(image))
    assert denoised[0, 0, 1] == np.inf and denoised[63, 95, 2] == -np.inf
    assert np.isfinite(denoised).sum() == image.size - 302

    model = keras.saving.load_model(model_file)
    known = np.isfinite(image)
    whole, tiled = denoise(image, model), denoise(image, model, tile=32)
    assert np.array_equal(np.isnan(tiled), np.isnan(image))
    np.testing.assert_allclose(tiled[known], whole[known], atol=1e-5)  # every tile fills alike
    filled = np.where(known, image, np.nanmean(np.where(known, image, np.nan), axis=(0, 1)))
    np.testing.assert_allclose(whole[known], denoise(filled, model)[known], atol=1e-5)  # missing = the channel's mean
    with pytest.raises(UserError, match="Every value of the image is NaN"):
        denoise(np.full((8, 8, 3), np.nan, np.float32), model)


# 4. Images too small for SSIM are named and skipped before any work, in evaluation and training alike.
def test_tiny_images_are_skipped_by_name_before_scoring(model_file, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    photo(folder / "normal.png", size=(48, 48))
    photo(folder / "tiny.png", size=(8, 40))
    result = n2n("evaluate", model_file, "--dataset", folder, "--noise", "gaussian,25", "--out", tmp_path / "report")
    assert result.returncode == 0, result.stderr
    assert "tiny.png" in result.stderr and "over 1 images" in result.stdout

    only_tiny = tmp_path / "only_tiny"
    only_tiny.mkdir()
    photo(only_tiny / "tiny.png", size=(10, 10))
    started = time.perf_counter()
    training = n2n("train", "gaussian", folder, "--val-dataset", only_tiny, "--run-dir", tmp_path / "run", *TINY_TRAINING)
    assert_one_sentence_error(training, "at least 11 px on a side")
    assert time.perf_counter() - started < 60 and not (tmp_path / "run").exists()  # refused before a run directory exists


@contextlib.contextmanager
def tmpfs(path, size, *options):
    """A real small file system (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder):
    """Write one file until the file system is full (unbuffered, so closing it cannot fail)."""
    descriptor = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for block in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * block)
    finally:
        os.close(descriptor)


# 5. A full disk stops training with one sentence, keeps the earlier checkpoints, and the rerun resumes.
@pytest.mark.slow
def test_full_disk_during_training_loses_nothing_and_the_rerun_resumes(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(3):
        photo(photos / f"p{seed}.png", size=(96, 96), seed=seed)
    with tmpfs(tmp_path / "disk", "200M") as disk:
        run = disk / "run"
        command = [sys.executable, "-m", "noise2noise_keras", "train", "gaussian", str(photos), "--run-dir", str(run), *TINY_TRAINING]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.time() + 300
        while not (run / "checkpoints" / "last" / "model.keras").exists() and process.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        fill(disk)  # epoch 2's writes now meet a full disk
        _, stderr = process.communicate(timeout=600)
        result = subprocess.CompletedProcess(command, process.returncode, "", stderr)
        assert_one_sentence_error(result, "no space left on the device", "run the same command again to resume")
        leftovers = [p.name for p in run.rglob("*") if "partial" in p.name or p.name.endswith((".tmp", ".old"))]
        assert not leftovers, leftovers
        assert keras.saving.load_model(run / "checkpoints" / "last" / "model.keras").count_params() == 991_203  # epoch 1 intact

        (disk / "filler").unlink()
        rerun = n2n("train", "gaussian", photos, "--run-dir", run, *TINY_TRAINING)
        assert rerun.returncode == 0, rerun.stderr
        epochs = [line.split(",")[0] for line in (run / "metrics.csv").read_text().splitlines()[1:]]
        assert epochs == ["1", "2", "3"]


def test_tensorflows_own_writers_on_a_full_or_read_only_disk_give_the_same_sentence(tmp_path):
    """TensorBoard's event writer fails as a tf.errors.OpError with the system's text, not as OSError: same sentence."""
    import tensorflow as tf

    with tmpfs(tmp_path / "tiny", "16k") as tiny, tmpfs(tmp_path / "readonly", "1M", "ro") as readonly:
        fill(tiny)
        for folder, reason in ((tiny, "no space left on the device"), (readonly, "the file system is read-only")):
            with pytest.raises(tf.errors.OpError) as raised:
                tf.io.write_file(str(folder / "events.out"), "x" * 65536)
            message = str(cannot_write(storage_error(raised.value.message), folder, "run it again"))
            assert reason in message and str(folder) in message, message
    assert storage_error("Invalid argument: shapes differ") is None  # anything else stays the error it is


def test_unwritable_output_is_one_sentence_and_leaves_nothing(model_file, tmp_path):
    photo(tmp_path / "x.png")
    with tmpfs(tmp_path / "readonly", "1M", "ro") as readonly:
        result = n2n("denoise", tmp_path / "x.png", "-o", readonly / "x.png", "--model", model_file)
        assert_one_sentence_error(result, "the file system is read-only")
    with tmpfs(tmp_path / "tiny", "16k") as tiny:
        fill(tiny)
        result = n2n("denoise", tmp_path / "x.png", "-o", tiny / "x.tif", "--model", model_file)
        assert_one_sentence_error(result, "no space left on the device")
        assert sorted(p.name for p in tiny.iterdir()) == ["filler"]  # no partial file
        result = n2n("export", tmp_path, tiny / "exported")
        assert result.returncode == 2 and "Traceback" not in result.stderr


# 6. Importing the package registers every custom object, in a fresh interpreter.
def test_models_of_the_current_code_load_after_a_plain_import(model_file):
    code = f"import noise2noise_keras, keras; m = keras.saving.load_model({str(model_file)!r}); print(type(m.layers[2]).__name__, m.count_params())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "991203" in result.stdout


# 7. Foreign or broken model files: one accurate sentence each.
def double(x):
    """A named function for a Lambda layer: saved by name, so loading it would import and run foreign code."""
    return x * 2


def test_foreign_and_broken_model_files_are_one_accurate_sentence(tmp_path):
    photo(tmp_path / "x.png")
    inputs = keras.Input((10,))
    keras.Model(inputs, keras.layers.Dense(3)(inputs)).save(tmp_path / "dense.keras")
    inputs = keras.Input((64, 64, 3))
    keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs)).save(tmp_path / "fixed.keras")
    inputs = keras.Input((None, None, 3))
    keras.Model(inputs, keras.layers.Lambda(double)(inputs)).save(tmp_path / "named_function.keras")
    inputs = keras.Input((None, None, 3))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(tmp_path / "lambda.keras")
    (tmp_path / "random.keras").write_bytes(np.random.default_rng(0).bytes(4000))
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("notes.txt", "a zip, but no model")
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF\r\n")
    cases = {
        "dense.keras": "not an image denoiser",
        "fixed.keras": "only takes images of one size",
        "named_function.keras": "not loaded for safety",
        "lambda.keras": "not loaded for safety",
        "random.keras": "is not a Keras model file",
        "other.keras": "could not be loaded as a Keras model",
        "weights.h5": "is not a .keras model file",
    }
    for name, expected in cases.items():
        result = n2n("denoise", tmp_path / "x.png", "--model", tmp_path / name)
        assert_one_sentence_error(result, expected, name)
        assert "File not found" not in result.stderr
    assert not (tmp_path / "x_denoised.png").exists()


def test_broken_records_and_existing_exports_are_one_sentence(model_file, tmp_path):
    photo(tmp_path / "x.png")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(model_file, run / "checkpoints" / "best.keras")
    TrainConfig(noise="gaussian", dataset="sample").save(run / "config.json")
    assert n2n("export", run, tmp_path / "exported").returncode == 0
    assert_one_sentence_error(n2n("export", run, tmp_path / "exported"), "already holds a model", "--overwrite")
    assert n2n("export", run, tmp_path / "exported", "--overwrite").returncode == 0

    (tmp_path / "exported" / "denoiser.json").write_text("{truncated")
    assert_one_sentence_error(n2n("denoise", tmp_path / "x.png", "--model", tmp_path / "exported"), "is not valid JSON")
    (run / "config.json").write_text('["not", "a", "config"]')
    assert_one_sentence_error(n2n("denoise", tmp_path / "x.png", "--model", run), "is not a valid training config")
    assert_one_sentence_error(n2n("evaluate", run, "--dataset", tmp_path, "--noise", "gaussian,25"), "is not a valid training config")
    assert not (tmp_path / "x_denoised.png").exists()


# 8. One policy for multi-frame and signed images in every command.
def test_multi_frame_and_signed_images_are_refused_by_every_reader(tmp_path):
    frames = [Image.fromarray(np.full((16, 16, 3), value, np.uint8)) for value in (0, 128, 255)]
    frames[0].save(tmp_path / "animated.gif", save_all=True, append_images=frames[1:])
    write_pages(tmp_path / "pages.tif", 2)
    tifffile.imwrite(tmp_path / "signed.tif", np.array([[1, -2], [3, 4]] * 8, np.int16))
    for name, reason in (("animated.gif", "holds 3 frames"), ("pages.tif", "pages"), ("signed.tif", "signed integer samples")):
        with pytest.raises(UserError, match=reason):
            read_image(tmp_path / name)  # n2n denoise
        with pytest.raises(UnreadableImage, match="holds"):
            read_rgb(tmp_path / name)  # training and evaluation: skipped by name


# 9. Degenerate settings are refused before any work; a download with bad files fetches the rest and lists them all.
def test_download_fetches_every_good_file_lists_every_bad_one_and_leaves_no_empty_folder(shared_datasets, serve, tmp_path):
    site = tmp_path / "site"
    (site / "kodak").mkdir(parents=True)
    for path in sorted((shared_datasets / "kodak").iterdir()):
        (site / "kodak" / path.name).write_bytes(path.read_bytes())
    (site / "kodak" / "kodim03.png").write_bytes(b"not the original")
    (site / "kodak" / "kodim17.png").unlink()
    with pytest.raises(UserError) as error:
        download_kodak(tmp_path / "data", serve(site).base_url, progress=False)
    assert "2 of 24 Kodak files failed" in str(error.value) and "kodim03.png" in str(error.value) and "kodim17.png" in str(error.value)
    kept = sorted(p.name for p in (tmp_path / "data" / "kodak").iterdir())
    assert len(kept) == 22 and "kodim03.png" not in kept and not [name for name in kept if name.endswith(".part")]

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="24 of 24 Kodak files failed"):
        download_kodak(tmp_path / "nothing" / "data", serve(empty).base_url, progress=False)
    assert not (tmp_path / "nothing").exists()
