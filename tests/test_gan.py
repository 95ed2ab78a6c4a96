"""loss: gan: the PatchGAN, the adversarial step, its backup and resume, and the refusals."""

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

from colorlib.archs import discriminator_arch, unet_arch
from colorlib.color import colorclasses
from colorlib.core.params import Params
from colorlib.training import fitting, gan

SIZE = 64
#: Small feature widths, so the U-Net of these tests is tiny.
CHANNELS = {"bottleneck": 8, "stride16": 8, "stride8": 4, "stride4": 4}
FILTERS = (16, 8, 8, 8, 4)


def tiny_batches(count: int = 8, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``count`` U-Net input dicts (random features, L) and ab targets that follow L."""
    rng = np.random.default_rng(seed)
    shapes = unet_arch.input_shapes(SIZE, CHANNELS)
    inputs = {name: rng.normal(size=(count, *shape)).astype("float32") for name, shape in shapes.items()}
    inputs[unet_arch.L_INPUT] = rng.uniform(size=(count, SIZE, SIZE, 1)).astype("float32")
    ab = np.concatenate([inputs["l"] - 0.5, 0.5 - inputs["l"]], axis=-1).astype("float32")
    return inputs, ab


def tiny_trainer(seed: int = 0, classes: int | None = None) -> gan.GANTrainer:
    import keras

    keras.utils.set_random_seed(seed)
    decoder = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, classes=classes)
    return gan.GANTrainer(
        decoder, discriminator_arch.build_discriminator(SIZE, (8, 16, 16)), learning_rate=1e-3
    )


def test_the_discriminator_gives_a_grid_of_patch_logits() -> None:
    discriminator = discriminator_arch.build_discriminator(SIZE)
    inputs, ab = tiny_batches(2)
    logits = discriminator({"l": inputs["l"], "ab": ab})
    assert tuple(logits.shape) == (2, SIZE // 8, SIZE // 8, 1)


@pytest.mark.parametrize("classifier", [False, True])
def test_the_gan_step_changes_the_generator_and_the_discriminator(classifier: bool) -> None:
    trainer = tiny_trainer(classes=colorclasses.bin_count() if classifier else None)
    before_g = [np.array(weight) for weight in trainer.decoder.trainable_weights]
    before_d = [np.array(weight) for weight in trainer.discriminator.trainable_weights]
    inputs, ab = tiny_batches()
    history = trainer.fit(inputs, ab, validation_data=(inputs, ab), batch_size=4, epochs=1, verbose=0)
    assert {"loss", "l1", "adversarial", "d_loss", "val_loss", "val_l1"} <= set(history.history)
    changed = lambda model, before: any(  # noqa: E731
        not np.allclose(np.array(weight), old)
        for weight, old in zip(model.trainable_weights, before, strict=True)
    )
    assert changed(trainer.decoder, before_g) and changed(trainer.discriminator, before_d)
    assert tuple(trainer(inputs).shape) == (8, SIZE, SIZE, 2)


def test_a_backup_holds_both_networks_and_both_optimizers(tmp_path: Path) -> None:
    inputs, ab = tiny_batches()
    trainer = tiny_trainer()
    trainer.fit(inputs, ab, batch_size=4, epochs=1, verbose=0)
    trainer.save_weights(tmp_path / "gan.weights.h5")
    restored = tiny_trainer(seed=1)
    restored.load_weights(tmp_path / "gan.weights.h5")
    for mine, theirs in (
        (trainer.decoder, restored.decoder),
        (trainer.discriminator, restored.discriminator),
    ):
        for a, b in zip(mine.weights, theirs.weights, strict=True):
            np.testing.assert_array_equal(np.array(a), np.array(b))
    for mine, theirs in (
        (trainer.optimizer, restored.optimizer),
        (trainer.d_optimizer, restored.d_optimizer),
    ):
        assert int(np.array(theirs.iterations)) == 2
        for a, b in zip(mine.variables, theirs.variables, strict=True):
            np.testing.assert_array_equal(np.array(a), np.array(b))


def test_refusals_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="loss=gan needs decoder=unet"):
        Params(loss="gan")
    with pytest.raises(ValueError, match="gan_from='gan' is not known"):
        Params(loss="gan", decoder="unet", gan_from="gan")
    with pytest.raises(ValueError, match="gan_epochs"):
        Params(loss="gan", decoder="unet", gan_epochs=0)
    from colorlib import losses
    from colorlib.archs import seed_arch

    with pytest.raises(ValueError, match="not a Keras loss"):
        losses.training_loss("gan")

    seed_decoder = seed_arch.build_decoder(SIZE, channels=8)
    with pytest.raises(ValueError, match="U-Net"):
        gan.GANTrainer(seed_decoder, discriminator_arch.build_discriminator(SIZE), learning_rate=1e-3)
    with pytest.raises(ValueError, match="computes its own losses"):
        tiny_trainer().compile(loss="mse")


def test_a_backend_without_a_written_step_is_refused_with_the_ones_that_have_one(monkeypatch) -> None:
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "openvino")  # inference only
    with pytest.raises(ValueError, match=r"backend is 'openvino'.*KERAS_BACKEND=jax"):
        tiny_trainer()


def test_a_recompiled_trainer_gets_the_new_optimizer_built_and_still_trains() -> None:
    import keras

    trainer = tiny_trainer()
    optimizer = keras.optimizers.Adam(5e-4, beta_1=gan.GAN_BETA_1)
    d_state = [np.array(v) for v in trainer.d_optimizer.variables]
    trainer.compile(optimizer=optimizer, loss=None)  # what notebook 03 does for loss: gan
    assert trainer.generator_optimizer() is optimizer and optimizer.built
    # the pair of both optimizers, the discriminator's kept as it was (built once, not twice)
    assert trainer.optimizer.variables == optimizer.variables + trainer.d_optimizer.variables
    assert len(trainer.d_optimizer.variables) == len(d_state)
    inputs, ab = tiny_batches()
    before = [np.array(w) for w in trainer.decoder.weights]
    trainer.fit(inputs, ab, batch_size=4, epochs=1, verbose=0)
    assert int(optimizer.iterations.numpy()) == 2
    assert any(not np.allclose(a, np.array(b)) for a, b in zip(before, trainer.decoder.weights, strict=True))


GAN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import keras
    sys.path.insert(0, sys.argv[3])
    from test_gan import tiny_batches, tiny_trainer
    from colorlib.training import fitting

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.1)

    out, epochs = sys.argv[1], int(sys.argv[2])
    inputs, ab = tiny_batches()
    trainer = tiny_trainer()
    original_fit = trainer.fit
    trainer.fit = lambda *a, **k: original_fit(*a, **{**k, "callbacks": [*k["callbacks"], Slow()]})
    result = fitting.train(trainer, (inputs, ab), (inputs, ab), out, epochs=epochs, batch_size=4, verbose=0)
    print("initial_epoch", result.initial_epoch, "completed", result.epochs_completed)
    print("d_iterations", int(trainer.d_optimizer.iterations.numpy()))
    """
)


def kill_and_resume(script_text: str, tmp_path: Path, epochs: int) -> dict[str, list[float]]:
    """Run ``script_text`` (``script OUT EPOCHS TESTS_DIR``), kill -9 it after 2 epochs, run it again.

    Checks that the second run resumed where the backup stopped, finished, and that the
    discriminator's optimizer resumed its count too (two batches an epoch); returns the history.
    """
    script = tmp_path / "train.py"
    script.write_text(script_text)
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(script), str(out), str(epochs), str(Path(__file__).parent)]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and fitting.finished_epochs(out) < 2:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = fitting.finished_epochs(out)
    assert 2 <= killed_at < epochs

    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert f"initial_epoch {killed_at} completed {epochs}" in finished.stdout
    assert f"d_iterations {2 * epochs}" in finished.stdout
    history = fitting.read_history(out / "history.csv")
    assert history["epoch"] == [float(epoch) for epoch in range(epochs)]
    return history


@pytest.mark.slow
def test_a_gan_killed_with_sigkill_resumes_from_its_last_backup(tmp_path: Path) -> None:
    history = kill_and_resume(GAN_SCRIPT, tmp_path, epochs=12)
    assert {"d_loss", "val_l1"} <= set(history)


def prepared_gan_run(tmp_path: Path):
    """A ``loss: gan`` run of 2 adversarial epochs on 10 small photos, split and cached."""
    from test_workflow import colour_photos, run_params

    from colorlib import workflow

    photos = colour_photos(tmp_path / "photos", 10, seed=3)
    params = run_params(
        tmp_path,
        photos[0].parent,
        "gan",
        encoder="efficientnet_lite0",
        decoder="unet",
        loss="gan",
        gan_epochs=2,
    )
    workflow.prepare_dataset(params, progress=False)
    workflow.extract_run_features(params, workflow.build_run_encoder(params), progress=False)
    return params


@pytest.mark.slow
def test_a_gan_run_trains_its_generator_then_fine_tunes_it_and_colorizes(tmp_path: Path) -> None:
    from colorlib import workflow
    from colorlib.archs import colorizer_arch
    from colorlib.colorize import colorize
    from colorlib.evaluation import metrics
    from colorlib.workflow import ganepochs

    params = prepared_gan_run(tmp_path)
    result = workflow.train_run(params, verbose=0)
    paths, generator_paths = (
        workflow.run_paths(params),
        workflow.run_paths(workflow.run_model(params).start().params),
    )
    assert paths.model_dir.name == "model-gan" and generator_paths.colorizer.is_file()
    assert result.epochs_completed == 2 and "d_loss" in result.history
    tuned = colorizer_arch.split_colorizer(workflow.load_run_model(params))[1]
    pretrained = colorizer_arch.split_colorizer(
        workflow.load_run_model(workflow.run_model(params).start().params)
    )[1]
    assert any(
        not np.allclose(np.array(a), np.array(b))
        for a, b in zip(tuned.weights, pretrained.weights, strict=True)
    )
    again = workflow.train_run(params, verbose=0)  # finished: read back, nothing trained
    assert again.epochs_completed == 2
    outputs = workflow.colorize_run(params, progress=False)
    assert len(outputs["test"]) == len(workflow.load_split(params)["test"])

    # The generator after each adversarial epoch, scored on validation photos (epoch 0: before any).
    assert list(ganepochs.snapshots(params)) == [1, 2]
    rows = ganepochs.epoch_scores(params, photos=2, progress=False)
    assert [row["epoch"] for row in rows] == [0, 1, 2]
    truths = workflow.load_split(params)["validation"][:2]
    for epoch, model in ((0, workflow.load_run_model(workflow.run_model(params).start().params)), (2, None)):
        model = model or workflow.load_run_model(params)
        report = colorize.colorize_files(model, truths, tmp_path / f"check-{epoch}", progress=False)
        expected = metrics.evaluate(truths, report.written, size=params.image_size, progress=False).summary
        assert rows[epoch]["psnr"] == pytest.approx(expected["psnr"], abs=1e-6)
        assert rows[epoch]["colorfulness"] == pytest.approx(expected["colorfulness"], abs=1e-6)
    assert rows[0]["psnr"] != rows[2]["psnr"]
    assert ganepochs.epoch_scores(params, photos=2, progress=False) == rows  # read back
    assert "| 2 |" in ganepochs.epochs_markdown(rows)
    with pytest.raises(ValueError, match="only a loss: gan or ddcolor run"):
        ganepochs.epoch_scores(workflow.run_model(params).start().params)
