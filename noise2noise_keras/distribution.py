"""Choosing a ``tf.distribute`` strategy: one device, several GPUs, or several workers under SLURM.

``auto`` is MirroredStrategy when this node has more than one GPU, else the
default (single-device) strategy. ``multiworker`` is
MultiWorkerMirroredStrategy with a SlurmClusterResolver: launch one task per
worker with ``srun`` (jobs/train_multinode.sb); the resolver reads the SLURM
step's tasks and nodes. ``--batch-size`` is always the **global** batch, split
evenly over all replicas.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable

import keras
import tensorflow as tf

from noise2noise_keras.errors import UserError

log = logging.getLogger(__name__)

STRATEGIES = ("auto", "none", "mirrored", "multiworker")
WORKER_PORT_BASE = 28888


def make_strategy(name: str) -> tf.distribute.Strategy:
    """Create the strategy; must run before TensorFlow executes any operation."""
    gpus = tf.config.list_physical_devices("GPU")
    if name == "multiworker":
        # The resolver pairs tasks with GPU ids and breaks on 0 GPUs per task; give it per-task
        # bookkeeping (SLURM's own --gpus-per-task binding decides which GPU a task sees).
        per_task = max(len(gpus), 1)
        try:
            resolver = _SlurmResolver(len(gpus), port_base=WORKER_PORT_BASE, gpus_per_node=per_task * max_tasks_per_node(), gpus_per_task=per_task, auto_set_gpu=False)
        except (KeyError, RuntimeError) as error:
            raise UserError(f"--strategy multiworker needs a SLURM job step launched with srun ({error}): use jobs/train_multinode.sb.") from None
        communication = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.NCCL if gpus else tf.distribute.experimental.CommunicationImplementation.RING
        )
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver, communication_options=communication)
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    if name in ("auto", "none"):
        return tf.distribute.get_strategy()
    raise UserError(f"Unknown strategy '{name}': use one of {', '.join(STRATEGIES)}.")


class _SlurmResolver(tf.distribute.cluster_resolver.SlurmClusterResolver):
    """Reports the GPUs this task really sees (the parent reports its bookkeeping, 1 even on CPU nodes)."""

    def __init__(self, visible_gpus: int, **kwargs) -> None:
        self._visible_gpus = visible_gpus
        super().__init__(**kwargs)

    def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
        return {"GPU": self._visible_gpus} if self._visible_gpus else {}


def max_tasks_per_node() -> int:
    """The largest task count on any node of this SLURM step (``SLURM_STEP_TASKS_PER_NODE``, e.g. ``2(x3),1``)."""
    counts = re.findall(r"(\d+)(?:\(x\d+\))?", os.environ.get("SLURM_STEP_TASKS_PER_NODE", os.environ.get("SLURM_TASKS_PER_NODE", "1")))
    return max((int(count) for count in counts), default=1)


def worker_info(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """``(worker_index, num_workers)``; worker 0 is the chief, the only one that writes files."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and resolver is not None:
        return int(resolver.task_id or 0), resolver.cluster_spec().num_tasks("worker")
    return 0, 1


def any_worker_flag(strategy: tf.distribute.Strategy) -> Callable[[bool], bool]:
    """A function turning this worker's flag into "is it set on any worker?" (an all-reduce)."""
    if worker_info(strategy)[1] == 1:
        return bool

    @tf.function
    def summed(flag):
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(flag)), axis=None)

    return lambda flag: bool(summed(tf.constant(1.0 if flag else 0.0)) > 0)


def describe_devices(strategy: tf.distribute.Strategy) -> str:
    """One line naming what training runs on."""
    gpus = tf.config.list_physical_devices("GPU")
    index, workers = worker_info(strategy)
    where = f"{len(gpus)} GPU(s)" if gpus else "CPU only"
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s) on {where}" + (f", worker {index} of {workers}" if workers > 1 else "")


def build_for_multiworker(model: keras.Model, strategy: tf.distribute.Strategy, sample_batch: tuple) -> None:
    """Work around two Keras 3 bugs that break ``fit`` under MultiWorkerMirroredStrategy.

    1. ``fit`` builds the model by ``strategy.reduce``-ing the first (input,
       target) batch, which fails for a tuple ("Attempt to convert a value
       (PerReplica...)"); the build only needs shapes, so a local batch does.
    2. Each step's logs are reduced with ``strategy.reduce("MEAN", v, axis=0)``,
       which fails on the scalar loss ("Invalid reduction dimension 0"); we
       make Keras average the logs over this worker's replicas instead. Only
       the logged loss is affected: gradients are still all-reduced over every
       worker by the optimizer.
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    with strategy.scope():
        model._symbolic_build(data_batch=sample_batch)  # noqa: SLF001
    model._maybe_symbolic_build = lambda *args, **kwargs: None  # noqa: SLF001
    tf_trainer._collective_all_reduce_multi_worker = lambda strategy: False  # noqa: SLF001
