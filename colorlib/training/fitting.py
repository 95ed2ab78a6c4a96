"""Training with Keras callbacks: resume with ``BackupAndRestore``, a CSV log, early stopping.

The calls a student writes are the usual Keras ones; colorlib only supplies the callbacks::

    decoder.compile(optimizer=keras.optimizers.Adam(2e-4), loss="mse")
    decoder.fit(train, validation_data=validation, epochs=50,
                callbacks=training.callbacks(out_dir, patience=None))

An interrupted fit (Ctrl-C, a crash, even ``kill -9``) resumes from its last finished
epoch when the same ``fit`` runs again with the same ``out_dir``: Keras'
:class:`keras.callbacks.BackupAndRestore` restores the weights, the optimizer state and
the epoch. colorlib's subclass, :class:`Backup`, changes four things:

- its two files are written atomically, so a kill during a save leaves the previous
  backup whole;
- the backup is kept when training ends, marked finished, so running the same ``fit``
  again trains nothing (and more epochs continue from there);
- a run stopped early counts as finished, with the best weights;
- with ``every_s`` it also backs up inside an epoch, every that many seconds, so that a
  kill loses minutes, not an epoch: :mod:`colorlib.training.resume` goes on from there.

Files in ``out_dir``::

    backup/latest.weights.h5         model and optimizer state at the last backup
    backup/training_metadata.json    {"epoch": E, "batch": B}: E epochs and B batches of the next
    history.csv                      one row per finished epoch (Keras CSVLogger), no duplicates
    best.weights.h5                  with ``patience``: the weights of the best epoch so far

Early stopping (:class:`EarlyStop`) resumes too: the best validation loss and the epochs
since it are read back from ``history.csv``, and the best weights from ``best.weights.h5``,
so a run killed and resumed stops, and restores, exactly as one that ran through.
"""

from __future__ import annotations

import csv
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from colorlib.core.config import BATCH_SIZE, EPOCHS, SEED
from colorlib.core.io import atomic_write, read_json, write_json

BACKUP_DIR = "backup"
HISTORY_FILE = "history.csv"
BEST_WEIGHTS_FILE = "best.weights.h5"
#: What early stopping watches.
MONITOR = "val_loss"
#: The file of :class:`keras.callbacks.BackupAndRestore` that records the finished epochs.
METADATA_FILE = "training_metadata.json"
#: Written into the metadata when the run is over (all epochs, or stopped early).
FINISHED = "finished"
#: Seconds between backups inside an epoch for a run that can resume there (the workflow's).
BACKUP_EVERY_S = 600


@dataclass
class TrainResult:
    """What a training run produced."""

    model: keras.Model
    #: Every finished epoch's logs, including those of earlier, interrupted sessions.
    history: dict[str, list[float]] = field(default_factory=dict)
    initial_epoch: int = 0
    epochs_completed: int = 0
    stopped_early: bool = False
    out_dir: Path = Path()
    #: The epoch (0-based) whose weights ``model`` holds: see :func:`kept_epoch`.
    kept_epoch: int | None = None

    @property
    def kept_val_loss(self) -> float | None:
        """The validation loss of the weights the model holds (None before any epoch)."""
        if self.kept_epoch is None:
            return None
        return self.history[MONITOR][self.history["epoch"].index(self.kept_epoch)]

    @property
    def history_csv(self) -> Path:
        return self.out_dir / HISTORY_FILE


class Backup(keras.callbacks.BackupAndRestore):
    """:class:`keras.callbacks.BackupAndRestore`, atomic, kept when training ends.

    ``chief`` False (another worker of a multi-worker run) restores from ``backup_dir``
    but writes nothing, so that only one process writes the shared folder. ``every_s``: also
    back up after the first batch that ends that many seconds after the last backup (None:
    after each epoch only); the metadata's ``batch`` says how many batches of the epoch it holds.
    """

    def __init__(self, backup_dir: Path | str, chief: bool = True, every_s: float | None = None) -> None:
        super().__init__(str(backup_dir), delete_checkpoint=False)
        if every_s is not None and every_s < 0:
            raise ValueError(f"every_s must be 0 or more seconds (None: each epoch only), got {every_s}.")
        self.chief, self.every_s = chief, every_s
        #: Set by :func:`colorlib.training.resume.finish_interrupted_epoch` for its fit: the
        #: batches of the epoch trained before it, and the run's epochs (that fit ends inside the
        #: run, which is not over then).
        self.first_batch, self.run_epochs = 0, None
        self._saved_at = time.monotonic()

    def _save_model(self, finished: bool = False) -> None:
        from colorlib.training import distribute

        self._saved_at = time.monotonic()
        if self.chief:
            Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
        # Every process reads the weights (a collective step over several processes); the chief writes.
        distribute.save_on_chief(self._weights_path, self.model.save_weights, ".weights.h5", chief=self.chief)
        if self.chief:
            metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
            write_json(self._training_metadata_path, {**metadata, FINISHED: finished})
        # None reads the backup (the next fit does) before process 0 has replaced it: same weights.
        distribute.barrier("the backup written")

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)  # Keras restores the weights and the epoch here
        self._restored = read_metadata(Path(self.backup_dir).parent) or {}
        self._current_epoch = int(self._restored.get("epoch", 0))
        self._last_batch_seen = 0
        self._saved_at = time.monotonic()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch + 1 >= (self.params.get("steps") or float("inf")):
            return  # the epoch's last batch: the backup after the epoch follows
        if self.every_s is None:
            return
        from colorlib.training import distribute  # saving is collective: process 0's clock decides

        if distribute.agree(time.monotonic() - self._saved_at >= self.every_s):
            self._last_batch_seen = self.first_batch + batch + 1  # batches of this epoch trained
            self._save_model()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.first_batch = 0
        super().on_epoch_end(epoch, logs)  # the epoch is finished: {"epoch": epoch + 1, "batch": 0}

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.run_epochs is not None and not self.model.stop_training:
            return  # the rest of an interrupted epoch: the run goes on with the next fit
        # Keras has just finished (or early stopping ended) the run: mark it finished,
        # with the weights the model holds now (the best ones after early stopping).
        if self.model.stop_training:
            epochs = self.run_epochs if self.run_epochs is not None else self.params.get("epochs")
            self._current_epoch = max(self._current_epoch, int(epochs or 0))
        unchanged = self._restored.get(FINISHED) and self._restored.get("epoch") == self._current_epoch
        if not unchanged:
            self._save_model(finished=True)


class HistoryCSV(keras.callbacks.CSVLogger):
    """Keras' CSVLogger, appending; on resume, rows of epochs the backup does not hold are dropped.

    A run killed after logging an epoch but before backing it up trains that epoch again;
    without this, the CSV would hold it twice.
    """

    def __init__(self, path: Path | str, backup_dir: Path | str, chief: bool = True) -> None:
        super().__init__(str(path), append=True)
        self.backup_dir = Path(backup_dir)
        self.chief = chief

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.chief:
            _truncate_history(Path(self.filename), finished_epochs(self.backup_dir.parent))
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.chief:
            super().on_epoch_end(epoch, logs)


class EarlyStop(keras.callbacks.Callback):
    """Stops after ``patience`` epochs without a lower ``val_loss``, and restores the best weights.

    Unlike :class:`keras.callbacks.EarlyStopping` it survives a resume: the best value and the
    epochs since it come from ``history.csv`` (only the epochs the backup holds), and the best
    weights are kept in ``best.weights.h5`` (written atomically), not in memory. When training
    ends, by stopping or after the last epoch, the model gets the best weights back.
    """

    def __init__(self, out_dir: Path | str, patience: int, chief: bool = True) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"patience must be 0 or more epochs, got {patience}.")
        self.out_dir, self.patience, self.chief = Path(out_dir), int(patience), chief
        self.best, self.best_epoch, self.last_epoch, self.wait = float("inf"), -1, -1, 0
        #: True during the fit of :func:`colorlib.training.resume.finish_interrupted_epoch`,
        #: which ends inside the run.
        self.interim = False

    @property
    def best_path(self) -> Path:
        return self.out_dir / BEST_WEIGHTS_FILE

    def on_train_begin(self, logs=None) -> None:
        history = read_history(self.out_dir / HISTORY_FILE)
        finished = finished_epochs(self.out_dir)
        values = [
            (int(epoch), value)
            for epoch, value in zip(history.get("epoch", []), history.get(MONITOR, []), strict=False)
            if epoch < finished
        ]
        self.best, self.best_epoch, self.last_epoch, self.wait = float("inf"), -1, -1, 0
        for epoch, value in values:
            self._record(epoch, value, save=False)
        if self.best_epoch >= 0 and not self.best_path.is_file():
            self.best_epoch = self.last_epoch  # no weights kept for the best epoch: count from here

    def _record(self, epoch: int, value: float, save: bool) -> None:
        self.last_epoch = epoch
        if value < self.best:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if save:
                from colorlib.training import distribute

                distribute.save_on_chief(
                    self.best_path, self.model.save_weights, ".weights.h5", chief=self.chief
                )
                distribute.barrier("the best weights saved")
        else:
            self.wait += 1

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = (logs or {}).get(MONITOR)
        if value is None:
            raise ValueError(f"Early stopping watches {MONITOR}, which the logs lack; give validation data.")
        self._record(epoch, float(value), save=True)
        if self.wait >= self.patience:
            print(
                f"Stopping: {MONITOR} has not improved in the {self.wait} epochs since epoch "
                f"{self.best_epoch + 1}."
            )
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.interim and not self.model.stop_training:
            return  # training goes on: keep the weights it reached
        if self.best_epoch != self.last_epoch and self.best_path.is_file():
            print(f"Restoring the weights of epoch {self.best_epoch + 1} ({MONITOR} {self.best:.5f}).")
            self.model.load_weights(self.best_path)


def callbacks(
    out_dir: Path | str, patience: int | None = None, chief: bool = True, backup_every_s: float | None = None
) -> list[keras.callbacks.Callback]:
    """The callbacks of a colorlib training: history CSV, early stopping (with ``patience``), backup.

    Pass them to ``model.fit`` with ``out_dir`` the run's model folder; the same call
    resumes an interrupted run and does nothing for a finished one. ``backup_every_s``: back up
    inside epochs too (see :class:`Backup`), for a training set that can resume there.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen: list[keras.callbacks.Callback] = [
        HistoryCSV(out_dir / HISTORY_FILE, out_dir / BACKUP_DIR, chief=chief)
    ]
    if patience is not None:
        chosen.append(EarlyStop(out_dir, patience, chief=chief))
    # Last, so that a backup holds the best weights once early stopping restored them.
    chosen.append(Backup(out_dir / BACKUP_DIR, chief=chief, every_s=backup_every_s))
    return chosen


def kept_epoch(history: dict[str, list[float]], early_stopping: bool) -> int | None:
    """The epoch (0-based) whose weights a finished run's model holds, from its ``history``.

    With early stopping (``patience`` set), the first epoch with the lowest validation loss:
    :class:`EarlyStop` restores its weights when training ends. Otherwise the last epoch.
    None when no epoch has a validation loss.
    """
    epochs, losses = history.get("epoch", []), history.get(MONITOR, [])
    if not losses:
        return None
    position = losses.index(min(losses)) if early_stopping else len(losses) - 1
    return int(epochs[position])


def read_metadata(out_dir: Path | str) -> dict[str, Any] | None:
    """The backup's metadata (``{"epoch": E, "finished": bool}``), or None when no epoch finished."""
    path = Path(out_dir) / BACKUP_DIR / METADATA_FILE
    try:
        return read_json(path) if path.is_file() else None
    except ValueError:
        return None


def finished_epochs(out_dir: Path | str) -> int:
    """How many epochs the backup in ``out_dir`` holds (0 when there is none)."""
    metadata = read_metadata(out_dir)
    return int(metadata["epoch"]) if metadata else 0


def read_history(path: Path | str) -> dict[str, list[float]]:
    """A Keras CSVLogger file -> ``{"epoch": [...], "loss": [...], "val_loss": [...], ...}``."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {key: [float(row[key]) for row in rows if row.get(key)] for key in rows[0]}


def _truncate_history(path: Path, keep_epochs: int) -> None:
    """Drop log rows of epochs that finished after the last backup."""
    if not path.is_file():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and int(float(row[0])) < keep_epochs]
    if len(kept) == len(rows):
        return
    with atomic_write(path) as temporary, open(temporary, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def clear(out_dir: Path | str) -> None:
    """Remove the backup and the log of a training folder (``--fresh``)."""
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir / BACKUP_DIR, ignore_errors=True)
    (out_dir / HISTORY_FILE).unlink(missing_ok=True)
    (out_dir / BEST_WEIGHTS_FILE).unlink(missing_ok=True)


def train(
    model: keras.Model,
    train_data: Any,
    validation_data: Any,
    out_dir: Path | str,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    fresh: bool = False,
    patience: int | None = None,
    seed: int = SEED,
    verbose: int | str = "auto",
    chief: bool = True,
) -> TrainResult:
    """``model.fit`` with :func:`callbacks`: resumes an interrupted run, skips a finished one.

    ``model`` is compiled. ``train_data`` and ``validation_data`` are a
    ``keras.utils.PyDataset`` (such as the feature cache's) or ``(inputs, targets)``
    arrays, used with ``batch_size``. ``patience`` enables early stopping on the
    validation loss, keeping the best weights.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if validation_data is None:
        raise ValueError("Training needs a validation set, so that over-fitting shows.")
    out_dir = Path(out_dir)
    if fresh:
        clear(out_dir)
    keras.utils.set_random_seed(seed)
    before = read_metadata(out_dir) or {}
    initial_epoch = int(before.get("epoch", 0))
    stopped_before = bool(before.get(FINISHED)) and initial_epoch >= epochs
    if 0 < initial_epoch < epochs:
        print(f"Resuming from the backup after epoch {initial_epoch} of {epochs}.")
    arrays = isinstance(train_data, tuple)
    model.fit(
        train_data[0] if arrays else train_data,
        train_data[1] if arrays else None,
        batch_size=batch_size if arrays else None,
        validation_data=validation_data,
        epochs=epochs,
        callbacks=callbacks(out_dir, patience, chief=chief),
        shuffle=True,
        verbose=verbose,
    )
    history = read_history(out_dir / HISTORY_FILE)
    completed = int(history["epoch"][-1]) + 1 if history.get("epoch") else initial_epoch
    return TrainResult(
        model=model,
        history=history,
        initial_epoch=initial_epoch,
        epochs_completed=completed,
        stopped_early=completed < epochs or (stopped_before and completed < initial_epoch),
        out_dir=out_dir,
        kept_epoch=kept_epoch(history, patience is not None),
    )


def save_model(model: keras.Model, path: Path | str) -> Path:
    """Save a model as ``.keras``, atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Models are saved as .keras files, got {path.name}.")
    with atomic_write(path) as temporary:
        model.save(temporary)
    return path
