"""Losses follow their definitions; PSNR/SSIM follow the paper's uint8 convention."""

import numpy as np
import pytest
from keras import ops

from noise2noise_keras.losses import build_loss
from noise2noise_keras.metrics import psnr, ssim, to_uint8
from noise2noise_keras.schedules import RampDownSchedule

rng = np.random.default_rng(0)
Y_TRUE = rng.random((2, 8, 8, 3), dtype=np.float32)
Y_PRED = rng.random((2, 8, 8, 3), dtype=np.float32)


def test_l2_and_l1():
    assert float(build_loss("l2")(Y_TRUE, Y_PRED)) == pytest.approx(np.mean((Y_TRUE - Y_PRED) ** 2), rel=1e-5)
    assert float(build_loss("l1")(Y_TRUE, Y_PRED)) == pytest.approx(np.mean(np.abs(Y_TRUE - Y_PRED)), rel=1e-5)


def test_masked_l2_ignores_dropped_target_pixels():
    mask = (rng.random((2, 8, 8, 1)) > 0.5).astype(np.float32)
    corrupted_target = np.where(mask > 0, Y_TRUE, 123.0)  # garbage where dropped must not matter
    loss = float(build_loss("masked_l2")(np.concatenate([corrupted_target, mask], -1), Y_PRED))
    per_image = [np.sum(mask[i] * (Y_TRUE[i] - Y_PRED[i]) ** 2) / (mask[i].sum() * 3) for i in range(2)]
    assert loss == pytest.approx(np.mean(per_image), rel=1e-5)


def test_annealed_l0_matches_formula_and_its_gamma_variable():
    loss = build_loss("l0")
    assert float(loss(Y_TRUE, Y_PRED)) == pytest.approx(np.mean((np.abs(Y_TRUE - Y_PRED) + 1e-8) ** 2), rel=1e-5)
    loss.gamma.assign(0.5)
    assert float(loss(Y_TRUE, Y_PRED)) == pytest.approx(np.mean((np.abs(Y_TRUE - Y_PRED) + 1e-8) ** 0.5), rel=1e-5)


def test_psnr_rounds_and_clips_to_uint8_per_image():
    clean = np.full((4, 4, 3), 100, np.uint8)
    estimate = np.full((4, 4, 3), 110.4 / 255, np.float32)  # rounds to 110
    assert psnr(clean, estimate) == pytest.approx(10 * np.log10(255**2 / 100))
    assert to_uint8(np.array([-0.2, 1.7, 0.5])).tolist() == [0, 255, 128]
    assert psnr(clean, clean) == float("inf")


def test_ssim_is_one_for_identical_and_lower_for_noisy():
    clean = np.broadcast_to(np.linspace(0, 255, 64, dtype=np.uint8)[:, None, None], (64, 64, 3))
    assert ssim(clean, clean) == pytest.approx(1.0)
    assert ssim(clean, clean / 255 + rng.normal(0, 0.1, clean.shape)) < 0.9


def test_rampdown_schedule_is_constant_then_cosine_squared_to_zero():
    schedule = RampDownSchedule(3e-4, total_steps=1000, rampdown_fraction=0.3)
    values = [float(ops.convert_to_numpy(schedule(step))) for step in (0, 699, 700, 850, 1000)]
    assert values[:3] == pytest.approx([3e-4] * 3)
    assert values[3] == pytest.approx(3e-4 * 0.25, rel=1e-4)  # t = 0.5: (0.5 + cos(pi/2)/2)^2 = 0.25
    assert values[4] == pytest.approx(0.0, abs=1e-12)
