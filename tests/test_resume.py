"""Backups inside an epoch, and resuming there: a kill costs minutes, not an epoch."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from test_features import encoder, extract, photos  # noqa: F401 (fixtures)

from colorlib.core.io import write_json
from colorlib.data import featuredata
from colorlib.training import fitting, resume

EPOCHS, STEPS = 4, 3


class Cut(keras.callbacks.Callback):
    """Stops the process's training, as a kill would, after batch ``batch`` (0-based) of ``epoch``."""

    def __init__(self, epoch: int, batch: int) -> None:
        super().__init__()
        self.at, self.epoch = (epoch, batch), -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("cut")


def mean_ab_model(feature_shape) -> keras.Model:
    """Predicts each photo's mean ab from its features; Adam, so the optimizer state matters."""
    inputs = keras.Input(feature_shape)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)

    def loss(ab, predicted):
        return keras.ops.mean(keras.ops.square(keras.ops.mean(ab, axis=(1, 2)) - predicted))

    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    return model


def training(index, out: Path, cut: Cut | None = None, every_s: float | None = 0.0):
    """One session of a resumable run: the rest of a cut-off epoch, then ``fit``; returns the model."""
    keras.utils.set_random_seed(0)
    train = featuredata.FeatureDataset(index, 2, shuffle=True, seed=1, steps_per_epoch=STEPS)
    validation = featuredata.FeatureDataset(index, 4, shuffle=False)
    model = mean_ab_model(train.feature_shape)
    callbacks = [featuredata.DatasetEpoch(train), *fitting.callbacks(out, patience=3, backup_every_s=every_s)]
    if cut is not None:
        callbacks.append(cut)  # after the backup, which has saved that batch
    resume.finish_interrupted_epoch(model, train, validation, EPOCHS, callbacks, verbose=0)
    model.fit(train, validation_data=validation, epochs=EPOCHS, callbacks=callbacks, shuffle=False, verbose=0)
    return model


def test_the_rest_of_an_epoch_is_the_batches_after_the_cut(photos, encoder, tmp_path):  # noqa: F811
    index = extract(photos, encoder, tmp_path / "cache", views=3)
    dataset = featuredata.FeatureDataset(index, 2, shuffle=True, seed=1, steps_per_epoch=STEPS)
    dataset.set_epoch(2)
    whole = [dataset.positions(i).tolist() for i in range(len(dataset))]
    dataset.start_at(1)
    assert len(dataset) == STEPS - 1
    assert [dataset.positions(i).tolist() for i in range(len(dataset))] == whole[1:]
    with pytest.raises(ValueError, match="cannot start at 3"):
        dataset.start_at(STEPS)
    dataset.start_at(0)
    assert len(dataset) == STEPS


def test_a_run_cut_inside_an_epoch_ends_where_an_unbroken_one_does(photos, encoder, tmp_path, capsys):  # noqa: F811
    index = extract(photos, encoder, tmp_path / "cache", views=3)  # 15 entries: 8 batches of 2 a pass
    unbroken = training(index, tmp_path / "unbroken")

    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        training(index, out, cut=Cut(epoch=1, batch=1))  # after 2 of epoch 2's 3 batches
    assert fitting.finished_epochs(out) == 1 and resume.interrupted_batches(out) == 2
    assert fitting.read_history(out / fitting.HISTORY_FILE)["epoch"] == [0.0]

    resumed = training(index, out)
    assert "Resuming epoch 2 of 4 after batch 2: 1 batches left." in capsys.readouterr().out
    # The same weights as the unbroken run: the optimizer state came back, and the rest of epoch 2
    # trained on its last batch only, not on all three again.
    for mine, theirs in zip(resumed.get_weights(), unbroken.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    history = fitting.read_history(out / fitting.HISTORY_FILE)
    assert history["epoch"] == [0.0, 1.0, 2.0, 3.0]
    expected = fitting.read_history(tmp_path / "unbroken" / fitting.HISTORY_FILE)
    np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=1e-5)
    assert fitting.read_metadata(out) == {"epoch": EPOCHS, "batch": 0, fitting.FINISHED: True}

    again = training(index, out)  # finished: nothing is trained
    for mine, theirs in zip(again.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert "Resuming" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("every_s", "cut_after", "held"),
    [(3600.0, 1, 0), (0.0, STEPS - 1, STEPS - 1)],
    ids=["none-inside-the-hour", "none-after-the-epochs-last-batch"],
)
def test_a_backup_inside_an_epoch_waits_the_chosen_seconds_and_leaves_out_its_last_batch(
    photos,  # noqa: F811
    encoder,  # noqa: F811
    tmp_path,
    every_s,
    cut_after,
    held,
):
    index = extract(photos, encoder, tmp_path / "cache", views=3)
    with pytest.raises(KeyboardInterrupt):
        training(index, tmp_path / "run", cut=Cut(epoch=1, batch=cut_after), every_s=every_s)
    # Within the hour, the backup holds the first epoch only. After the last batch of an epoch it
    # holds the one before: an epoch's last backup is the one after it, with its validation and
    # its row in history.csv, which the cut came before. So the rest is never an empty epoch.
    assert fitting.read_metadata(tmp_path / "run") == {"epoch": 1, "batch": held, fitting.FINISHED: False}
    assert resume.interrupted_batches(tmp_path / "run") == held
    with pytest.raises(ValueError, match="every_s must be 0 or more"):
        fitting.Backup(tmp_path / "backup", every_s=-1)


def test_the_rest_of_an_epoch_needs_data_that_can_skip_batches(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callbacks = fitting.callbacks(tmp_path, backup_every_s=0)
    (tmp_path / "backup").mkdir()
    write_json(tmp_path / "backup" / fitting.METADATA_FILE, {"epoch": 1, "batch": 5})
    arrays = (np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="cannot skip them"):
        resume.finish_interrupted_epoch(model, arrays, arrays, 3, callbacks)
    with pytest.raises(ValueError, match="holds no Backup"):
        resume.finish_interrupted_epoch(model, arrays, arrays, 3, callbacks[:-1])
    write_json(tmp_path / "backup" / fitting.METADATA_FILE, {"epoch": 1, "batch": 0})
    assert resume.finish_interrupted_epoch(model, arrays, arrays, 3, callbacks) == 0


@pytest.mark.slow
def test_a_gan_run_cut_inside_an_epoch_trains_each_batch_once(tmp_path, monkeypatch, capsys):
    import h5py
    from test_gan import prepared_gan_run

    from colorlib import workflow

    params = prepared_gan_run(tmp_path)
    model_dir = workflow.run_paths(params).model_dir
    monkeypatch.setattr(fitting, "BACKUP_EVERY_S", 0.0)  # a backup after every batch
    backed_up = fitting.Backup.on_train_batch_end

    def cut(self, batch, logs=None):  # a kill after the adversarial epoch 2's first batch
        backed_up(self, batch, logs)
        if Path(self.backup_dir).parent == model_dir and (self._current_epoch, batch) == (1, 0):
            raise KeyboardInterrupt("cut")

    monkeypatch.setattr(fitting.Backup, "on_train_batch_end", cut)
    with pytest.raises(KeyboardInterrupt):
        workflow.train_run(params, verbose=0)
    assert fitting.finished_epochs(model_dir) == 1 and resume.interrupted_batches(model_dir) == 1

    monkeypatch.setattr(fitting.Backup, "on_train_batch_end", backed_up)
    result = workflow.train_run(params, verbose=0)
    batches = len(workflow.training_datasets(params)[0])
    assert f"Resuming epoch 2 of 2 after batch 1: {batches - 1} batches left." in capsys.readouterr().out
    assert result.history["epoch"] == [0.0, 1.0] and workflow.run_paths(params).colorizer.is_file()
    # The generator's and the discriminator's optimizers took one step a batch: 2 epochs' worth,
    # not one more for the batch trained before the cut.
    with h5py.File(model_dir / fitting.BACKUP_DIR / "latest.weights.h5") as backup:
        assert int(backup["optimizer/vars/0"][()]) == int(backup["d_optimizer/vars/0"][()]) == 2 * batches
