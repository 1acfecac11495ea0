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
from collections.abc import Callable

import tensorflow as tf

from noise2noise_keras.errors import UserError

log = logging.getLogger(__name__)

STRATEGIES = ("auto", "none", "mirrored", "multiworker")
WORKER_PORT_BASE = 28888


def make_strategy(name: str) -> tf.distribute.Strategy:
    """Create the strategy; must run before TensorFlow executes any operation."""
    gpus = tf.config.list_physical_devices("GPU")
    if name == "multiworker":
        try:
            resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(port_base=WORKER_PORT_BASE, gpus_per_node=len(gpus), auto_set_gpu=bool(gpus))
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
