#!/bin/bash
# How the shipped models in noise2noise_keras/pretrained/ were made (bash or sbatch):
#   bash jobs/make_pretrained.sh NAME NOISE [train_model.py options]
#   e.g. bash jobs/make_pretrained.sh poisson poisson
# Trains Noise2Noise on BSDS300 train with the CPU schedule below (about 45 min on 2 cores),
# evaluates the best checkpoint on Kodak and BSDS300 test at the paper's test noise, and
# exports model.keras + config.json (training config, summary, evaluations) into the package.
#SBATCH --job-name=n2n-pretrained
#SBATCH --cpus-per-task=8 --mem=16G --time=04:00:00
#SBATCH --output=logs/%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
name=${1:?usage: make_pretrained.sh NAME NOISE [train options]}
noise=${2:?usage: make_pretrained.sh NAME NOISE [train options]}
shift 2
data_root=${N2N_DATA_ROOT:-../shared/datasets}
run_dir=runs/pretrained-$name

python train_model.py "$noise" bsds300 --preset quick --epochs 60 --steps 100 --batch-size 8 --crop 128 \
  --learning-rate 1e-3 --rampdown-fraction 0.5 --augment --seed 0 --data-root "$data_root" --run-dir "$run_dir" "$@"
for dataset in kodak bsds300; do
  python -m noise2noise_keras evaluate "$run_dir" --dataset "$dataset" --data-root "$data_root"
done
python -m noise2noise_keras export "$run_dir" "noise2noise_keras/pretrained/$name"
