"""The training schemes (issue 38): each is chosen by name, trains two steps on TensorFlow and on
JAX, and the GAN's step on JAX is the step TensorFlow takes. Old backups still load."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scheme_steps import SCHEMES, two_steps

from colorlib.core.params import Params
from colorlib.training import models

TESTS = Path(__file__).resolve().parent
BENCHMARKS = TESTS.parent / "benchmarks"
needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is missing: pip install -e '.[dev]'"
)


def jax_environment() -> dict[str, str]:
    return os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(TESTS)}


@pytest.mark.parametrize(
    ("overrides", "scheme", "folder"),
    [
        ({}, "RegressionModel", "model"),
        ({"loss": "huber"}, "RegressionModel", "model"),
        ({"loss": "classification"}, "ClassificationModel", "model"),
        ({"decoder": "unet", "hints": True}, "HintModel", "model"),
        ({"decoder": "unet", "loss": "gan"}, "GANModel", "model-gan"),
        ({"decoder": "unet", "loss": "ddcolor"}, "DDColorModel", "model-ddcolor"),
        ({"decoder": "unet", "loss": "gan", "hints": True}, "GANModel", "model-gan"),
    ],
)
def test_the_parameters_choose_the_scheme_by_name(overrides: dict, scheme: str, folder: str) -> None:
    model = models.model_for(Params(**overrides))
    assert type(model).__name__ == scheme and model.model_folder == folder
    with pytest.raises(ValueError, match="trains loss"):
        type(model)(Params(loss="huber" if model.params.loss == "classification" else "classification"))


def test_a_gan_starts_from_its_generator_and_a_hint_head_from_its_init_run() -> None:
    gan = models.model_for(Params(decoder="unet", loss="gan", gan_from="huber", gan_epochs=3, patience=4))
    start = gan.start()
    assert start.params.loss == "huber" and start.train_here and start.keyed
    assert (gan.epochs, gan.patience, gan.adversarial_epochs) == (3, None, 3)
    other = models.model_for(Params(decoder="unet", loss="ddcolor", generator_run="base"))
    assert other.start().params.run_name == "base" and not other.start().train_here
    spread = models.model_for(Params(decoder="unet", hints=True, hint_spread=True, init_run="plain"))
    assert spread.start().params.run_name == "plain" and not spread.start().params.hints
    assert models.model_for(Params()).start() is None


@pytest.mark.slow
@pytest.mark.parametrize("streamed", [False, True], ids=["cached-features", "photos"])
@pytest.mark.parametrize("name", list(SCHEMES))
def test_each_scheme_trains_two_steps_on_tensorflow(name: str, streamed: bool) -> None:
    result = two_steps(name, streamed)
    assert all(np.isfinite(result["losses"])) and result["changed"], result


@pytest.mark.slow
@needs_jax
def test_each_scheme_trains_two_steps_on_jax_from_cached_features_and_from_photos() -> None:
    script = TESTS / "scheme_steps.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=jax_environment(), timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and set(report["schemes"]) == set(report["streamed"]) == set(SCHEMES)
    for name in SCHEMES:
        for result in (report["schemes"][name], report["streamed"][name]):
            assert all(np.isfinite(result["losses"])) and result["changed"], (name, result)


@pytest.mark.slow
@needs_jax
def test_the_gan_step_on_jax_agrees_with_tensorflows(tmp_path: Path) -> None:
    """benchmarks/gan_step_backends.py: one step from the same weights, all four of DDColor's terms."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import gan_step_backends
    finally:
        sys.path.remove(str(BENCHMARKS))
    gan_step_backends.save(tmp_path)  # on this process's TensorFlow
    script = BENCHMARKS / "gan_step_backends.py"
    done = subprocess.run(
        [sys.executable, str(script), "check", str(tmp_path)],
        capture_output=True,
        text=True,
        env=jax_environment(),
        timeout=900,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "jax against tensorflow: largest difference" in done.stdout


def test_a_backup_of_the_trainer_before_the_optimizer_pair_loads_into_it(tmp_path: Path) -> None:
    """Backups made before this change held the generator's optimizer as the trainer's ``optimizer``
    and the discriminator's as ``d_optimizer``; the pair keeps that layout."""
    import keras
    from test_gan import tiny_batches, tiny_trainer

    from colorlib.training import gan

    class EarlierTrainer(gan.GANTrainer):
        """The trainer as it was: the generator's optimizer alone as ``optimizer``."""

        def compile(self, optimizer=None, loss=None, **kwargs) -> None:
            optimizer = optimizer or keras.optimizers.Adam(self.learning_rate, beta_1=gan.GAN_BETA_1)
            keras.Model.compile(self, optimizer=optimizer, **kwargs)
            self.optimizer.build(self.decoder.trainable_variables)
            if self.d_optimizer is not None:
                self.d_optimizer.build(self.discriminator.trainable_variables)

        def train_step(self, data):
            import tensorflow as tf

            inputs, ab = data
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                losses = self._step_losses(inputs, ab, training=True)
            g_variables, d_variables = (
                self.decoder.trainable_variables,
                self.discriminator.trainable_variables,
            )
            self.optimizer.apply(g_tape.gradient(losses["loss"], g_variables), g_variables)
            self.d_optimizer.apply(d_tape.gradient(losses["d_loss"], d_variables), d_variables)
            return self._log(losses)

    keras.utils.set_random_seed(0)
    earlier = EarlierTrainer(tiny_trainer().decoder, tiny_trainer().discriminator, learning_rate=1e-3)
    inputs, ab = tiny_batches()
    earlier.fit(inputs, ab, batch_size=4, epochs=1, verbose=0)
    earlier.save_weights(tmp_path / "earlier.weights.h5")
    restored = tiny_trainer(seed=1)
    restored.load_weights(tmp_path / "earlier.weights.h5")
    for theirs, mine in (
        (earlier.optimizer, restored.generator_optimizer()),
        (earlier.d_optimizer, restored.d_optimizer),
    ):
        assert int(np.array(mine.iterations)) == 2
        for a, b in zip(theirs.variables, mine.variables, strict=True):
            np.testing.assert_array_equal(np.array(a), np.array(b))
    restored.fit(inputs, ab, batch_size=4, epochs=1, verbose=0)  # and it trains on from there
    assert int(np.array(restored.d_optimizer.iterations)) == 4
