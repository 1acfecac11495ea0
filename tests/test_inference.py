"""Denoising the user's own files: tiling equals whole-image, formats survive, bad input is one sentence."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

import noise2noise_keras  # noqa: F401
from noise2noise_keras.artifacts import export_model, load_denoiser
from noise2noise_keras.config import TrainConfig
from noise2noise_keras.datasets.images import read_rgb
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import LoadedImage, read_image, upright, write_image
from noise2noise_keras.inference import denoise
from noise2noise_keras.metrics import psnr
from noise2noise_keras.models import build_model
from noise2noise_keras.noise import paper_test_noise
from noise2noise_keras.training import record_environment


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1)
    return build_model("unet")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, model):
    """A minimal run directory (config + checkpoint), as n2n train leaves it."""
    run = tmp_path_factory.mktemp("run")
    TrainConfig(noise="gaussian", dataset="sample").save(run / "config.json")
    record_environment(run, seed=0)
    (run / "checkpoints").mkdir()
    model.save(run / "checkpoints" / "best.keras")
    return run


@pytest.mark.parametrize("tile", [128, 256])
def test_tiled_output_equals_whole_image_output_on_kodak(model, shared_datasets, tile):
    noisy = read_rgb(shared_datasets / "kodak" / "kodim05.png") / 255.0 + np.random.default_rng(0).normal(0, 0.1, (512, 768, 3))
    noisy = noisy[:500, :700]  # not a multiple of the tile or of 32: edge tiles are padded
    whole = denoise(noisy, model, tile=0)
    tiled = denoise(noisy, model, tile=tile)
    assert np.abs(tiled - whole).max() <= 1e-3
    assert np.abs(denoise(noisy, model, tile=tile, margin=32) - whole).max() > 1e-3  # too little context shows
    # In place, each result waits until no later tile reads its pixels (with tiles of 128 the 160-px context spans two rows).
    image = noisy.astype(np.float32)
    in_place = denoise(image, model, tile=tile, in_place=True)
    assert in_place is image and np.array_equal(in_place, tiled)
    if tile == 256:  # test-time augmentation is applied per window, so it tiles exactly too
        assert np.abs(denoise(noisy, model, tile=tile, tta=True) - denoise(noisy, model, tile=0, tta=True)).max() <= 1e-3


def test_tta_gray_odd_sizes_and_sample_types(model):
    rng = np.random.default_rng(0)
    image = rng.random((45, 70, 3), dtype=np.float32)
    plain, averaged = denoise(image, model), denoise(image, model, tta=True)
    assert plain.shape == averaged.shape == image.shape and not np.allclose(plain, averaged)
    assert 0 <= averaged.min() and averaged.max() <= 1
    assert denoise(image[..., :1], model).shape == (45, 70, 1)
    assert denoise(np.zeros((1, 1, 3), np.float32), model).shape == (1, 1, 3)
    for dtype in (np.uint8, np.uint16):  # integers in, same integers out, over their full range
        top = np.iinfo(dtype).max
        quantized = np.rint(image * top).astype(dtype)
        out = denoise(quantized, model)
        assert out.dtype == dtype and np.abs(out / top - denoise(quantized / top, model)).max() <= 0.5 / top + 1e-6
    with pytest.raises(UserError, match="multiple of 32"):
        denoise(image, model, tile=100)
    with pytest.raises(UserError, match="not int16"):
        denoise(np.zeros((8, 8, 3), np.int16), model)


@pytest.mark.parametrize("planes", [1, 2, 3, 4])
def test_sixteen_bit_png_round_trips_at_sixteen_bits(tmp_path, planes):
    values = np.random.default_rng(planes).integers(0, 65536, (48, 64, planes), dtype=np.uint16)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    loaded = LoadedImage(values[..., : 3 if planes > 2 else 1], values[..., -1] if planes in (2, 4) else None, {"icc_profile": icc})
    write_image(tmp_path / "image.png", loaded.pixels, loaded)  # written by us, read back by Pillow and by us
    with Image.open(tmp_path / "image.png") as written:
        assert written.info["icc_profile"] == icc and written.size == (64, 48)
    read = read_image(tmp_path / "image.png")
    assert read.pixels.dtype == np.uint16 and np.array_equal(read.pixels, loaded.pixels) and read.info["icc_profile"] == icc
    assert (read.alpha is None) == (loaded.alpha is None) and (read.alpha is None or np.array_equal(read.alpha, loaded.alpha))
    with pytest.raises(UserError, match="use a .tif output"):
        write_image(tmp_path / "out.jpg", read.pixels, read)
    (tmp_path / "truncated.png").write_bytes((tmp_path / "image.png").read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated.png is not a readable image"):
        read_image(tmp_path / "truncated.png")
    assert not list(tmp_path.glob("*.jpg")) and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_and_tiff_orientation_make_pixels_upright_as_pillow_does(tmp_path, orientation):
    stored = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "photo.png", exif=exif)
    with Image.open(tmp_path / "photo.png") as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    assert np.array_equal(upright(stored, orientation), expected)
    assert np.array_equal(read_image(tmp_path / "photo.png").pixels, expected)
    tifffile.imwrite(tmp_path / "scan.tif", stored.astype(np.uint16), photometric="rgb", extratags=[(274, "H", 1, orientation)])
    assert np.array_equal(read_image(tmp_path / "scan.tif").pixels, expected.astype(np.uint16))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_keeps_sample_type_channels_alpha_and_icc(tmp_path, dtype):
    rng = np.random.default_rng(0)
    rgba = rng.random((33, 47, 4)).astype(np.float32)
    if dtype != np.float32:
        rgba = np.rint(rgba * np.iinfo(dtype).max).astype(dtype)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tifffile.imwrite(tmp_path / "in.tif", rgba, photometric="rgb", extrasamples=["unassalpha"], iccprofile=icc)
    loaded = read_image(tmp_path / "in.tif")
    assert loaded.pixels.dtype == dtype and loaded.pixels.shape == (33, 47, 3) and np.array_equal(loaded.alpha, rgba[..., 3])
    write_image(tmp_path / "out.tif", loaded.pixels, loaded)
    with tifffile.TiffFile(tmp_path / "out.tif") as written:
        assert np.array_equal(written.asarray(), rgba) and bytes(written.pages[0].tags[34675].value) == icc
    planar = np.moveaxis(rgba[..., :3], -1, 0)
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    assert np.array_equal(read_image(tmp_path / "planar.tif").pixels, rgba[..., :3])
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([rgba[..., 0]] * 5))
    with pytest.raises(UserError, match="holds 5 pages .*save each page as an image file of its own"):
        read_image(tmp_path / "stack.tif")


def test_alpha_icc_exif_and_palette(tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (40, 30, 4), dtype=np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated by 90 degrees
    exif[0x010F] = "n2n camera"
    Image.fromarray(rgba).save(tmp_path / "in.png", icc_profile=icc, exif=exif, dpi=(300, 300))
    loaded = read_image(tmp_path / "in.png")
    assert loaded.pixels.shape == (30, 40, 3)  # upright
    write_image(tmp_path / "out.png", loaded.pixels // 2, loaded)
    with Image.open(tmp_path / "out.png") as written:
        assert written.mode == "RGBA" and written.size == (40, 30)
        assert np.array_equal(np.asarray(written)[..., 3], np.rot90(rgba[..., 3], -1))  # alpha untouched (but upright)
        assert written.info.get("icc_profile") == icc and np.allclose(written.info["dpi"], 300, atol=0.01)
        assert written.getexif().get(0x010F) == "n2n camera" and 0x0112 not in written.getexif()  # upright: tag dropped
    Image.fromarray(rgba[..., :3]).convert("P").save(tmp_path / "palette.png")
    assert read_image(tmp_path / "palette.png").pixels.shape == (40, 30, 3)


def test_export_writes_model_and_config_and_loading_checks_them(run_dir, tmp_path):
    folder = export_model(run_dir, tmp_path / "exported")
    config = json.loads((folder / "config.json").read_text())
    assert config["noise"] == "gaussian" and config["channels"] == 3 and config["data_range"] == [0.0, 1.0]
    start = config["training_environment"][0]  # reproducibility travels with the model: packages, commit, seed
    assert start["seed"] == 0 and start["packages"]["keras"].startswith("3.") and "git_commit" in start
    model, description = load_denoiser(folder)
    assert model.count_params() == 991_203 and description["arch"] == "unet"
    config["channels"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="does not match its model.keras"):
        load_denoiser(folder)
    (folder / "config.json").unlink()
    with pytest.raises(UserError, match="has no config.json"):
        load_denoiser(folder)


def n2n(*args):
    return subprocess.run([sys.executable, "-m", "noise2noise_keras", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_denoises_files_and_folders_and_refuses_bad_input(run_dir, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(photos / "a.jpg")
    Image.fromarray(rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)).save(photos / "tiny.png")
    out = tmp_path / "out"
    out.mkdir()
    result = n2n("denoise", photos, "-o", out, "--model", run_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "tiny.png"]
    beside = n2n("denoise", photos / "a.jpg", "--model", run_dir)
    assert beside.returncode == 0 and (photos / "a_denoised.jpg").is_file()

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    cases = [
        (["denoise", tmp_path / "missing.png"], "does not exist"),
        (["denoise", tmp_path / "broken.png", "-o", tmp_path / "x.png"], "not a readable image"),
        (["denoise", tmp_path / "notes"], "contains no image files"),
        (["denoise", photos / "a.jpg", "-o", tmp_path / "nowhere" / "a.png"], "does not exist"),
        (["denoise", photos / "a.jpg", "-o", photos / "a.jpg"], "Refusing to overwrite"),
        (["denoise", photos / "tiny.png", "--model", "no-such-model"], "No model 'no-such-model'"),
        (["denoise", photos / "a.jpg", "--model", run_dir], "already exist"),  # a_denoised.jpg, written above
    ]
    for args, expected in cases:
        result = n2n(*args, *([] if "--model" in args else ["--model", run_dir]))
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1].startswith("error:") and expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists() and not list(tmp_path.glob(".*partial*"))


def test_cli_denoise_scores_what_cli_evaluate_scores(run_dir, shared_datasets, tmp_path):
    """n2n denoise on the noisy inputs saved by n2n evaluate gives the same PSNR (float TIFFs keep them exact)."""
    result = n2n("evaluate", run_dir, "--dataset", "kodak", "--noise", "gaussian,25", "--max-images", "2",
                 "--data-root", shared_datasets, "--out", tmp_path / "eval", "--save-noisy", tmp_path / "noisy")
    assert result.returncode == 0, result.stderr
    (tmp_path / "denoised").mkdir()
    result = n2n("denoise", tmp_path / "noisy", "-o", tmp_path / "denoised", "--model", run_dir, "--precision", "float32")  # as evaluate
    assert result.returncode == 0, result.stderr
    denoised = sorted((tmp_path / "denoised").glob("*.tif"))
    assert [p.name for p in denoised] == ["kodim01.tif", "kodim02.tif"]
    scores = [psnr(read_rgb(shared_datasets / "kodak" / f"{p.stem}.png"), read_image(p).pixels) for p in denoised]
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert abs(np.mean(scores) - summary["psnr_denoised_mean"]) <= 0.01


def notebook_images(notebook) -> list[str]:
    kinds = ("image/png", "image/jpeg")
    return [output for cell in notebook.cells for output in cell.get("outputs", []) if any(kind in output.get("data", {}) for kind in kinds)]


def test_the_stored_notebook_shows_its_figures_and_stays_small():
    """On GitHub, or opened cold, the notebook already shows every shipped model's figure, the PSNR bars and a denoised file."""
    import nbformat

    from noise2noise_keras.artifacts import pretrained_names
    from tests.conftest import REPO

    path = REPO / "notebooks" / "inference.ipynb"
    notebook = nbformat.read(path, as_version=4)
    assert len(notebook_images(notebook)) == len(pretrained_names()) + 2, "re-run python notebooks/run_notebook.py"
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert all(f"{name} on " in printed for name in pretrained_names()), "re-run python notebooks/run_notebook.py"
    assert path.stat().st_size < 1_500_000


@pytest.mark.slow
def test_inference_notebook_runs_headless_and_draws_its_figures(run_dir, tmp_path):
    import nbclient
    import nbformat

    from noise2noise_keras.artifacts import pretrained_names
    from tests.conftest import REPO

    notebook = nbformat.read(REPO / "notebooks" / "inference.ipynb", as_version=4)
    parameters = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source += f'\nMODELS = [*{pretrained_names()!r}, "{run_dir}"]\nOUT = "{tmp_path / "figures"}"'  # offline: sample images
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    expected = {f"{name}.png" for name in pretrained_names()} | {f"{run_dir.name}.png", "psnr_per_image.png", "own_denoised.png"}
    assert {p.name for p in (tmp_path / "figures").iterdir()} >= expected
    assert len(notebook_images(notebook)) == len(pretrained_names()) + 1 + 2


def test_shipped_gaussian_model_denoises_out_of_the_box(tmp_path, shared_datasets):
    rng = np.random.default_rng(0)
    clean = np.kron(rng.integers(40, 220, (6, 8, 3)), np.ones((16, 16, 1))).astype(np.float64) / 255
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1)
    Image.fromarray(np.rint(noisy * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    result = n2n("denoise", tmp_path / "photo.png")
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "photo_denoised.png") as written:
        denoised = np.asarray(written) / 255
    error = lambda image: np.sqrt(np.mean((image - clean) ** 2))  # noqa: E731
    assert error(denoised) < 0.6 * error(noisy)  # >= 4.4 dB better; measured 6.0 dB (bf16 and float32 alike)
    _, description = load_denoiser("gaussian")
    assert description["noise"] == "gaussian" and {e["dataset"] for e in description["evaluations"]} == {"kodak", "bsds300"}
    result = n2n("evaluate", "gaussian", "--dataset", "kodak", "--max-images", "1", "--data-root", shared_datasets, "--out", tmp_path / "eval")
    assert result.returncode == 0, result.stderr  # shipped names are scored like run directories
    assert next(e for e in description["evaluations"] if e["dataset"] == "kodak")["images"] == 24
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["psnr_denoised_mean"] > 28


@pytest.mark.parametrize("name", ["gaussian", "poisson", "text"])
def test_shipped_models_record_their_training_and_denoise_their_noise(name, shared_datasets):
    model, description = load_denoiser(name)
    assert description["noise"] == name and description["train_config"]["dataset"] == "bsds300"
    assert {e["dataset"] for e in description["evaluations"]} == {"kodak", "bsds300"}
    assert description["training_summary"]["train_seconds_total"] >= 40 * 60  # the minimum CPU budget
    clean = read_rgb(shared_datasets / "kodak" / "kodim23.png")[128:384, 256:512]
    noisy = fixed_noise([clean], paper_test_noise(name), 0)[0]
    assert psnr(clean, denoise(noisy, model)) > psnr(clean, noisy) + 5


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "I;16"])
def test_tall_images_are_read_in_bands_exactly(tmp_path, mode):
    """Images are copied out of Pillow 256 rows at a time (bounded memory); the pixels must not change."""
    rng = np.random.default_rng(0)
    channels = {"RGB": 3, "RGBA": 4, "L": 1, "I;16": 1}[mode]
    values = rng.integers(0, 65536 if mode == "I;16" else 256, (700, 33, channels)).astype(np.uint16 if mode == "I;16" else np.uint8)
    path = tmp_path / ("tall.pgm" if mode == "I;16" else "tall.png")  # 16-bit PGM: Pillow's 16-bit path (TIFF and PNG bypass it)
    Image.fromarray(values[..., 0] if channels == 1 else values).save(path)
    loaded = read_image(path)
    assert np.array_equal(loaded.pixels, values[..., : 3 if channels == 4 else channels])
    assert loaded.alpha is None if channels != 4 else np.array_equal(loaded.alpha, values[..., 3])
