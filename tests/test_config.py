"""TrainConfig: presets, overrides, the data source, what a stored config resumes with."""

import json

import pytest

from noise2noise_keras.config import TrainConfig, make_config
from noise2noise_keras.errors import UserError


def test_an_explicit_epoch_count_replaces_the_presets_time_budget():
    assert make_config("quick").minutes == 5.0
    assert make_config("quick", epochs=3).minutes == 0.0 and make_config("quick", epochs=3).epochs == 3
    assert make_config("quick", epochs=3, minutes=2.0).minutes == 2.0
    assert make_config("paper").minutes == 0.0


def test_the_data_source_is_explicit_and_runs_of_earlier_versions_load_with_it(tmp_path):
    own = TrainConfig(noise="pairs", dataset="captures")
    assert own.data_source == "pairs" and own.val_noise == "pairs" and own.loss == "l2"
    assert TrainConfig(data_source="pairs", dataset="captures") == own
    synthetic = TrainConfig(noise="gaussian,0,50", dataset="sample")
    assert synthetic.data_source == "synthetic" and synthetic.noise_model.name == "gaussian" and synthetic.val_noise_model.spec == "gaussian,25"
    (tmp_path / "old.json").write_text(json.dumps({"noise": "pairs", "dataset": "captures"}))  # stored before the field existed
    assert TrainConfig.load(tmp_path / "old.json") == own
    with pytest.raises(UserError, match="Unknown data source 'photos'"):
        TrainConfig(data_source="photos")


def test_the_l0_anneal_spans_its_fraction_of_training_and_refuses_nonsense():
    assert TrainConfig(noise="impulse", epochs=10, steps_per_epoch=30).anneal_steps == 300  # the paper: all of training
    assert TrainConfig(noise="impulse", epochs=10, steps_per_epoch=30, anneal_fraction=2.0).anneal_steps == 600  # ends at exponent 1
    for fraction in (0.5, 0.0, -1.0, float("nan"), float("inf")):  # below 1 the last part would learn nothing
        with pytest.raises(UserError, match="--anneal-fraction"):
            TrainConfig(noise="impulse", anneal_fraction=fraction)
    for start in (0.0, -1.0, 2.5, float("nan"), float("inf")):  # 0 has no gradient; above 2 is steeper than the paper's L2 start
        with pytest.raises(UserError, match="--anneal-start"):
            TrainConfig(noise="impulse", anneal_start=start)
