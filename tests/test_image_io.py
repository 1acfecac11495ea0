"""Reading and writing image files (image_io, the one reader): sample types, alpha, ICC, EXIF, orientation, limits."""

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from noise2noise_keras.errors import UserError
from noise2noise_keras.image_io import LoadedImage, read_image, upright, write_image


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


def test_the_decompression_bomb_limit_is_set_once_for_every_reader_and_can_be_lifted(tmp_path):
    """One limit (N2N_MAX_IMAGE_PIXELS, read at import) for denoising and for training data alike, with a sentence naming it."""
    import os
    import subprocess
    import sys

    paths = [tmp_path / "big.png", tmp_path / "big.tif"]  # Pillow's reader and tifffile's
    for path in paths:
        write_image(path, np.zeros((20, 30, 3), np.uint8), LoadedImage(np.zeros((20, 30, 3), np.uint8), None, {}))
    code = (
        "import sys; from noise2noise_keras.image_io import read_image; from noise2noise_keras.datasets.images import read_rgb, UnreadableImage\n"
        "from noise2noise_keras.errors import UserError\n"
        "for path in sys.argv[1:]:\n"
        "    try: read_image(path); print('read')\n    except UserError as e: print(e)\n"
        "    try: read_rgb(path); print('read')\n    except UnreadableImage as e: print(e)"
    )
    for limit, expected in (("100", "has more than 100 pixels"), ("0", "read"), ("600", "read")):
        env = {**os.environ, "N2N_MAX_IMAGE_PIXELS": limit}
        result = subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, env=env, timeout=120)
        lines = result.stdout.splitlines()
        assert len(lines) == 4 and all(expected in line for line in lines), result.stdout + result.stderr
        if limit == "100":
            assert all("set N2N_MAX_IMAGE_PIXELS to a larger number (0: no limit)" in line for line in lines)
