"""The tf.distribute path: a model built and compiled in the strategy's scope trains."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from colorlib import distribute, models


def test_default_strategy_builds_and_fits_in_scope():
    strategy = distribute.get_strategy("default")
    assert distribute.replicas(strategy) == 1

    def build() -> keras.Model:
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
        return models.compile_model(model, learning_rate=0.1)

    model = distribute.build_in_scope(strategy, build)
    x = np.ones((8, 4), np.float32)
    y = np.full((8, 2), 3.0, np.float32)
    before = float(model.evaluate(x, y, verbose=0))
    model.fit(x, y, batch_size=distribute.global_batch_size(strategy, 8), epochs=1, verbose=0)
    assert float(model.evaluate(x, y, verbose=0)) < before


def test_mirrored_strategy_runs_on_what_is_there():
    strategy = distribute.get_strategy("mirrored")
    assert distribute.global_batch_size(strategy, 4) == 4 * distribute.replicas(strategy)


def test_unknown_strategy_and_missing_tf_config_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="Unknown strategy"):
        distribute.get_strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.get_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        distribute.get_strategy("multiworker")
    with pytest.raises(ValueError, match="at least 1"):
        distribute.global_batch_size(distribute.get_strategy(), 0)
