"""Classical baselines: real scikit-image denoisers on a real Kodak crop, and the tuner's choice."""

import numpy as np
import pytest

from noise2noise_keras.baselines import BASELINES, run_baseline, tune
from noise2noise_keras.datasets.images import read_rgb
from noise2noise_keras.datasets.noisy import fixed_noise
from noise2noise_keras.metrics import psnr
from noise2noise_keras.noise import parse_noise


@pytest.fixture(scope="module")
def crops(shared_datasets):
    cleans = [read_rgb(shared_datasets / "kodak" / f"kodim{i:02d}.png")[128:256, 128:256] for i in (3, 23)]
    return cleans, fixed_noise(cleans, parse_noise("gaussian,25"), 0)


@pytest.mark.parametrize("name", ["nl_means", "wavelet", "tv"])
def test_classical_denoisers_beat_the_noisy_input_and_the_tuner_picks_the_best_value(crops, name):
    cleans, noisys = crops
    best, scores = tune(name, cleans, noisys)
    assert set(scores) == set(BASELINES[name].grid)
    outputs = {value: [run_baseline(name, noisy, value) for noisy in noisys] for value in BASELINES[name].grid}  # scored here, not by tune()
    measured = {value: np.mean([psnr(c, d) for c, d in zip(cleans, denoised)]) for value, denoised in outputs.items()}
    assert max(measured, key=measured.get) == best and measured[best] == pytest.approx(scores[best])
    assert measured[best] > min(measured.values()) + 0.3  # the grid spans settings that matter: tuning is not a formality
    noisy_psnr = np.mean([psnr(c, n) for c, n in zip(cleans, noisys)])
    assert measured[best] > noisy_psnr + 3  # sigma 25 (20.2 dB): every classical method gains several dB
    denoised = outputs[best][0]
    assert denoised.dtype == np.float32 and denoised.shape == cleans[0].shape and denoised.min() >= 0.0 and denoised.max() <= 1.0
