"""End-to-end training through the real CLI: outputs, resume after a kill, bad input, clear errors."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_datasets import write_odd_images

TINY = ["--epochs", "2", "--steps", "3", "--batch-size", "2", "--crop", "64", "--val-images", "2", "--precision", "float32"]


def three_epochs(steps: int) -> list[str]:
    """Training options of a run long enough to be stopped inside its second epoch."""
    return ["--epochs", "3", "--steps", str(steps), "--batch-size", "2", "--crop", "128", "--val-images", "1", "--precision", "float32"]


def n2n(*args, timeout=600, **kwargs):
    return subprocess.run([sys.executable, "-m", "noise2noise_keras", *map(str, args)], capture_output=True, text=True, timeout=timeout, **kwargs)


def epochs_in(run_dir: Path) -> list[int]:
    with open(run_dir / "metrics.csv") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    base = np.kron(rng.integers(0, 256, (12, 16, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # smooth-ish blocks
    for i in range(3):
        Image.fromarray(np.roll(base, 10 * i, axis=1)).save(folder / f"photo{i}.png")
    return folder


@pytest.mark.slow
def test_train_writes_a_complete_run_directory_and_evaluates(photo_folder, tmp_path):
    run = tmp_path / "run"
    result = n2n("train", "gaussian", photo_folder, *TINY, "--run-dir", run)
    assert result.returncode == 0, result.stderr
    assert "validation PSNR" in result.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["noise"] == "gaussian" and config["loss"] == "l2" and config["val_noise"] == "gaussian,25" and config["seed"] == 0
    environment = json.loads((run / "environment.json").read_text())["starts"][0]
    assert environment["packages"]["keras"].startswith("3.") and environment["seed"] == 0 and "git_commit" in environment
    assert epochs_in(run) == [1, 2]
    assert {"checkpoints/best/model.keras", "checkpoints/last/denoiser.json", "samples/epoch_001.png", "samples/epoch_002.png", "summary.json"} <= {
        str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()
    }
    assert list((run / "logs").rglob("events.out.tfevents*"))
    assert not (run / "state").exists()  # the resume state is removed once training completes

    again = n2n("train", "gaussian", photo_folder, *TINY, "--run-dir", run)
    assert again.returncode == 0 and "already complete" in again.stderr + again.stdout

    evaluation = n2n("evaluate", run, "--dataset", photo_folder, "--noise", "gaussian,25")
    assert evaluation.returncode == 0, evaluation.stderr
    summary = json.loads((run / "eval" / f"{photo_folder.name}-gaussian_25" / "summary.json").read_text())
    assert summary["images"] == 3 and summary["psnr_noisy_mean"] == pytest.approx(20.2, abs=0.6)
    assert (run / "eval" / f"{photo_folder.name}-gaussian_25" / "figure.png").stat().st_size > 1000


@pytest.mark.slow
def test_killed_run_resumes_without_repeating_or_losing_epochs(photo_folder, tmp_path):
    run = tmp_path / "run"
    args = ["train", "gaussian", photo_folder, *three_epochs(8), "--run-dir", run]
    process = subprocess.Popen([sys.executable, "-m", "noise2noise_keras", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not ((run / "metrics.csv").exists() and (run / "state" / "position.json").exists()):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # a preempted job: no chance to clean up
    process.wait()
    assert epochs_in(run) == [1], "the kill must land during epoch 2 for this test to mean anything"

    resumed = n2n("train", *args[1:])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "at epoch 2 of 3" in resumed.stderr
    assert epochs_in(run) == [1, 2, 3]
    starts = json.loads((run / "environment.json").read_text())["starts"]
    assert [start["resumed"] for start in starts] == [False, True]
    import keras

    import noise2noise_keras  # noqa: F401

    final = keras.saving.load_model(run / "checkpoints" / "last" / "model.keras")
    assert int(final.optimizer.iterations.numpy()) == 3 * 8  # optimizer state came back with the weights


@pytest.mark.slow
def test_folder_of_odd_and_broken_images_trains_without_traceback(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    write_odd_images(folder)
    result = n2n("train", "text", folder, *TINY, "--run-dir", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "truncated.jpg" in result.stderr and "empty.png" in result.stderr


@pytest.mark.parametrize(
    "args,expected",
    [
        (["train", "gaussian", "EMPTY"], "contains no image files"),
        (["train", "gauss", "sample"], "Unknown noise 'gauss'"),
        (["train", "gaussian", "kodak", "--data-root", "NOWHERE"], "n2n download kodak"),
        (["train", "gaussian", "sample", "--crop", "100"], "multiple of 32"),
        (["evaluate", "NOWHERE"], "No model 'NOWHERE': pass a pretrained name"),
        (["train"], "Training needs NOISE and DATASET"),
        (["train", "gaussian", "sample", "--pairs", "EMPTY"], "Pass one of --pairs PATH, --single PATH or NOISE DATASET"),
        (["train", "gaussian", "sample", "--learning-rate", "nan"], "--learning-rate nan must be a positive number"),
        (["train", "gaussian", "sample", "--clip-norm", "inf"], "--clip-norm inf must be"),
        (["train", "bernoulli,100", "sample"], "nothing to learn"),
        (["train", "gaussian+", "sample"], "has an empty part"),
        (["train", "gaussian", "sample", "--seed", "-1"], "--seed -1 must be"),
    ],
)
def test_user_errors_are_one_sentence_and_exit_nonzero(tmp_path, args, expected):
    (tmp_path / "EMPTY").mkdir()
    result = n2n(*args, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and expected in lines[-1]
    assert "Traceback" not in result.stderr


def test_changed_config_on_an_existing_run_is_refused(photo_folder, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"noise": "gaussian", "epochs": 99}))
    result = n2n("train", "gaussian", photo_folder, *TINY, "--run-dir", run)
    assert result.returncode == 2 and "different config" in result.stderr and "epochs: 99 -> 2" in result.stderr


@pytest.mark.slow
def test_signal_mid_epoch_checkpoints_and_resume_runs_exactly_the_remaining_steps(photo_folder, tmp_path):
    run = tmp_path / "run"
    args = ["train", "gaussian", photo_folder, *three_epochs(12), "--run-dir", run]
    process = subprocess.Popen([sys.executable, "-m", "noise2noise_keras", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not (run / "metrics.csv").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)  # what scancel and preemption send (USR1 is covered in test_slurm)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, stderr
    assert "SIGTERM received" in stderr and "run the same command again to resume" in stderr
    position = json.loads((run / "state" / "position.json").read_text())
    assert 0 < position["step"] < 12 and position["optimizer_iterations"] == 12 + position["step"], position  # inside epoch 2

    resumed = n2n(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert f"step {position['step']}" in resumed.stderr
    assert epochs_in(run) == [1, 2, 3]
    import keras

    import noise2noise_keras  # noqa: F401

    final = keras.saving.load_model(run / "checkpoints" / "last" / "model.keras")
    assert int(final.optimizer.iterations.numpy()) == 3 * 12  # no step lost, none repeated


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["hourglass", "unet_bn", "dsc"])
def test_seed_architectures_train_evaluate_and_denoise_through_the_same_paths(photo_folder, tmp_path, arch):
    run = tmp_path / "run"
    repository = Path(__file__).resolve().parents[1]
    command = [sys.executable, "train_model.py", "gaussian,25+saltpepper,5", photo_folder, "--arch", arch, *TINY, "--clip-norm", "1", "--run-dir", run]
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=600, cwd=repository)
    assert result.returncode == 0, result.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["arch"] == arch and config["clip_norm"] == 1.0 and config["loss"] == "l1" and epochs_in(run) == [1, 2]
    result = n2n("evaluate", run, "--dataset", photo_folder, "--max-images", "1")
    assert result.returncode == 0, result.stderr
    result = n2n("denoise", photo_folder / "photo0.png", "-o", tmp_path / "denoised.png", "--model", run)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "denoised.png").size == Image.open(photo_folder / "photo0.png").size


@pytest.mark.slow
def test_sweep_trains_every_combination_ranks_them_and_resumes(photo_folder, tmp_path):
    out = tmp_path / "sweep"
    tiny = ["--epochs", "1", "--steps", "2", "--batch-size", "2", "--crop", "32", "--val-images", "1", "--precision", "float32"]
    command = ["sweep", "gaussian", photo_folder, "--preset", "seed001", "--grid", "learning_rate=1e-4,2e-3", "--grid", "loss=l2,l1", *tiny, "--run-dir", out]
    result = n2n(*command)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "sweep.json").read_text())
    ranked = record["ranked"]
    assert {(row["learning_rate"], row["loss"]) for row in ranked} == {(1e-4, "l2"), (1e-4, "l1"), (2e-3, "l2"), (2e-3, "l1")}
    assert all(row["monitor"] == "val_psnr" for row in ranked)
    assert [row["best"] for row in ranked] == sorted((row["best"] for row in ranked), reverse=True)
    assert record["fixed"]["arch"] == "unet_bn" and record["fixed"]["crop"] == 32 and record["fixed"]["batch_size"] == 2
    for row in ranked:
        assert json.loads((out / row["run_dir"] / "config.json").read_text())["learning_rate"] == row["learning_rate"]
    table = (out / "sweep.md").read_text()
    assert table.count(f"| {ranked[0]['learning_rate']} | {ranked[0]['loss']} |") == 1 and "| 4 |" in table
    assert (out / "sweep.png").stat().st_size > 10_000

    again = n2n(*command)  # every run is complete: nothing is trained twice, the ranking is rewritten identically
    assert again.returncode == 0 and again.stderr.count("already complete") == 4
    assert json.loads((out / "sweep.json").read_text())["ranked"] == ranked


def test_sweep_grid_errors_are_one_sentence(photo_folder, tmp_path):
    cases = [
        ("learning_rat=1e-3", "error: --grid 'learning_rat=1e-3' is not KEY=V1,V2,... with KEY a training option (e.g. learning_rate=1e-4,1e-3)."),
        ("batch_size=32,big", "error: --grid 'batch_size=32,big': every value of batch_size must be an int."),
        ("crop=32,48", "error: --crop 48 must be a positive multiple of 32 (the U-Net pools 5 times)."),  # checked before any training
    ]
    for grid, expected in cases:
        result = n2n("sweep", "gaussian", photo_folder, "--grid", grid, "--run-dir", tmp_path / "s")
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and lines[-1] == expected and "Traceback" not in result.stderr
        assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_time_budget_sets_the_epochs_from_this_machine_and_resumes_with_them(photo_folder, tmp_path):
    run = tmp_path / "budget"
    budget = ["--preset", "quick", "--minutes", "0.5", "--steps", "20", "--batch-size", "2", "--crop", "64", "--val-images", "1", "--precision", "float32"]
    started = time.perf_counter()
    result = n2n("train", "gaussian", photo_folder, "--run-dir", run, *budget)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    config = json.loads((run / "config.json").read_text())
    timing = json.loads((run / "environment.json").read_text())["starts"][0]["budget_timing"]
    per_epoch = 20 * timing["step_seconds"] + timing["epoch_overhead_seconds"]
    assert config["minutes"] == 0.5 and config["epochs"] == max(1, int((30 - timing["setup_seconds"] - timing["tracing_seconds"]) // per_epoch))
    assert epochs_in(run) == list(range(1, config["epochs"] + 1))
    train_seconds = json.loads((run / "summary.json").read_text())["train_seconds_total"]
    assert train_seconds + timing["setup_seconds"] < 30 * 1.3, (train_seconds, elapsed)  # the budget holds, validation and checkpoints included
    again = n2n("train", "gaussian", photo_folder, "--run-dir", run, *budget)  # same command: the run is complete, nothing trains
    assert again.returncode == 0 and "already complete" in again.stderr and epochs_in(run) == list(range(1, config["epochs"] + 1))
