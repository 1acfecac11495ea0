"""NoisyDataset and image reading: independent noise, determinism, odd files, small images."""

import numpy as np
import pytest
from PIL import Image

from noise2noise_keras.datasets.images import UnreadableImage, read_images, read_rgb
from noise2noise_keras.datasets.noisy import NoisyDataset, fixed_noise, pad_to_min_size
from noise2noise_keras.datasets.registry import dataset_files
from noise2noise_keras.errors import UserError
from noise2noise_keras.noise import parse_noise

rng = np.random.default_rng(0)
IMAGES = [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), rng.integers(0, 256, (70, 40, 3), dtype=np.uint8)]


def first_batch(dataset, batch_size=4, start=0):
    noisy, target = next(iter(dataset.stream(batch_size, start)))
    return noisy.numpy(), target.numpy()


def test_noise2noise_pairs_have_independent_noise_on_the_same_crop():
    data = NoisyDataset([np.full((128, 128, 3), 128, np.uint8)], parse_noise("gaussian,25"), crop=64, seed=1)
    noisy, target = first_batch(data)
    assert noisy.shape == target.shape == (4, 64, 64, 3)
    n, t = (noisy - 128 / 255).ravel(), (target - 128 / 255).ravel()
    assert abs(np.corrcoef(n, t)[0, 1]) < 0.02
    assert abs(n.std() * 255 / 25 - 1) < 0.03


def test_clean_target_is_the_uncorrupted_crop():
    data = NoisyDataset(IMAGES, parse_noise("gaussian,25"), target="clean", crop=32, seed=3)
    noisy, target = first_batch(data, 8)
    assert np.allclose(target * 255, np.round(target * 255), atol=1e-3)  # exactly 8-bit values
    assert np.std(noisy - target) * 255 == pytest.approx(25, rel=0.1)


def test_stream_is_deterministic_and_resumes_mid_stream():
    make = lambda: NoisyDataset(IMAGES, parse_noise("poisson"), crop=32, augment=True, seed=5)  # noqa: E731
    a, b = first_batch(make(), 4), first_batch(make(), 4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    whole = next(iter(make().stream(4).unbatch().batch(8)))[0].numpy()
    resumed = first_batch(make(), 4, start=4)[0]
    assert np.array_equal(whole[4:], resumed)
    other_seed = NoisyDataset(IMAGES, parse_noise("poisson"), crop=32, augment=True, seed=6)
    assert not np.array_equal(first_batch(other_seed)[0], a[0])


def test_bernoulli_target_carries_its_mask_for_the_masked_loss():
    data = NoisyDataset(IMAGES, parse_noise("bernoulli,50"), crop=32, seed=0, target_mask=True)
    noisy, target = first_batch(data)
    assert target.shape == (4, 32, 32, 4)
    mask = target[..., 3]
    assert set(np.unique(mask)) <= {0.0, 1.0} and abs(1 - mask.mean() - 0.5) < 0.1
    assert np.all(target[..., :3][mask == 0] == 0)


def test_images_smaller_than_the_crop_are_mirror_padded():
    tiny = np.array([[[10, 20, 30]]], np.uint8)
    assert pad_to_min_size(tiny, 32).shape == (32, 32, 3)
    data = NoisyDataset([tiny, IMAGES[1]], parse_noise("gaussian,10"), crop=128, seed=0)
    assert first_batch(data)[0].shape == (4, 128, 128, 3)


def test_fixed_noise_is_the_same_every_call():
    a = fixed_noise(IMAGES, parse_noise("text,25"), seed=9)
    b = fixed_noise(IMAGES, parse_noise("text,25"), seed=9)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert a[0].shape == IMAGES[0].shape


def test_empty_image_list_is_a_user_error():
    with pytest.raises(UserError, match="No readable training images"):
        NoisyDataset([], parse_noise("gaussian"))


def write_odd_images(folder):
    """The formats users actually have: 16-bit, CMYK, RGBA, palette, grayscale, tiny, broken."""
    photo = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(photo).save(folder / "rgb.png")
    Image.fromarray(photo[..., 0].astype(np.uint16) * 257).save(folder / "gray16.png")
    Image.fromarray(photo).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(photo).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(photo).convert("P").save(folder / "palette.png")
    Image.fromarray(photo[..., 1]).save(folder / "gray.png")
    Image.fromarray(photo[:1, :1]).save(folder / "one_pixel.png")
    Image.fromarray(photo).save(folder / "whole.jpg")
    (folder / "truncated.jpg").write_bytes((folder / "whole.jpg").read_bytes()[:300])
    (folder / "empty.png").write_bytes(b"")
    return photo


def test_odd_formats_become_8bit_rgb_and_broken_files_are_named_and_skipped(tmp_path, caplog):
    photo = write_odd_images(tmp_path)
    images = dict(read_images(dataset_files(str(tmp_path), "train")))
    assert set(images) == {"rgb.png", "gray16.png", "cmyk.jpg", "rgba.png", "palette.png", "gray.png", "one_pixel.png", "whole.jpg"}
    assert all(image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 for image in images.values())
    assert np.array_equal(images["rgb.png"], photo)
    assert np.array_equal(images["gray16.png"][..., 0], photo[..., 0])
    assert np.array_equal(images["rgba.png"], photo)
    assert "truncated.jpg" in caplog.text and "empty.png" in caplog.text
    with pytest.raises(UnreadableImage, match="empty.png"):
        read_rgb(tmp_path / "empty.png")


def test_exif_orientation_is_applied(tmp_path):
    photo = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(photo).save(tmp_path / "rotated.png", exif=exif)
    assert read_rgb(tmp_path / "rotated.png").shape == (30, 20, 3)


def test_missing_builtin_dataset_says_how_to_download(tmp_path):
    with pytest.raises(UserError, match="n2n download kodak"):
        dataset_files("kodak", "test", tmp_path)


def test_builtin_datasets_resolve_on_the_shared_copy(shared_datasets):
    assert len(dataset_files("kodak", "test", shared_datasets)) == 24
    assert len(dataset_files("bsds300", "train", shared_datasets)) == 200
    assert len(dataset_files("bsds300", "test", shared_datasets)) == 100
    train, test = dataset_files("sample", "train"), dataset_files("sample", "test")
    assert len(train) >= 5 and len(test) >= 1 and not set(train) & set(test)
    assert all(path.is_file() for path in train + test)
