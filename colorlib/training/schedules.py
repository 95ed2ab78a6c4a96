"""Optimizers and learning-rate schedules of a run: Adam or AdamW, constant, step or cosine.

The schedule is a function of the epoch only (:func:`learning_rate_at`), applied by the
:class:`EpochSchedule` callback at the start of every epoch, so a run resumed from its backup
after epoch E trains epoch E + 1 at exactly the rate it would have had::

    constant   lr
    step       lr, halved at half of ``epochs`` and again at three quarters (DDColor halves on
               milestones too)
    cosine     lr · ½ (1 + cos(π e / epochs)), from lr at epoch 0 down towards 0

With ``patience`` (early stopping), ``epochs`` is the longest the run may train.
"""

from __future__ import annotations

import math

import keras

from colorlib.core.config import LR_SCHEDULES as SCHEDULES
from colorlib.core.config import OPTIMIZERS

#: ``step``: the rate is multiplied by STEP_FACTOR at each of these fractions of the epochs.
STEP_MILESTONES = (0.5, 0.75)
STEP_FACTOR = 0.5
#: AdamW's decoupled weight decay (DDColor's 0.01) and its β₂ (DDColor's 0.99).
WEIGHT_DECAY = 0.01
ADAMW_BETA_2 = 0.99


def learning_rate_at(epoch: int, base: float, epochs: int, schedule: str = "constant") -> float:
    """The learning rate of epoch ``epoch`` (0-based) of ``epochs`` under ``schedule``."""
    if schedule not in SCHEDULES:
        raise ValueError(
            f"Unknown learning-rate schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}."
        )
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if schedule == "step":
        passed = sum(epoch >= round(fraction * epochs) for fraction in STEP_MILESTONES)
        return base * STEP_FACTOR**passed
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / epochs))
    return base


def make_optimizer(
    name: str, learning_rate: float, weight_decay: float = WEIGHT_DECAY, beta_1: float = 0.9
) -> keras.optimizers.Optimizer:
    """``"adam"`` (the original design) or ``"adamw"`` (decoupled ``weight_decay``, β₂ 0.99)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)
    if name == "adamw":
        return keras.optimizers.AdamW(
            learning_rate=learning_rate, weight_decay=weight_decay, beta_1=beta_1, beta_2=ADAMW_BETA_2
        )
    raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")


class EpochSchedule(keras.callbacks.Callback):
    """Sets the learning rate of the model's optimizer (and of a GAN's ``d_optimizer``) each epoch.

    Logs the rate as ``learning_rate``, so ``history.csv`` shows it.
    """

    def __init__(self, base: float, epochs: int, schedule: str = "constant") -> None:
        super().__init__()
        learning_rate_at(0, base, epochs, schedule)  # refuses an unknown schedule now
        self.base, self.epochs, self.schedule = float(base), int(epochs), schedule
        self.rate = float(base)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.rate = learning_rate_at(epoch, self.base, self.epochs, self.schedule)
        for optimizer in (self.model.optimizer, getattr(self.model, "d_optimizer", None)):
            if optimizer is not None:
                optimizer.learning_rate = self.rate

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if logs is not None:
            logs["learning_rate"] = self.rate
