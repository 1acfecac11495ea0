"""Noise models: statistics match their definitions; specs parse or fail with one clear sentence."""

import numpy as np
import pytest
import tensorflow as tf

from noise2noise_keras.errors import UserError
from noise2noise_keras.noise import NOISE_KINDS, default_loss_for, paper_test_noise, parse_noise

SEED = tf.constant([7, 11], tf.int64)


def flat_image(value=0.5, size=256):
    return tf.fill([size, size, 3], value)


def test_gaussian_std_within_two_percent_and_not_clipped():
    image = flat_image(0.9)
    noisy = parse_noise("gaussian,25").corrupt(image, SEED).numpy()
    residual = noisy - 0.9
    assert abs(residual.std() * 255 / 25 - 1) < 0.02
    assert abs(residual.mean()) < 0.002
    assert noisy.max() > 1.0  # the paper does not clip


def test_gaussian_range_draws_sigma_per_image():
    noise = parse_noise("gaussian,0,50")
    sigmas = [np.std(noise.corrupt(flat_image(size=64), tf.constant([1, i], tf.int64)).numpy() - 0.5) * 255 for i in range(200)]
    assert 0 <= min(sigmas) < 5 and 45 < max(sigmas) <= 52
    assert abs(np.mean(sigmas) - 25) < 3


def test_poisson_mean_and_variance():
    lam, x = 30.0, 0.4
    noisy = parse_noise("poisson,30").corrupt(flat_image(x, 512), SEED).numpy()
    assert abs(noisy.mean() - x) < 0.005
    assert abs(noisy.var() / (x / lam) - 1) < 0.03
    assert np.allclose(noisy * lam, np.round(noisy * lam), atol=1e-4)  # integer counts / lambda


@pytest.mark.parametrize("p", [10, 50, 90])
def test_bernoulli_drops_fraction_p_and_returns_mask(p):
    noise = parse_noise(f"bernoulli,{p}")
    noisy, mask = noise.corrupt_with_mask(flat_image(0.7), SEED)
    dropped = 1 - mask.numpy().mean()
    assert abs(dropped - p / 100) < 0.01
    assert np.all((noisy.numpy() == 0) == (mask.numpy() == 0))  # dropped pixels are zero in every channel


@pytest.mark.parametrize("p", [10, 25, 50])
def test_text_coverage_close_to_p(p):
    image = flat_image(0.5)
    noisy = parse_noise(f"text,{p}").corrupt(image, SEED).numpy()
    covered = np.any(noisy != 0.5, axis=-1).mean()
    assert abs(covered - p / 100) <= 0.05


@pytest.mark.parametrize("seed", range(4))
def test_text_glyphs_do_not_grow_with_the_image(seed):
    """Training crops (128^2) and test photos (768x512) must see the same glyph sizes (old rule: up to 170 px here)."""
    from skimage.measure import label, regionprops

    from noise2noise_keras.text_overlay import TEXT_MAX_FONT, render_text_overlay

    _, mask = render_text_overlay(512, 768, 3, 0.03, np.array([1, seed]))  # sparse: glyphs rarely touch
    heights = [region.bbox[2] - region.bbox[0] for region in regionprops(label(mask[..., 0]))]
    assert abs(mask.mean() - 0.03) < 0.01 and max(heights) < 2 * TEXT_MAX_FONT


@pytest.mark.parametrize("size", [10, 17, 25, 40])
def test_strings_from_the_glyph_atlas_are_where_pillow_draws_them(size):
    """Composed glyphs may sit one pixel from Pillow's own string layout, never further, and carry the same ink."""
    from PIL import Image, ImageDraw, ImageFont
    from scipy.ndimage import binary_dilation

    from noise2noise_keras.text_overlay import _TEXT_ALPHABET, _glyph_atlas, _placed_glyphs

    rng = np.random.default_rng(size)
    font, atlas = ImageFont.load_default(size=size), _glyph_atlas(size)
    near = np.ones((3, 3), dtype=bool)
    for _ in range(40):
        text = rng.choice(_TEXT_ALPHABET, size=int(rng.integers(3, 16))).tolist()
        pillow = Image.new("L", (16 * size + 20, 2 * size + 20))
        draw = ImageDraw.Draw(pillow)
        draw.fontmode = "1"
        draw.text((10, 10), "".join(text), fill=255, font=font)
        expected = np.asarray(pillow) > 0
        composed = np.zeros_like(expected)
        for left, top, ink in _placed_glyphs(atlas, text, 10, 10, right=expected.shape[1]):
            composed[top : top + ink.shape[0], left : left + ink.shape[1]] |= ink
        assert not np.any(composed & ~binary_dilation(expected, near)), text
        assert not np.any(expected & ~binary_dilation(composed, near)), text
        assert abs(int(composed.sum()) - int(expected.sum())) <= 0.1 * expected.sum() + 2, text


def test_no_glyph_reaches_further_left_of_its_pen_than_the_overhang_the_renderer_assumes():
    """``_placed_glyphs`` stops a string once its pen is this far past the right edge; a wider overhang would lose ink."""
    from noise2noise_keras.text_overlay import _GLYPH_OVERHANG, TEXT_MAX_FONT, _glyph_atlas

    lefts = [glyph.left for size in range(10, TEXT_MAX_FONT + 1) for glyph in _glyph_atlas(size).values() if glyph.ink is not None]
    assert -min(lefts) <= _GLYPH_OVERHANG


def test_strings_running_off_the_right_edge_keep_every_glyph_that_is_inside():
    from noise2noise_keras.text_overlay import _glyph_atlas, _placed_glyphs

    atlas, text = _glyph_atlas(30), list(";;;;;;;;;;;;;;;")  # ';' reaches 2 px left of its pen at size 30
    everything = [glyph[:2] for glyph in _placed_glyphs(atlas, text, 0, 0, right=10_000)]
    for right in range(1, 90):  # every pen phase against the edge, the string (15 x 7 px) always cut
        kept = [glyph[:2] for glyph in _placed_glyphs(atlas, text, 0, 0, right=right)]
        inside = [glyph for glyph in everything if glyph[0] < right]
        assert kept[: len(inside)] == inside and len(kept) < len(everything), right


def test_text_overlay_colours_each_covered_pixel_with_one_strings_colour():
    from noise2noise_keras.text_overlay import render_text_overlay

    colours, mask = render_text_overlay(96, 300, 3, 0.5, np.array([3, 96]))
    assert abs(mask.mean() - 0.5) < 0.02
    assert np.all(colours[~mask[..., 0]] == 0) and len(np.unique(colours[mask[..., 0]], axis=0)) > 10


@pytest.mark.parametrize("p", [30, 70])
def test_impulse_replaces_fraction_p_with_uniform_colours(p):
    noisy = parse_noise(f"impulse,{p}").corrupt(flat_image(0.5), SEED).numpy()
    replaced = np.any(noisy != 0.5, axis=-1)
    assert abs(replaced.mean() - p / 100) < 0.01
    assert abs(noisy[replaced].mean() - 0.5) < 0.01 and noisy[replaced].std() > 0.25  # U[0,1] has std 0.289


def test_same_seed_same_noise_and_input_target_independent():
    noise = parse_noise("gaussian,25")
    a = noise.corrupt(flat_image(), SEED).numpy()
    b = noise.corrupt(flat_image(), SEED).numpy()
    c = noise.corrupt(flat_image(), tf.constant([7, 12], tf.int64)).numpy()
    assert np.array_equal(a, b)
    assert abs(np.corrcoef((a - 0.5).ravel(), (c - 0.5).ravel())[0, 1]) < 0.01


def test_clean_is_identity():
    image = flat_image(0.3)
    assert np.array_equal(parse_noise("clean").corrupt(image, SEED).numpy(), image.numpy())


@pytest.mark.parametrize(
    "spec,canonical",
    [
        ("gaussian", "gaussian,0,50"),
        ("gaussian,25", "gaussian,25"),
        ("gaussian,0,50", "gaussian,0,50"),
        ("poisson,30", "poisson,30"),
        ("text,0,50", "text,0,50"),
        ("impulse,0,95", "impulse,0,95"),
        ("bernoulli,50", "bernoulli,50"),
        (" Poisson ", "poisson,0.001,50"),
    ],
)
def test_specs_parse(spec, canonical):
    assert parse_noise(spec).spec == canonical


@pytest.mark.parametrize(
    "spec",
    [
        "gauss",
        "gaussian,abc",
        "gaussian,50,10",
        "text,150",
        "poisson,0",
        "clean,3",
        "gaussian,1,2,3",
        "",
        "gaussian,nan",
        "gaussian+",
        "+poisson",
        "gaussian,25++text",
        "bernoulli,100",
        "bernoulli,50,100",
        "impulse,100",
        "text,100",
        "saltpepper,100",
    ],
)
def test_bad_specs_are_one_sentence_errors_naming_the_spec(spec):
    """Degenerate settings (every pixel dropped: nothing to learn) are refused like malformed ones."""
    with pytest.raises(UserError) as error:
        parse_noise(spec)
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    assert f"'{spec}'" in message if spec else "is empty" in message


def test_paper_test_noise_and_losses():
    assert [paper_test_noise(name).spec for name in ("gaussian", "poisson", "bernoulli", "text", "impulse")] == [
        "gaussian,25",
        "poisson,30",
        "bernoulli,50",
        "text,25",
        "impulse,70",
    ]
    assert {name: default_loss_for(name) for name in NOISE_KINDS} == {
        "gaussian": "l2",
        "poisson": "l2",
        "bernoulli": "masked_l2",
        "text": "l1",
        "impulse": "l0",
        "saltpepper": "l1",
        "clean": "l2",
    }


@pytest.mark.parametrize("p", [5, 20])
def test_salt_and_pepper_sets_fraction_p_to_black_or_white_equally(p):
    noisy = parse_noise(f"saltpepper,{p}").corrupt(flat_image(0.5), SEED).numpy()
    black, white = np.all(noisy == 0, axis=-1).mean(), np.all(noisy == 1, axis=-1).mean()
    assert abs(black + white - p / 100) < 0.01 and abs(black - white) < 0.01
    assert np.all((noisy == 0.5) | (noisy == 0) | (noisy == 1))


def test_combinations_apply_each_corruption_in_turn():
    noise = parse_noise("gaussian,25+saltpepper,5")
    assert noise.spec == "gaussian,25+saltpepper,5" and default_loss_for(noise.spec) == "l1"
    assert paper_test_noise("gaussian+saltpepper").spec == "gaussian,25+saltpepper,5" and default_loss_for("gaussian+poisson,30") == "l2"
    noisy = noise.corrupt(flat_image(0.5), SEED).numpy()
    impulses = np.all(noisy == 0, axis=-1) | np.all(noisy == 1, axis=-1)
    assert abs(impulses.mean() - 0.05) < 0.01  # salt and pepper last: its pixels are exact
    assert abs(noisy[~impulses].std() * 255 - 25) < 0.5  # Gaussian everywhere else
    with pytest.raises(UserError, match="Unknown noise"):
        parse_noise("gaussian,25+sparkles")
