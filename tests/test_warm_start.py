"""Training in stages (--init-from): the second stage starts from the first's exact weights and its export records both."""

import json

import pytest

from noise2noise_keras.artifacts import export_model, load_denoiser
from noise2noise_keras.warm_start import stages, weights_fingerprint
from tests.test_training import TINY, n2n, photo_folder  # noqa: F401 (the fixture)


@pytest.fixture(scope="module")
def first_stage(photo_folder, tmp_path_factory):  # noqa: F811
    """A short run, exported as a denoiser folder: what a shipped model is."""
    run = tmp_path_factory.mktemp("stage1") / "run"
    result = n2n("train", "gaussian", photo_folder, *TINY, "--run-dir", run)
    assert result.returncode == 0, result.stderr
    return export_model(run, run.parent / "exported")


@pytest.mark.slow
def test_a_second_stage_starts_from_the_first_stages_weights_and_its_export_keeps_both_records(photo_folder, first_stage, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    # A learning rate this small moves no weight by more than ~1e-9 per step: what is left is where training started.
    result = n2n("train", "gaussian", photo_folder, *TINY, "--learning-rate", "1e-9", "--init-from", first_stage, "--run-dir", run)
    assert result.returncode == 0, result.stderr
    assert "starting from the weights of" in result.stderr
    first = load_denoiser(first_stage)
    init = json.loads((run / "init.json").read_text())
    assert init["weights_sha256"] == weights_fingerprint(first.model) and init["record"]["training_summary"]["steps"] == 6
    second = load_denoiser(run, checkpoint="last")
    differences = [abs(a - b).max() for a, b in zip(first.model.get_weights(), second.model.get_weights())]
    assert max(differences) < 1e-6, max(differences)

    record = load_denoiser(export_model(run, tmp_path / "exported")).spec.record
    chain = stages(record)
    assert len(chain) == 2 and chain[0] == first.spec.record and chain[1]["train_config"]["init_from"] == str(first_stage)
    again = n2n("train", "gaussian", photo_folder, *TINY, "--learning-rate", "1e-9", "--init-from", first_stage, "--run-dir", run)
    assert again.returncode == 0 and "already complete" in again.stderr + again.stdout


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(["--arch", "hourglass"], "is a 3-channel unet but this run trains a 3-channel hourglass"), ([], "No model 'no-such-model'")],
)
def test_a_starting_model_that_cannot_be_used_is_one_sentence(photo_folder, first_stage, tmp_path, extra, expected):  # noqa: F811
    model = first_stage if extra else "no-such-model"
    result = n2n("train", "gaussian", photo_folder, *TINY, *extra, "--init-from", model, "--run-dir", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert expected in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "run").exists()  # refused before anything was written
