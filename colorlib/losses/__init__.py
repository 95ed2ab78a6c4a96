"""The training losses, chosen by name from the run parameters (``loss:``).

``mse`` (the original design), ``huber`` and ``classification``
(:class:`colorlib.losses.classification.ClassificationLoss`); ``gan`` and ``ddcolor`` are trained by
:class:`colorlib.training.gan.GANTrainer` instead, with DDColor's terms from :mod:`.ddcolor`.
"""

from __future__ import annotations

import keras
import numpy as np

from colorlib.core.config import LEARNING_RATE, LOSS_NAMES
from colorlib.losses import classification

#: Huber loss threshold in normalized ab (ab / 128): 0.1 is 12.8 ab units. Errors below it are
#: squared (like MSE), larger ones count linearly, so a few photos with unexpected colours pull less.
HUBER_DELTA = 0.1


def _mse(class_weights: np.ndarray | None):
    return "mse"


def _huber(class_weights: np.ndarray | None):
    return keras.losses.Huber(delta=HUBER_DELTA)


def _classification(class_weights: np.ndarray | None):
    if class_weights is None:
        raise ValueError(
            "loss='classification' needs the class rebalancing weights of the training ab; "
            "compute them with colorclasses.training_weights (workflow.class_weights for a run)."
        )
    return classification.ClassificationLoss(class_weights)


#: The Keras losses by name, each made from the run's class weights (which only classification reads).
KERAS_LOSSES = {"mse": _mse, "huber": _huber, "classification": _classification}


def training_loss(loss: str = LOSS_NAMES[0], class_weights: np.ndarray | None = None):
    """The Keras loss named ``loss``: ``"mse"``, ``"huber"`` (delta :data:`HUBER_DELTA`) or
    ``"classification"`` (:class:`colorlib.losses.classification.ClassificationLoss`, which needs the run's
    ``class_weights``, float ``(Q,)``, from :func:`colorlib.color.colorclasses.training_weights`)."""
    if loss not in KERAS_LOSSES:
        raise ValueError(
            f"loss={loss!r} is not a Keras loss; choose one of {', '.join(KERAS_LOSSES)}. The losses "
            f"{', '.join(sorted(set(LOSS_NAMES) - set(KERAS_LOSSES)))} are trained by "
            "colorlib.training.gan.GANTrainer, which their scheme (training/adversarial_model.py) builds."
        )
    return KERAS_LOSSES[loss](class_weights)


def compile_model(
    model: keras.Model,
    learning_rate: float = LEARNING_RATE,
    loss: str = LOSS_NAMES[0],
    class_weights: np.ndarray | None = None,
) -> keras.Model:
    """Compile with Adam and the loss named ``loss`` (:func:`training_loss`; the original: MSE)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=training_loss(loss, class_weights)
    )
    return model
