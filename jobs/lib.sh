# Shared by the jobs/*.sb scripts (sourced, not submitted). Bash.
# The submitted script's #SBATCH lines set the resources; these functions do the rest.

cd "${SLURM_SUBMIT_DIR:-.}" || exit 1

# runs/<name>: the job name and id (array: job id _ task id), stable across requeues.
n2n_job_name() {
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
    echo "${SLURM_JOB_NAME:-n2n}-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  else
    echo "${SLURM_JOB_NAME:-n2n}-${SLURM_JOB_ID:-local}"
  fi
}

# The run directory: ${N2N_RUNS_DIR:-runs}/${N2N_RUN_NAME:-<job name>-<job id>}.
n2n_run_dir() {
  echo "${N2N_RUNS_DIR:-runs}/${N2N_RUN_NAME:-$(n2n_job_name)}"
}

# Print where and what we run, and link the SLURM log into the run directory.
n2n_announce() {
  local run_dir=$1 log
  mkdir -p "$run_dir"
  echo "n2n-job: job ${SLURM_JOB_ID:-none} on $(hostname -s), restart ${SLURM_RESTART_COUNT:-0}, run dir $run_dir, GPUs '${CUDA_VISIBLE_DEVICES:-none}'"
  log=$(scontrol show job "${SLURM_JOB_ID:-0}" 2>/dev/null | sed -n 's/^ *StdOut=//p' | head -n 1)
  [ -n "$log" ] && [ -f "$log" ] && ln -sf "$(realpath "$log")" "$run_dir/slurm-${SLURM_JOB_ID}.out"
  return 0
}

# Run a command in the background so the batch shell can take signals (bash runs traps only
# between foreground commands), forward USR1/TERM to it, and requeue after a USR1 stop.
# The trainer exits 3 when a signal made it save its state mid-run.
n2n_run_preemptible() {
  "$@" &
  N2N_CHILD=$!
  trap n2n_on_usr1 USR1
  trap n2n_on_term TERM
  local status=0
  wait "$N2N_CHILD" || status=$?
  exit "$status"
}

# Forward signal $1 to the trainer and wait until it has saved its state; returns its status.
n2n_forward() {
  kill -"$1" "$N2N_CHILD" 2>/dev/null
  local status=0
  wait "$N2N_CHILD" || status=$?
  return "$status"
}

n2n_on_usr1() {
  echo "n2n-job: USR1 received (time limit near): saving the training state"
  local status=0
  n2n_forward USR1 || status=$?
  if [ "$status" -eq 3 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    echo "n2n-job: state saved; requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
  fi
  exit "$status"
}

n2n_on_term() {
  echo "n2n-job: SIGTERM received: saving the training state and stopping"
  local status=0
  n2n_forward TERM || status=$?
  exit "$status"
}
