"""Training on several GPUs or machines with ``tf.distribute`` (TensorFlow backend only).

This is the one module that uses ``tf.distribute``; the rest of colorlib is Keras 3 and
backend-agnostic. Build and compile the model inside the strategy's scope, then fit as
usual; Keras splits every batch across the replicas::

    from colorlib import distribute, models

    strategy = distribute.get_strategy("mirrored")
    decoder = distribute.build_in_scope(
        strategy, lambda: models.compile_model(models.build_decoder(256))
    )
    decoder.fit(train_dataset, validation_data=validation_dataset, epochs=50)

**One machine, several GPUs: "mirrored".** ``tf.distribute.MirroredStrategy`` keeps a copy
of the model on every visible GPU (choose them with ``CUDA_VISIBLE_DEVICES=0,1``) and
averages the gradients after each step. The batch given to ``fit`` is the global batch,
split evenly across the GPUs, so scale ``batch_size`` (and often the learning rate) with
the number of GPUs: :func:`global_batch_size` does the first.

**Several machines: "multiworker".** ``tf.distribute.MultiWorkerMirroredStrategy`` does
the same across machines. Every machine runs the same command with ``TF_CONFIG`` set,
the same cluster list and its own task index, for example on the second of two::

    export TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                       "task": {"type": "worker", "index": 1}}'
    colorlib train ...

Worker 0 is the chief: only it should write checkpoints and logs to the shared run
folder. Every worker must see the same feature cache (a shared file system, or a copy).

**Splitting the feature extraction.** Extraction needs no strategy: it is embarrassingly
parallel. On n machines (or GPUs, one process each with its own ``CUDA_VISIBLE_DEVICES``)
run ``colorlib extract --shard i/n`` with i = 0..n-1. Worker i encodes images i, i+n,
i+2n, ... of every split and saves ``<split>.part-i-of-n.json`` in the run's
``features/`` folder; the last one to finish merges the parts into ``<split>.json``
(:func:`colorlib.features.merge_run_indexes` does it on demand). With a shared
``data/cache/features`` store nothing else is needed; with separate stores, copy them into
one with :func:`colorlib.featurestore.merge_stores` and merge the indexes with its folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import keras

Built = TypeVar("Built")

#: The strategies :func:`get_strategy` knows.
STRATEGIES = ("default", "mirrored", "multiworker")


def _require_tensorflow() -> Any:
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"Distributed training uses tf.distribute and needs the TensorFlow backend; Keras "
            f"runs on '{keras.backend.backend()}'. Set KERAS_BACKEND=tensorflow, or use the "
            "'default' strategy."
        )
    import tensorflow as tf

    return tf


def get_strategy(name: str = "default") -> Any:
    """A ``tf.distribute.Strategy``: ``"default"`` (one device), ``"mirrored"`` or ``"multiworker"``.

    ``"multiworker"`` reads the cluster from the ``TF_CONFIG`` environment variable and
    raises ``ValueError`` when it is missing or not JSON.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    tf = _require_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise ValueError(
            "The 'multiworker' strategy needs TF_CONFIG, the JSON list of workers and this "
            "worker's index; see the colorlib.distribute docstring for an example."
        )
    try:
        json.loads(config)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}).") from None
    return tf.distribute.MultiWorkerMirroredStrategy()


def build_in_scope(strategy: Any, build: Callable[[], Built]) -> Built:
    """Call ``build`` (which creates and compiles a model) inside ``strategy.scope()``.

    Variables made in the scope (weights, optimizer state) are mirrored on every replica.
    """
    with strategy.scope():
        return build()


def replicas(strategy: Any) -> int:
    """How many copies of the model the strategy trains in step."""
    return int(strategy.num_replicas_in_sync)


def global_batch_size(strategy: Any, per_replica: int) -> int:
    """The batch to give ``fit`` so that each replica sees ``per_replica`` examples."""
    if per_replica < 1:
        raise ValueError(f"The per-replica batch size must be at least 1, got {per_replica}.")
    return per_replica * replicas(strategy)
