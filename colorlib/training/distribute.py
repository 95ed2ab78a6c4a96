"""Training on several devices or machines: ``tf.distribute`` on TensorFlow, Keras' distribution on JAX.

This is the one module that chooses devices; the rest of colorlib is Keras 3 and
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

**Several devices and machines on JAX: "data_parallel".** Keras' own distribution API
(``keras.distribution.DataParallel``) keeps a copy of the model on every device of every process
and averages the gradients; it is what Keras maintains for several machines. Start one process
per machine and join them with :func:`initialize` (``keras.distribution.initialize``, which wraps
``jax.distributed.initialize``; ``colorlib train --coordinator HOST:PORT --num-processes N
--process-id I``, or the ``KERAS_DISTRIBUTION_*`` variables). ``batch_size`` is the global batch:
each process reads its own ``batch_size / N`` photos of each step (:func:`process`) and only
process 0 writes (:func:`is_chief`).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

#: The strategies: one device, TensorFlow's mirrored GPUs, JAX's data parallelism (:func:`scope`).
STRATEGIES = ("default", "mirrored", "data_parallel")
#: The strategy of Keras' own distribution API (JAX).
DATA_PARALLEL = "data_parallel"
#: Why "multiworker" is refused (see the module docstring).
MULTIWORKER_UNSUPPORTED = (
    "The 'multiworker' strategy (tf.distribute.MultiWorkerMirroredStrategy) does not work with "
    "Keras 3's model.fit (keras-team/keras#20585); use 'mirrored' for several GPUs on one "
    "machine, 'data_parallel' on JAX (KERAS_BACKEND=jax) for several machines, and "
    "`colorlib extract --shard i/n` to split the feature extraction across machines."
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
    if name == DATA_PARALLEL:
        raise ValueError("'data_parallel' is Keras' distribution on JAX, not a tf.distribute strategy.")
    tf = _require_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    return tf.distribute.MirroredStrategy()


def scope(name: str = "default") -> contextlib.AbstractContextManager:
    """Where to build and compile a model for the strategy ``name``.

    ``"default"`` needs no tf.distribute (nothing happens), so JAX and PyTorch backends
    train too; ``"data_parallel"`` makes Keras' ``DataParallel`` over every device the run's
    distribution (:func:`use_data_parallel`: it must hold for the fit too); other strategies
    enter ``strategy.scope()``.
    """
    if name == "default":
        return contextlib.nullcontext()
    if name == DATA_PARALLEL:
        use_data_parallel()
        return contextlib.nullcontext()
    return get_strategy(name).scope()


def _require_jax(what: str) -> None:
    if keras.backend.backend() != "jax":
        raise ValueError(
            f"{what} uses Keras' distribution API, which colorlib runs on JAX; Keras runs on "
            f"'{keras.backend.backend()}'. Set KERAS_BACKEND=jax. On TensorFlow, 'mirrored' uses every "
            "GPU of one machine, and several machines do not work with Keras 3 (keras-team/keras#20585)."
        )


def initialize(
    coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None
) -> bool:
    """Join the processes of a run on several machines (or several processes of one): Keras'
    ``keras.distribution.initialize`` (``jax.distributed.initialize``), from the arguments or the
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``..._NUM_PROCESSES`` and ``..._PROCESS_ID`` variables.

    Returns False, doing nothing, when neither gives a coordinator. ``coordinator`` is
    ``HOST:PORT`` of process 0, the same for every process; ``process_id`` is this one's, 0..N-1.
    """
    import os

    coordinator = coordinator or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if not coordinator:
        return False
    _require_jax("Training on several processes")
    if num_processes is None or process_id is None:
        try:
            num_processes = int(os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"])
            process_id = int(os.environ["KERAS_DISTRIBUTION_PROCESS_ID"])
        except (KeyError, ValueError):
            raise ValueError(
                "A run on several processes needs --num-processes N and --process-id I (0..N-1) with "
                "--coordinator, or the KERAS_DISTRIBUTION_NUM_PROCESSES and _PROCESS_ID variables."
            ) from None
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in 0..{num_processes - 1}, got {process_id}.")
    keras.distribution.initialize(coordinator, num_processes, process_id)
    return True


def use_data_parallel() -> None:
    """Make ``keras.distribution.DataParallel`` over every device of every process the run's
    distribution (once). Each process feeds its own slice of every batch (``auto_shard_dataset``
    off: colorlib's datasets slice themselves, :func:`process`)."""
    _require_jax("The 'data_parallel' strategy")
    current = keras.distribution.distribution()
    if isinstance(current, keras.distribution.DataParallel):
        return
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    )


def process() -> tuple[int, int]:
    """``(this process's index, the number of processes)`` of the run: ``(0, 1)`` unless several
    JAX processes were joined by :func:`initialize`."""
    if keras.backend.backend() != "jax":
        return 0, 1
    import jax

    return int(jax.process_index()), int(jax.process_count())


def local_devices(name: str = "default") -> int:
    """How many devices of this process a step of the strategy ``name`` splits its batch over."""
    if name != DATA_PARALLEL:
        return 1
    _require_jax("The 'data_parallel' strategy")
    import jax

    return int(jax.local_device_count())


def is_chief() -> bool:
    """Whether this process writes the run's files (backups, history, the model): process 0."""
    return process()[0] == 0


def save_on_chief(
    path: Path | str, save: Callable[[Path], None], suffix: str, chief: bool | None = None
) -> None:
    """``save(file)`` on every process, kept at ``path`` (atomically) by process 0 only.

    Every process must take part: reading the weights of a model distributed over several processes
    is a collective step. The others save to a temporary file they remove. ``chief`` overrides
    :func:`is_chief` (a callback told whether it writes).
    """
    from colorlib.core.io import atomic_write

    if is_chief() if chief is None else chief:
        with atomic_write(path, suffix=suffix) as temporary:
            save(temporary)
        return
    with tempfile.TemporaryDirectory() as folder:
        save(Path(folder) / f"discarded{suffix}")


def barrier(what: str) -> None:
    """Wait until every process of the run gets here (nothing to wait for with one): after process 0
    wrote ``what``, before the others read it."""
    if process()[1] == 1:
        return
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(what)


def agree(flag: bool) -> bool:
    """Process 0's ``flag``, on every process (itself with one): for decisions that start a
    collective step, such as a backup due by each process's own clock."""
    if process()[1] == 1:
        return flag
    import numpy as np
    from jax.experimental import multihost_utils

    return bool(multihost_utils.broadcast_one_to_all(np.asarray(flag)))


def replicas(strategy: Any) -> int:
    """How many copies of the model the strategy trains in step."""
    return int(strategy.num_replicas_in_sync)


def global_batch_size(strategy: Any, per_replica: int) -> int:
    """The batch to give ``fit`` so that each replica sees ``per_replica`` examples."""
    if per_replica < 1:
        raise ValueError(f"The per-replica batch size must be at least 1, got {per_replica}.")
    return per_replica * replicas(strategy)
