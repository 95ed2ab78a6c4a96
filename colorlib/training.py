"""Training with Keras callbacks: atomic checkpoints, a CSV log, early stopping, resume.

An interrupted run (Ctrl-C, a crash, even ``kill -9``) resumes from its last
finished epoch when :func:`train` is called again with the same ``out_dir``;
``fresh=True`` starts over. The commit point of an epoch is ``state.json``: the
checkpoint it names is written completely first, so a run killed at any moment
finds a consistent checkpoint.

Files in ``out_dir``::

    checkpoint-EEE.keras   model and optimizer state after epoch EEE (the latest is kept)
    state.json             {"epoch": EEE, "checkpoint": "...", "epochs": N, "finished": bool}
    history.csv            one row per finished epoch (Keras CSVLogger)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from colorlib.config import BATCH_SIZE, EPOCHS, SEED
from colorlib.io import atomic_write, read_json, write_json

STATE_FILE = "state.json"
HISTORY_FILE = "history.csv"
CHECKPOINT_PATTERN = "checkpoint-{epoch:03d}.keras"


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

    @property
    def history_csv(self) -> Path:
        return self.out_dir / HISTORY_FILE


class AtomicCheckpoint(keras.callbacks.Callback):
    """Save the model with its optimizer after every epoch; ``state.json`` commits it."""

    def __init__(self, out_dir: Path, total_epochs: int) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self.total_epochs = total_epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        finished = epoch + 1
        checkpoint = self.out_dir / CHECKPOINT_PATTERN.format(epoch=finished)
        with atomic_write(checkpoint) as temporary:
            self.model.save(temporary)
        write_json(
            self.out_dir / STATE_FILE,
            {
                "epoch": finished,
                "checkpoint": checkpoint.name,
                "epochs": self.total_epochs,
                "finished": finished >= self.total_epochs,
                "logs": {key: float(value) for key, value in (logs or {}).items()},
            },
        )
        for old in self.out_dir.glob("checkpoint-*.keras"):
            if old != checkpoint:
                old.unlink(missing_ok=True)


def read_state(out_dir: Path | str) -> dict[str, Any] | None:
    """The committed state of a training folder, or None when no epoch has finished."""
    path = Path(out_dir) / STATE_FILE
    return read_json(path) if path.is_file() else None


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
    """Drop log rows of epochs that finished after the last committed checkpoint."""
    if not path.is_file():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and int(float(row[0])) < keep_epochs]
    with atomic_write(path) as temporary, open(temporary, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def clear(out_dir: Path | str) -> None:
    """Remove the checkpoints, state and log of a training folder (``--fresh``)."""
    out_dir = Path(out_dir)
    for path in [*out_dir.glob("checkpoint-*.keras"), out_dir / STATE_FILE, out_dir / HISTORY_FILE]:
        path.unlink(missing_ok=True)


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
) -> TrainResult:
    """Fit a compiled ``model``, checkpointing every epoch into ``out_dir``, resuming if it can.

    ``train_data`` and ``validation_data`` are a ``keras.utils.PyDataset`` (such as the
    feature cache's) or ``(inputs, targets)`` arrays, used with ``batch_size``.
    ``patience`` enables early stopping on the validation loss, keeping the best weights.
    When the folder holds a finished run of ``epochs`` epochs, nothing is trained again.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if validation_data is None:
        raise ValueError("Training needs a validation set, so that over-fitting shows.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        clear(out_dir)
    keras.utils.set_random_seed(seed)

    state = read_state(out_dir)
    initial_epoch = 0
    if state is not None:
        checkpoint = out_dir / state["checkpoint"]
        if not checkpoint.is_file():
            raise FileNotFoundError(
                f"{out_dir / STATE_FILE} names {checkpoint.name}, which is missing; "
                "run again with fresh=True (--fresh) to start over."
            )
        initial_epoch = int(state["epoch"])
        model = keras.saving.load_model(checkpoint)
        print(f"Resuming from {checkpoint.name} (epoch {initial_epoch} of {epochs}).")
    _truncate_history(out_dir / HISTORY_FILE, initial_epoch)

    stopped_early = bool(state and state.get("stopped_early"))
    if initial_epoch < epochs and not stopped_early:
        callbacks: list[keras.callbacks.Callback] = [
            keras.callbacks.CSVLogger(str(out_dir / HISTORY_FILE), append=True),
            AtomicCheckpoint(out_dir, epochs),
        ]
        early = None
        if patience is not None:
            early = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
            callbacks.append(early)
        arrays = isinstance(train_data, tuple)
        model.fit(
            train_data[0] if arrays else train_data,
            train_data[1] if arrays else None,
            batch_size=batch_size if arrays else None,
            validation_data=validation_data,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            shuffle=True,
            verbose=verbose,
        )
        if early is not None and early.stopped_epoch:
            stopped_early = True
            # Commit the restored best weights so that a later call returns them too.
            final = read_state(out_dir) or {}
            checkpoint = out_dir / CHECKPOINT_PATTERN.format(epoch=final.get("epoch", epochs))
            with atomic_write(checkpoint) as temporary:
                model.save(temporary)
            write_json(out_dir / STATE_FILE, {**final, "finished": True, "stopped_early": True})
    history = read_history(out_dir / HISTORY_FILE)
    completed = int(history["epoch"][-1]) + 1 if history.get("epoch") else initial_epoch
    return TrainResult(
        model=model,
        history=history,
        initial_epoch=initial_epoch,
        epochs_completed=completed,
        stopped_early=stopped_early,
        out_dir=out_dir,
    )


def save_model(model: keras.Model, path: Path | str) -> Path:
    """Save a model as ``.keras``, atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Models are saved as .keras files, got {path.name}.")
    with atomic_write(path) as temporary:
        model.save(temporary)
    return path


__all__ = ["TrainResult", "clear", "read_history", "read_state", "save_model", "train"]
