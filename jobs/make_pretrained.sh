#!/bin/bash
# How the shipped models in noise2noise_keras/pretrained/ are made (bash or sbatch):
#   bash jobs/make_pretrained.sh NAME NOISE [train_model.py options]
#   e.g. bash jobs/make_pretrained.sh bernoulli bernoulli
# Trains Noise2Noise on BSDS300 train with the `cpu` preset (30k steps of 12 x 96^2 crops), evaluates the
# best checkpoint on Kodak and BSDS300 test at the paper's test noise, and exports model.keras + denoiser.json
# (training config, summary, evaluations, environment; weights only) into the package.
# The run directory lives outside the checkout, in $N2N_RUNS_DIR (default /var/tmp/n2n-runs): rerunning the
# same command resumes an unfinished run exactly where it stopped; if that folder is gone, training restarts.
# Where run directories do not outlive a job, train in stages instead: each stage starts from the last one's export,
#   e.g. bash jobs/make_pretrained.sh gaussian gaussian --epochs 50 --init-from gaussian --learning-rate 5e-4
# (the export records every stage; docs/shipped-models.md).
#SBATCH --job-name=n2n-pretrained
#SBATCH --cpus-per-task=8 --mem=16G --time=08:00:00
#SBATCH --signal=B:USR1@120 --requeue --open-mode=append
#SBATCH --output=logs/%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
name=${1:?usage: make_pretrained.sh NAME NOISE [train options]}
noise=${2:?usage: make_pretrained.sh NAME NOISE [train options]}
shift 2
data_root=${N2N_DATA_ROOT:-../shared/datasets}
run_dir=${N2N_RUNS_DIR:-/var/tmp/n2n-runs}/pretrained-$name
python=${N2N_PYTHON:-python}

"$python" train_model.py "$noise" bsds300 --preset cpu --seed 0 --data-root "$data_root" --run-dir "$run_dir" "$@"
for dataset in kodak bsds300; do
  "$python" -m noise2noise_keras evaluate "$run_dir" --dataset "$dataset" --data-root "$data_root"
done
"$python" -m noise2noise_keras export "$run_dir" "noise2noise_keras/pretrained/$name" --overwrite
