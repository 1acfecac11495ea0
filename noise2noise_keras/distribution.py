"""Choosing a ``tf.distribute`` strategy: one device, several GPUs, or several workers under SLURM.

``auto`` is MirroredStrategy when this node has more than one GPU, else the
default (single-device) strategy. ``multiworker`` is
MultiWorkerMirroredStrategy with a SlurmClusterResolver: launch one task per
worker with ``srun`` (jobs/train_multinode.sb); the resolver reads the SLURM
step's tasks and nodes. ``--batch-size`` is always the **global** batch, split
evenly over all replicas. Several workers train with :func:`fit_workers`,
a loop of public APIs, because Keras 3's ``fit`` fails under
MultiWorkerMirroredStrategy.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable

import keras
import tensorflow as tf

from noise2noise_keras.errors import UserError
from noise2noise_keras.neighbor import NeighborTraining

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
            resolver = _SlurmResolver(
                len(gpus), port_base=WORKER_PORT_BASE, gpus_per_node=per_task * max_tasks_per_node(), gpus_per_task=per_task, auto_set_gpu=False
            )
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


def fit_workers(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    dataset: tf.data.Dataset,
    initial_epoch: int,
    epochs: int,
    steps_per_epoch: int,
    callbacks: list[keras.callbacks.Callback],
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """``model.fit`` for several workers, written with public APIs only.

    Keras 3's own ``fit`` does not run under MultiWorkerMirroredStrategy
    (keras-team/keras#20585: it reduces the first batch to build the model,
    which fails with "Attempt to convert a value (PerReplica...)"). This loop
    does what ``fit`` does for this project: the global batch is split over the
    replicas by ``experimental_distribute_dataset``, each replica's loss is
    divided by the replica count (the optimizer all-reduces the gradients by
    sum, so the update is the global batch's mean), and the callbacks see the
    epochs, steps and running-mean ``loss`` that ``fit`` reports.
    """
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, history], add_progbar=verbose != 0, model=model, verbose=1 if verbose == "auto" else verbose, epochs=epochs, steps=steps_per_epoch
    )
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    step = _distributed_step(model, strategy)
    model.stop_training = False
    logs: dict[str, float] = {}
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        total = 0.0
        for batch in range(steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            total += float(step(iterator))
            logs = {"loss": total / (batch + 1)}
            callback_list.on_train_batch_end(batch, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return history


def _distributed_step(model: keras.Model, strategy: tf.distribute.Strategy) -> Callable:
    replicas = strategy.num_replicas_in_sync

    def replica_step(*batch: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            if isinstance(model, NeighborTraining):  # single noisy crops: the model computes its own loss
                loss = model.batch_loss(batch[0])
            else:
                loss = model.loss(batch[1], model(batch[0], training=True))
            scaled = model.optimizer.scale_loss(loss / replicas)  # a loss-scale optimizer (float16) scales it further
        gradients = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply(gradients, model.trainable_variables)
        return loss

    @tf.function
    def step(iterator) -> tf.Tensor:
        batch = next(iterator)
        per_replica = strategy.run(replica_step, args=batch if isinstance(batch, tuple) else (batch,))
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None)

    return step
