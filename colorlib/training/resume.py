"""Resuming inside an epoch: the rest of an epoch that a kill cut off after a backup inside it.

A colorlib run backs up every :data:`colorlib.training.fitting.BACKUP_EVERY_S` seconds inside an
epoch too (:class:`colorlib.training.fitting.Backup` with ``every_s``), so a kill, a reboot or a
closed terminal loses minutes, not an epoch that can take hours on a CPU. Keras' ``fit`` can only
start at an epoch's first batch, so notebook 03 first trains the rest of the cut-off epoch, then
calls ``fit`` as always, with ``shuffle=False``::

    resume.finish_interrupted_epoch(decoder, train, validation, epochs, callbacks)
    decoder.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, shuffle=False)

``shuffle=False`` keeps the batches in the order the training set serves them: a
:class:`colorlib.data.featuredata.FeatureDataset` draws a new order of its entries every epoch
from its seed and the epoch number, so the order is shuffled, and the same after a resume.
Keras' own shuffle would also reorder the batches at random, and the batches trained before a
cut would be a random set, not the first B.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from colorlib.training import fitting


def interrupted_batches(out_dir: Path | str) -> int:
    """How many batches of the epoch after the finished ones the backup in ``out_dir`` holds."""
    metadata = fitting.read_metadata(out_dir) or {}
    return 0 if metadata.get(fitting.FINISHED) else int(metadata.get("batch", 0))


def finish_interrupted_epoch(
    model: keras.Model,
    train_data: Any,
    validation_data: Any,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
    verbose: int | str = "auto",
) -> int:
    """Train the rest of an epoch that a kill cut off after a backup inside it; returns its batches.

    Call it before ``model.fit(train_data, validation_data=validation_data, epochs=epochs,
    callbacks=callbacks, shuffle=False)``, with the same arguments: when the backup (the
    :class:`colorlib.training.fitting.Backup` among ``callbacks``) holds B batches of epoch E, it
    fits epoch E alone on batches B… of ``train_data`` (a
    :class:`colorlib.data.featuredata.FeatureDataset`, which can skip the others) and validates,
    so that ``fit`` goes on with epoch E + 1. The epoch's logged loss is the mean over those
    batches. Returns how many batches it trained: 0 when the backup holds whole epochs only
    (or none, or a finished run), and then it does nothing.
    """
    backup = next((callback for callback in callbacks if isinstance(callback, fitting.Backup)), None)
    if backup is None:
        raise ValueError("callbacks holds no Backup: pass the list of fitting.callbacks().")
    out_dir = Path(backup.backup_dir).parent
    epoch, trained = fitting.finished_epochs(out_dir), interrupted_batches(out_dir)
    if not trained or epoch >= epochs:
        return 0
    if not hasattr(train_data, "start_at"):
        raise ValueError(
            f"The backup holds {trained} batches of epoch {epoch + 1}, but the training data cannot "
            "skip them; pass the FeatureDataset the run was trained on."
        )
    train_data.start_at(trained)
    remaining = len(train_data)
    print(f"Resuming epoch {epoch + 1} of {epochs} after batch {trained}: {remaining} batches left.")
    early_stops = [callback for callback in callbacks if isinstance(callback, fitting.EarlyStop)]
    backup.first_batch, backup.run_epochs = trained, epochs
    for early_stop in early_stops:
        early_stop.interim = True
    try:
        model.fit(
            train_data,
            validation_data=validation_data,
            initial_epoch=epoch,
            epochs=epoch + 1,
            callbacks=callbacks,
            shuffle=False,
            verbose=verbose,
        )
    finally:
        train_data.start_at(0)
        backup.first_batch, backup.run_epochs = 0, None
        for early_stop in early_stops:
            early_stop.interim = False
    return remaining


__all__ = ["finish_interrupted_epoch", "interrupted_batches"]
