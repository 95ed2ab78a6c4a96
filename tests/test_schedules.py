"""Learning-rate schedules, AdamW, and early stopping that survives a resume."""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np
import pytest

from colorlib.core.io import write_json
from colorlib.core.params import Params
from colorlib.training import fitting, schedules


def test_the_schedules_give_the_documented_rates() -> None:
    step = [schedules.learning_rate_at(epoch, 1.0, 8, "step") for epoch in range(8)]
    assert step == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    cosine = [schedules.learning_rate_at(epoch, 2.0, 10, "cosine") for epoch in (0, 5, 10)]
    assert cosine == pytest.approx([2.0, 1.0, 0.0])
    assert schedules.learning_rate_at(7, 3e-4, 10) == 3e-4
    with pytest.raises(ValueError, match="choose one of constant, step, cosine"):
        schedules.learning_rate_at(0, 1.0, 10, "linear")
    with pytest.raises(ValueError, match="optimizer='sgd'"):
        Params(optimizer="sgd")
    with pytest.raises(ValueError, match="lr_schedule"):
        Params(lr_schedule="exponential")


def test_adamw_decays_weights_and_the_schedule_sets_and_logs_the_rate(tmp_path: Path) -> None:
    optimizer = schedules.make_optimizer("adamw", 1e-3, weight_decay=0.5)
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == 0.5
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    callback = schedules.EpochSchedule(1e-3, 4, "step")
    history = model.fit(x, x[:, :1], epochs=4, batch_size=8, callbacks=[callback], verbose=0)
    assert history.history["learning_rate"] == pytest.approx([1e-3, 1e-3, 5e-4, 2.5e-4])
    assert float(model.optimizer.learning_rate) == pytest.approx(2.5e-4)


def _history(out_dir: Path, values: list[float]) -> None:
    """A run killed after ``len(values)`` epochs: its history and its backup's metadata."""
    with open(out_dir / fitting.HISTORY_FILE, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "loss", "val_loss"])
        writer.writerows([epoch, 1.0, value] for epoch, value in enumerate(values))
    (out_dir / fitting.BACKUP_DIR).mkdir()
    write_json(out_dir / fitting.BACKUP_DIR / fitting.METADATA_FILE, {"epoch": len(values), "batch": 0})


def test_early_stopping_resumes_its_count_and_restores_the_best_weights_from_before_the_kill(
    tmp_path: Path,
) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    best = [np.full_like(np.asarray(weight), 7.0) for weight in model.get_weights()]
    model.set_weights(best)
    model.save_weights(tmp_path / fitting.BEST_WEIGHTS_FILE)  # epoch 2's weights, saved before the kill
    model.set_weights([np.zeros_like(weight) for weight in best])
    _history(tmp_path, [0.5, 0.4, 0.3, 0.35])  # best at epoch 2 (0-based), then one worse epoch

    stop = fitting.EarlyStop(tmp_path, patience=3)
    stop.set_model(model)
    model.stop_training = False  # what fit sets
    stop.on_train_begin()
    assert (stop.best, stop.best_epoch, stop.wait) == (0.3, 2, 1)
    stop.on_epoch_end(4, {"val_loss": 0.36})
    assert not model.stop_training
    stop.on_epoch_end(5, {"val_loss": 0.31})
    assert model.stop_training  # three epochs without progress, one of them before the kill
    stop.on_train_end()
    for weight, expected in zip(model.get_weights(), best, strict=True):
        np.testing.assert_array_equal(weight, expected)


def test_early_stopping_keeps_the_weights_of_a_new_best(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    _history(tmp_path, [0.5])
    stop = fitting.EarlyStop(tmp_path, patience=2)
    stop.set_model(model)
    stop.on_train_begin()
    stop.on_epoch_end(1, {"val_loss": 0.2})
    assert (tmp_path / fitting.BEST_WEIGHTS_FILE).is_file() and stop.wait == 0
    fitting.clear(tmp_path)
    assert not (tmp_path / fitting.BEST_WEIGHTS_FILE).exists()
    with pytest.raises(ValueError, match="val_loss"):
        stop.on_epoch_end(2, {"loss": 0.1})
