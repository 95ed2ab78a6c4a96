"""Several devices and processes: the tf.distribute strategies on TensorFlow, and Keras' DataParallel on
JAX, one process on two devices and two processes on 127.0.0.1 against one (``tests/distributed_run.py``)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from colorlib import losses
from colorlib.training import distribute, fitting

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is missing: pip install -e '.[dev]'"
)


def test_default_strategy_builds_and_fits_in_scope(tmp_path: Path):
    with distribute.scope("default"):
        inputs = keras.Input((4,))
        model = losses.compile_model(keras.Model(inputs, keras.layers.Dense(2)(inputs)), learning_rate=0.1)
    x = np.ones((8, 4), np.float32)
    y = np.full((8, 2), 3.0, np.float32)
    before = float(model.evaluate(x, y, verbose=0))
    fitting.train(model, (x, y), (x, y), tmp_path, epochs=1, batch_size=8, verbose=0)
    assert float(model.evaluate(x, y, verbose=0)) < before


def test_mirrored_strategy_runs_on_what_is_there():
    strategy = distribute.get_strategy("mirrored")
    assert distribute.global_batch_size(strategy, 4) == 4 * distribute.replicas(strategy)
    with distribute.scope("mirrored"):
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert model.weights


def test_unknown_and_multiworker_strategies_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="Unknown strategy"):
        distribute.get_strategy("tpu")
    with pytest.raises(ValueError, match=r"keras-team/keras#20585.*--shard"):
        distribute.get_strategy("multiworker")
    with pytest.raises(ValueError, match="at least 1"):
        distribute.global_batch_size(distribute.get_strategy(), 0)


HARNESS = Path(__file__).resolve().parent / "distributed_run.py"


def _free_port() -> int:
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def jax_run(
    shards: Path, out: Path, processes: int = 1, devices: int = 1, cut: str | None = None
) -> list[str]:
    """``tests/distributed_run.py`` on JAX: one process (with ``devices`` virtual CPU devices), or
    ``processes`` joined on 127.0.0.1; returns each process's output, after checking it ended as asked."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    port = _free_port()
    command = [sys.executable, str(HARNESS), str(shards), str(out)] + (["--cut", cut] if cut else [])
    runs = [
        subprocess.Popen(
            [
                *command,
                *(
                    ["--processes", str(processes), "--index", str(index), "--port", str(port)]
                    if processes > 1
                    else []
                ),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index in range(processes)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for index, (run, output) in enumerate(zip(runs, outputs, strict=True)):
        assert run.returncode == (3 if cut else 0), f"process {index}:\n{output[-3000:]}"
    return outputs


def final_weights(out: Path) -> list[np.ndarray]:
    import h5py

    found = []
    with h5py.File(out / "final.weights.h5") as weights:
        weights.visititems(
            lambda name, item: found.append(np.array(item)) if isinstance(item, h5py.Dataset) else None
        )
    return found


@pytest.fixture(scope="module")
def photo_shards(tmp_path_factory) -> Path:
    """16 training and 4 validation photos (two-coloured patterns), packed into shards of 5."""
    from test_streaming import pattern_photos

    from colorlib.data import shards

    folder = tmp_path_factory.mktemp("shards")
    photos = pattern_photos(folder / "photos", 20)
    shards.pack(
        {"train": photos[:16], "validation": photos[16:]},
        folder / "shards",
        photos_per_shard=5,
        progress=False,
    )
    return folder / "shards"


@pytest.mark.slow
@needs_jax
def test_data_parallel_on_two_devices_and_on_two_processes_takes_the_one_device_steps(photo_shards, tmp_path):
    """Two virtual CPU devices of one process, and two processes on 127.0.0.1 each feeding its half of
    every batch, train the weights one process on one device gets from the whole batches."""
    jax_run(photo_shards, tmp_path / "one")
    output = jax_run(photo_shards, tmp_path / "devices", devices=2)[0]
    assert "process 0 of 1: trained on ['cpu:0', 'cpu:1']" in output
    outputs = jax_run(photo_shards, tmp_path / "processes", processes=2)
    assert "process 0 of 2" in outputs[0] and "process 1 of 2" in outputs[1]
    one = final_weights(tmp_path / "one")
    for other in ("devices", "processes"):
        for mine, theirs in zip(one, final_weights(tmp_path / other), strict=True):
            np.testing.assert_allclose(theirs, mine, atol=1e-5)


@pytest.mark.slow
@needs_jax
def test_two_processes_cut_inside_an_epoch_resume_and_end_where_an_unbroken_run_does(photo_shards, tmp_path):
    jax_run(photo_shards, tmp_path / "unbroken", processes=2)
    jax_run(photo_shards, tmp_path / "cut", processes=2, cut="1:1")  # both stop after batch 1 of epoch 1
    assert fitting.read_metadata(tmp_path / "cut") == {"epoch": 1, "batch": 2, "finished": False}
    outputs = jax_run(photo_shards, tmp_path / "cut", processes=2)
    assert all("Resuming epoch 2 of 3 after batch 2" in output for output in outputs)
    assert fitting.read_history(tmp_path / "cut" / "history.csv")["epoch"] == [0.0, 1.0, 2.0]  # each once
    for mine, theirs in zip(
        final_weights(tmp_path / "unbroken"), final_weights(tmp_path / "cut"), strict=True
    ):
        np.testing.assert_allclose(theirs, mine, atol=1e-6)
