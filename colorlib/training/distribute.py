"""Training on several GPUs or machines with ``tf.distribute`` (TensorFlow backend only).

This is the one module that uses ``tf.distribute``; the rest of colorlib is Keras 3 and
backend-agnostic. Build and compile the model inside the strategy's scope, then fit as
usual; Keras splits every batch across the replicas::

    from colorlib import losses
    from colorlib.archs import seed_arch
    from colorlib.training import distribute

    with distribute.scope("mirrored"):
        decoder = losses.compile_model(seed_arch.build_decoder(256))
    decoder.fit(train_dataset, validation_data=validation_dataset, epochs=50)

**One machine, several GPUs: "mirrored".** ``tf.distribute.MirroredStrategy`` keeps a copy
of the model on every visible GPU (choose them with ``CUDA_VISIBLE_DEVICES=0,1``) and
averages the gradients after each step. The batch given to ``fit`` is the global batch,
split evenly across the GPUs, so scale ``batch_size`` (and often the learning rate) with
the number of GPUs: :func:`global_batch_size` does the first.

**Several machines: not with Keras 3 yet.** ``tf.distribute.MultiWorkerMirroredStrategy``
fails inside Keras 3's ``model.fit`` (keras-team/keras#20585, still open for Keras 3.15 and
TensorFlow 2.21: "Attempt to convert a value (PerReplica...) to a Tensor");
``tests/test_distribute.py`` runs two workers on the loopback interface to show it, and
will say so when a Keras release fixes it. :func:`get_strategy` refuses ``"multiworker"``
with that explanation instead of failing in the middle of a run.

**Splitting the feature extraction** needs no strategy: it is embarrassingly parallel. On
n machines (or GPUs, one process each with its own ``CUDA_VISIBLE_DEVICES``) run
``colorlib extract --shard i/n`` with i = 0..n-1. Worker i encodes images i, i+n, i+2n, ...
of every split and saves ``<split>.part-i-of-n.json`` in the run's ``features/`` folder; the
last one to finish merges the parts into ``<split>.json``. With a shared
``data/cache/features`` store nothing else is needed; with separate stores, copy them into
one with :func:`colorlib.data.featurestore.merge_stores`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import keras

#: The strategies :func:`get_strategy` knows.
STRATEGIES = ("default", "mirrored")
#: Why "multiworker" is refused (see the module docstring).
MULTIWORKER_UNSUPPORTED = (
    "The 'multiworker' strategy (tf.distribute.MultiWorkerMirroredStrategy) does not work with "
    "Keras 3's model.fit (keras-team/keras#20585); use 'mirrored' for several GPUs on one "
    "machine, and `colorlib extract --shard i/n` to split the feature extraction across machines."
)


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
    """A ``tf.distribute.Strategy``: ``"default"`` (one device) or ``"mirrored"`` (every local GPU)."""
    if name == "multiworker":
        raise ValueError(MULTIWORKER_UNSUPPORTED)
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    tf = _require_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    return tf.distribute.MirroredStrategy()


def scope(name: str = "default") -> contextlib.AbstractContextManager:
    """Where to build and compile a model for the strategy ``name``.

    ``"default"`` needs no tf.distribute (nothing happens), so JAX and PyTorch backends
    train too; other strategies enter ``strategy.scope()``.
    """
    if name == "default":
        return contextlib.nullcontext()
    return get_strategy(name).scope()


def replicas(strategy: Any) -> int:
    """How many copies of the model the strategy trains in step."""
    return int(strategy.num_replicas_in_sync)


def global_batch_size(strategy: Any, per_replica: int) -> int:
    """The batch to give ``fit`` so that each replica sees ``per_replica`` examples."""
    if per_replica < 1:
        raise ValueError(f"The per-replica batch size must be at least 1, got {per_replica}.")
    return per_replica * replicas(strategy)
