"""The one loop that trains any scheme (BasicSR's ``train.py``): Keras' ``fit`` with what they share.

Every scheme (:mod:`colorlib.training.models`) is trained the same way:

1. :func:`callbacks`: a backup made with other settings is cleared first (the step key of the
   backup, :class:`colorlib.core.steps.Step`, says so), then colorlib's callbacks
   (:func:`colorlib.training.fitting.callbacks`: history CSV, early stopping with the scheme's
   patience, backups after every epoch and every ten minutes inside one) after the scheme's own
   (a learning-rate schedule, the GAN's generator snapshots) and the one that tells the training
   data which epoch begins;
2. :func:`fit`: the rest of an epoch a kill cut off
   (:func:`colorlib.training.resume.finish_interrupted_epoch`), then ``fit`` for the scheme's epochs.

A finished backup makes both do nothing, and an interrupted one makes them go on where it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from colorlib.core import steps
from colorlib.training import distribute, fitting, resume
from colorlib.training.base_model import ColorModel


def callbacks(
    model: ColorModel,
    model_dir: Path,
    backup: steps.Step,
    colorizer: Path,
    train: Any = None,
    fresh: bool = False,
) -> list:
    """The callbacks of a scheme's training in ``model_dir`` (see the module docstring).

    ``backup`` is the step of the backup's settings; a backup made with others (or ``fresh``) is
    cleared, with the scheme's own files and the finished ``colorizer``, and training starts over.
    ``train``, the training :class:`colorlib.data.featuredata.FeatureDataset`, is told which epoch
    begins, and makes the backups inside epochs possible.
    """
    chief = distribute.is_chief()  # only process 0 writes; the others read what it wrote
    stale = fresh or not backup.done()
    distribute.barrier("the backup checked")
    if stale and chief:
        if (fitting.finished_epochs(model_dir) or resume.interrupted_batches(model_dir)) and not fresh:
            print(f"The training settings changed since the backup in {model_dir}; starting over.")
        fitting.clear(model_dir)
        model.clear(model_dir)
        Path(colorizer).unlink(missing_ok=True)
        backup.finish({})
    distribute.barrier("the backup cleared")
    finished, epochs = fitting.finished_epochs(model_dir), model.epochs
    if chief and 0 < finished < epochs and not resume.interrupted_batches(model_dir):
        print(f"Resuming from the backup after epoch {finished} of {epochs}.")
    every_s = fitting.BACKUP_EVERY_S if train is not None else None
    first = model.callbacks(model_dir)
    if train is not None:
        from colorlib.data import featuredata

        first.insert(0, featuredata.DatasetEpoch(train))
    return first + fitting.callbacks(model_dir, model.patience, chief=chief, backup_every_s=every_s)


def fit(trained, train, validation, epochs: int, chosen: list, verbose: int | str = "auto") -> None:
    """Train ``trained`` (a scheme's built model) for ``epochs`` with the callbacks of :func:`callbacks`:
    the rest of a cut-off epoch first, then ``fit`` (``shuffle=False``: ``train`` draws its own order
    of the photos for each epoch, which a resumed run needs to know)."""
    resume.finish_interrupted_epoch(trained, train, validation, epochs, chosen, verbose=verbose)
    trained.fit(
        train, validation_data=validation, epochs=epochs, callbacks=chosen, shuffle=False, verbose=verbose
    )


__all__ = ["callbacks", "fit"]
