"""The job scripts under a real SLURM scheduler (../shared/slurm: slurmctld + slurmd + munge, one node).

The node's GPU is a fake gres (TensorFlow finds none and runs on the CPU), so
these tests check scheduling, arguments, logs, signals, requeue and the
multi-worker runtime, not GPU speed. Resource requests are scaled down on the
command line (sbatch options override the scripts' #SBATCH lines).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

KIT = REPO.parent / "shared" / "slurm"
SMALL = ["-c", "1", "--mem=2G"]
TINY_TRAINING = ["--epochs", "1", "--steps", "2", "--batch-size", "2", "--crop", "64", "--val-images", "1", "--precision", "float32"]


def three_epochs(steps: int, batch_size: int) -> list[str]:
    """Training options of a run long enough to be stopped inside its second epoch."""
    return ["--epochs", "3", "--steps", str(steps), "--batch-size", str(batch_size), "--crop", "128", "--val-images", "1", "--precision", "float32"]


def wait_for_first_epoch(run) -> None:
    """Until the first epoch's metrics are written, and a moment more: a signal then lands inside epoch 2."""
    deadline = time.time() + 300
    while time.time() < deadline and not (run / "metrics.csv").exists():
        time.sleep(0.2)
    time.sleep(1.0)


pytestmark = pytest.mark.slow


def working_sbatch() -> bool:
    """A SLURM client on PATH that reaches a controller (a user's own cluster)."""
    return shutil.which("sbatch") is not None and subprocess.run(["sinfo", "-h"], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def slurm():
    """A running cluster; yields the environment for client commands.

    The single-node kit of ../shared/slurm when it is there and we are root (CI), else the
    cluster ``sbatch`` already reaches; otherwise the tests skip and say what they need.
    """
    if not (KIT.is_dir() and os.geteuid() == 0):
        if working_sbatch():
            yield dict(os.environ)
            return
        pytest.skip("SLURM tests need sbatch reaching a cluster, or root and ../shared/slurm to start a single-node one")
    started = subprocess.run(["bash", str(KIT / "start.sh")], capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, f"could not start SLURM: {started.stderr[-2000:]}"
    conf = re.search(r"SLURM_CONF=(\S+)", started.stdout).group(1)
    yield {**os.environ, "SLURM_CONF": conf}
    subprocess.run(["bash", str(KIT / "stop.sh")], capture_output=True, timeout=120)


@pytest.fixture
def job_env(slurm, tmp_path):
    """Jobs write their run directories and logs under tmp_path and use this interpreter."""
    return {**slurm, "N2N_RUNS_DIR": str(tmp_path / "runs"), "N2N_PYTHON": sys.executable}


def sbatch(env, tmp_path, *args, wait=False):
    command = ["sbatch", "--parsable", f"--output={tmp_path}/%x-%j.out", *(["--wait"] if wait else []), *map(str, args)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    job_id = result.stdout.strip().split(";")[0]
    return job_id, result.returncode


def wait_until_done(env, job_id, timeout=600):
    """Poll squeue (faster than sbatch --wait), then return [(state, exit code)] of every task."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        queued = subprocess.run(["squeue", "-h", "-j", job_id], env=env, capture_output=True, text=True).stdout
        if not queued.strip():
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"job {job_id} still queued after {timeout} s")
    shown = subprocess.run(["scontrol", "show", "job", job_id], env=env, capture_output=True, text=True).stdout
    return [(state, int(code)) for state, code in re.findall(r"JobState=(\S+).*?ExitCode=(\d+):\d+", shown, flags=re.S)]


def log_of(tmp_path, name, job_id):
    return (tmp_path / f"{name}-{job_id}.out").read_text()


def test_train_job_completes_with_a_full_run_directory(job_env, tmp_path):
    job_id, code = sbatch(job_env, tmp_path, *SMALL, "jobs/train.sb", "gaussian", "sample", *TINY_TRAINING, wait=True)
    assert code == 0, log_of(tmp_path, "n2n", job_id)
    run = tmp_path / "runs" / f"n2n-{job_id}"
    assert (run / "config.json").is_file() and (run / "checkpoints" / "last" / "model.keras").is_file() and (run / "metrics.csv").is_file()
    assert json.loads((run / "config.json").read_text())["dataset"] == "sample"
    log = log_of(tmp_path, "n2n", job_id)
    assert "n2n-job: job" in log and "no GPU found" in log and "validation PSNR" in log
    assert (run / f"slurm-{job_id}.out").resolve() == (tmp_path / f"n2n-{job_id}.out").resolve()


def test_array_job_trains_one_model_per_noise_type(job_env, tmp_path):
    job_id, code = sbatch(job_env, tmp_path, *SMALL, "--array=0-4", "jobs/train_all.sb", "sample", *TINY_TRAINING)
    assert code == 0
    tasks = wait_until_done(job_env, job_id)
    assert tasks == [("COMPLETED", 0)] * 5, tasks
    for noise, loss in [("gaussian", "l2"), ("poisson", "l2"), ("bernoulli", "masked_l2"), ("text", "l1"), ("impulse", "l0")]:
        run = tmp_path / "runs" / f"{noise}-noisy-{job_id}"
        config = json.loads((run / "config.json").read_text())
        assert (config["noise"], config["loss"], config["target"]) == (noise, loss, "noisy")
        assert (run / "summary.json").is_file()


def test_usr1_checkpoints_requeues_and_the_job_resumes_mid_epoch(job_env, tmp_path):
    job_id, _ = sbatch(
        job_env,
        tmp_path,
        *SMALL,
        "jobs/train.sb",
        "gaussian",
        "sample",
        *three_epochs(20, batch_size=2),
    )
    run = tmp_path / "runs" / f"n2n-{job_id}"
    wait_for_first_epoch(run)
    subprocess.run(["scancel", "--signal=USR1", "--batch", job_id], env=job_env, check=True)  # what --signal=B:USR1@120 sends
    assert wait_until_done(job_env, job_id) == [("COMPLETED", 0)]
    log = log_of(tmp_path, "n2n", job_id)
    assert "requeueing job" in log and "restart 1" in log
    resumed_at = re.search(r"resuming \S+ at epoch (\d) of 3, step (\d+)", log)
    assert resumed_at and int(resumed_at.group(2)) > 0, log
    with open(run / "metrics.csv") as handle:
        assert [line.split(",")[0] for line in handle.read().splitlines()[1:]] == ["1", "2", "3"]
    import keras

    import noise2noise_keras  # noqa: F401

    assert int(keras.saving.load_model(run / "checkpoints" / "last" / "model.keras").optimizer.iterations.numpy()) == 60


def test_two_worker_job_trains_in_sync_survives_preemption_and_only_the_chief_writes(job_env, tmp_path):
    job_id, _ = sbatch(
        job_env,
        tmp_path,
        "--nodes=1",
        "--ntasks-per-node=2",
        "-c",
        "1",
        "--mem=4G",
        "jobs/train_multinode.sb",
        "gaussian",
        "sample",
        *three_epochs(10, batch_size=4),
    )
    run = tmp_path / "runs" / f"n2n-multinode-{job_id}"
    wait_for_first_epoch(run)
    subprocess.run(["scancel", "--signal=USR1", "--batch", job_id], env=job_env, check=True)
    assert wait_until_done(job_env, job_id) == [("COMPLETED", 0)], log_of(tmp_path, "n2n-multinode", job_id)[-3000:]
    log = log_of(tmp_path, "n2n-multinode", job_id)
    stops = re.findall(r"^(\d): \S+: stopped by SIGUSR1 at epoch (\d), step (\d+)", log, flags=re.M)
    assert len(stops) == 2 and stops[0][1:] == stops[1][1:]  # both workers stopped at the same step
    assert "requeueing job" in log and len(re.findall(r"^\d: resuming", log, flags=re.M)) == 2
    fingerprints = dict(re.findall(r"^(\d): worker \d: final weights sha256 (\w+)", log, flags=re.M))
    assert set(fingerprints) == {"0", "1"} and fingerprints["0"] == fingerprints["1"]
    assert "2 replica(s) on CPU only, worker 0 of 2" in log and "worker 1 of 2" in log
    assert [path.name for path in (tmp_path / "runs").iterdir()] == [run.name]
    assert len(json.loads((run / "environment.json").read_text())["starts"]) == 2  # first start + resume, chief only
    with open(run / "metrics.csv") as handle:
        assert [line.split(",")[0] for line in handle.read().splitlines()[1:]] == ["1", "2", "3"]


def test_bad_argument_fails_fast_with_the_cli_sentence(job_env, tmp_path):
    job_id, _ = sbatch(job_env, tmp_path, *SMALL, "jobs/train.sb", "gaussian", "sample", "--crop", "100")
    assert wait_until_done(job_env, job_id, timeout=120) == [("FAILED", 2)]
    log = log_of(tmp_path, "n2n", job_id)
    assert "error: --crop 100 must be a positive multiple of 32" in log and "Traceback" not in log


def test_sweep_job_trains_every_combination_and_ranks_them(job_env, tmp_path):
    job_id, code = sbatch(job_env, tmp_path, *SMALL, "jobs/sweep.sb", "gaussian", "sample", "--grid", "arch=hourglass,unet_bn", *TINY_TRAINING, wait=True)
    assert code == 0, log_of(tmp_path, "n2n-sweep", job_id)
    sweep = tmp_path / "runs" / f"n2n-sweep-{job_id}"
    ranked = json.loads((sweep / "sweep.json").read_text())["ranked"]
    assert sorted(row["arch"] for row in ranked) == ["hourglass", "unet_bn"]
    assert all((sweep / row["run_dir"] / "checkpoints" / "last" / "model.keras").is_file() for row in ranked)
    assert "2 runs ranked in sweep.md" in log_of(tmp_path, "n2n-sweep", job_id)
