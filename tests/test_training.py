"""Training: it learns, it backs up atomically (Keras BackupAndRestore), it resumes after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from colorlib.color import lab
from colorlib.core.config import SEED
from colorlib.evaluation import metrics
from colorlib.training import fitting

SIZE = 64
#: CIE (a, b) of the two texture classes: striped regions are red, dotted regions are blue.
RED_AB = (55.0, 40.0)
BLUE_AB = (15.0, -55.0)


def texture_image(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """RGB float32 (size, size, 3): each 32×32 block is striped and red, or dotted and blue."""
    block = 32
    lab_image = np.zeros((size, size, 3), dtype=np.float32)
    rows, cols = np.mgrid[0:block, 0:block]
    for top in range(0, size, block):
        for left in range(0, size, block):
            striped = rng.random() < 0.5
            if striped:
                period = int(rng.integers(4, 7))
                lightness = np.where((rows + int(rng.integers(period))) % period < period // 2, 35.0, 75.0)
                ab = RED_AB
            else:
                spacing = int(rng.integers(6, 9))
                dots = ((rows % spacing) < 2) & ((cols % spacing) < 2)
                lightness = np.where(dots, 30.0, 65.0)
                ab = BLUE_AB
            lab_image[top : top + block, left : left + block, 0] = lightness
            lab_image[top : top + block, left : left + block, 1:] = ab
    return lab.lab_to_rgb(lab_image)


def texture_dataset(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rgb = np.stack([texture_image(rng) for _ in range(count)])
    l_norm, ab_norm = lab.split_lab(rgb)
    return rgb, l_norm, ab_norm


def train_and_score(decoder, encoder, train, validation, test_rgb, test_l, out_dir: Path, epochs: int = 25):
    """Train ``decoder`` on ``(inputs, ab)`` pairs; ``(result, model PSNR, gray PSNR)`` on the test photos."""
    from colorlib.archs import colorizer_arch

    result = fitting.train(
        decoder, train, validation, out_dir / "model", epochs=epochs, batch_size=16, verbose=0
    )
    colorizer = colorizer_arch.build_colorizer(encoder, result.model)
    model_rgb = lab.merge_lab(test_l, colorizer.predict(test_l, verbose=0))
    truth = lab.to_uint8(test_rgb)
    scores = [
        np.mean([metrics.psnr(t, p) for t, p in zip(truth, lab.to_uint8(rgb), strict=True)])
        for rgb in (model_rgb, lab.gray_rgb_from_l(test_l))
    ]
    return result, *scores


@pytest.mark.slow
def test_short_training_from_random_encoder_beats_gray_baseline(tmp_path: Path) -> None:
    """End to end through LAB, normalization and reconstruction: colour follows texture."""
    import keras

    from colorlib import losses
    from colorlib.archs import colorizer_arch, seed_arch

    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder(None, SIZE)
    _, train_l, train_ab = texture_dataset(96, seed=1)
    _, val_l, val_ab = texture_dataset(16, seed=2)
    test_rgb, test_l, _ = texture_dataset(16, seed=3)
    train_features = encoder.predict(train_l, batch_size=32, verbose=0)
    val_features = encoder.predict(val_l, batch_size=32, verbose=0)

    decoder = losses.compile_model(seed_arch.build_decoder(SIZE), learning_rate=2e-3)
    train, validation = (train_features, train_ab), (val_features, val_ab)
    result, model_psnr, gray_psnr = train_and_score(
        decoder, encoder, train, validation, test_rgb, test_l, tmp_path
    )
    print(f"held-out PSNR: model {model_psnr:.2f} dB, gray baseline {gray_psnr:.2f} dB")
    assert model_psnr > gray_psnr + 3.0
    assert result.history["val_loss"][-1] < result.history["val_loss"][0]


def _tiny_model(kernel_initializer: str = "glorot_uniform"):
    import keras
    from keras import layers

    from colorlib import losses

    inputs = keras.Input((4,))
    outputs = layers.Dense(1, kernel_initializer=kernel_initializer)(inputs)
    return losses.compile_model(keras.Model(inputs, outputs), learning_rate=1e-2)


def _tiny_data(count: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(count, 4)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")


def test_backup_and_history_every_epoch(tmp_path: Path) -> None:
    data = _tiny_data()
    result = fitting.train(_tiny_model(), data, data, tmp_path, epochs=3, batch_size=16, verbose=0)
    metadata = fitting.read_metadata(tmp_path)
    assert metadata["epoch"] == 3 and metadata["finished"]
    assert sorted(path.name for path in (tmp_path / "backup").iterdir()) == [
        "latest.weights.h5",
        "training_metadata.json",
    ]
    assert result.history["epoch"] == [0.0, 1.0, 2.0]
    assert result.epochs_completed == 3
    assert not list(tmp_path.rglob(".*"))  # no temporary files left


def test_backup_restores_weights_and_optimizer_state(tmp_path: Path) -> None:
    data = _tiny_data()
    first = fitting.train(_tiny_model(), data, data, tmp_path, epochs=2, batch_size=16, verbose=0)
    restored = _tiny_model()
    again = fitting.train(restored, data, data, tmp_path, epochs=2, batch_size=16, verbose=0)
    assert again.initial_epoch == 2
    for mine, theirs in zip(first.model.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert int(restored.optimizer.iterations) == int(first.model.optimizer.iterations) > 0


def test_finished_run_is_not_trained_again_and_more_epochs_continue(tmp_path: Path) -> None:
    data = _tiny_data()
    fitting.train(_tiny_model(), data, data, tmp_path, epochs=2, batch_size=16, verbose=0)
    again = fitting.train(_tiny_model(), data, data, tmp_path, epochs=2, batch_size=16, verbose=0)
    assert again.initial_epoch == 2 and again.epochs_completed == 2
    longer = fitting.train(_tiny_model(), data, data, tmp_path, epochs=4, batch_size=16, verbose=0)
    assert longer.initial_epoch == 2
    assert longer.history["epoch"] == [0.0, 1.0, 2.0, 3.0]
    fresh = fitting.train(_tiny_model(), data, data, tmp_path, epochs=1, batch_size=16, fresh=True, verbose=0)
    assert fresh.initial_epoch == 0 and fresh.history["epoch"] == [0.0]


def test_training_needs_a_validation_set(tmp_path: Path) -> None:
    data = _tiny_data()
    with pytest.raises(ValueError, match="validation"):
        fitting.train(_tiny_model(), data, None, tmp_path, epochs=1)


def test_early_stopping_keeps_the_run_finished(tmp_path: Path) -> None:
    # Training pulls the weights from zero towards those of y; the validation targets are y / 2,
    # so the validation loss must fall until the weights pass half-way, then rise. This does not
    # depend on the random initial weights, which vary with the order the tests run in.
    x, y = _tiny_data()
    result = fitting.train(
        _tiny_model("zeros"), (x, y), (x, y / 2), tmp_path, epochs=60, batch_size=4, patience=1, verbose=0
    )
    assert result.stopped_early and result.epochs_completed < 60
    # The model holds the best epoch's weights, the one before the last (patience 1), and says so.
    losses = result.history["val_loss"]
    assert result.kept_epoch == losses.index(min(losses)) == result.epochs_completed - 2
    assert result.kept_val_loss == min(losses) < losses[-1]
    assert result.model.evaluate(x, y / 2, verbose=0) == pytest.approx(min(losses), rel=1e-4)
    again = fitting.train(
        _tiny_model("zeros"), (x, y), (x, y / 2), tmp_path, epochs=60, batch_size=4, patience=1, verbose=0
    )
    assert again.epochs_completed == result.epochs_completed


def test_the_kept_epoch_is_the_best_with_early_stopping_and_the_last_without() -> None:
    history = {"epoch": [0, 1, 2, 3], "val_loss": [0.5, 0.2, 0.3, 0.2]}
    assert fitting.kept_epoch(history, early_stopping=True) == 1  # the first of the lowest
    assert fitting.kept_epoch(history, early_stopping=False) == 3
    assert fitting.kept_epoch({"epoch": [], "val_loss": []}, early_stopping=True) is None


TRAIN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import keras, numpy as np
    from colorlib.training import fitting

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.05)

    out, epochs = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse")
    original_fit = model.fit
    model.fit = lambda *a, **k: original_fit(*a, **{**k, "callbacks": [*k["callbacks"], Slow()]})
    result = fitting.train(model, (x, y), (x, y), out, epochs=epochs, batch_size=8, verbose=0)
    print("initial_epoch", result.initial_epoch, "completed", result.epochs_completed)
    """
)


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_from_last_backup(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, str(script), str(out), "40"], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if fitting.finished_epochs(out) >= 2:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = fitting.finished_epochs(out)
    assert 2 <= killed_at < 40

    finished = subprocess.run(
        [sys.executable, str(script), str(out), "40"], env=env, capture_output=True, text=True, check=True
    )
    assert f"initial_epoch {killed_at} completed 40" in finished.stdout
    history = fitting.read_history(out / "history.csv")
    assert history["epoch"] == [float(epoch) for epoch in range(40)]
