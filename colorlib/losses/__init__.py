"""The training losses, chosen by name from the run parameters (``loss:``).

``mse`` (the original design), ``huber`` and ``classification``
(:class:`colorlib.losses.classification.ClassificationLoss`); ``gan`` is trained by
:class:`colorlib.training.gan.GANTrainer` instead.
"""

from __future__ import annotations

import keras
import numpy as np

from colorlib.core.config import ADVERSARIAL_LOSSES, LEARNING_RATE, LOSS_NAMES
from colorlib.losses import classification

#: Huber loss threshold in normalized ab (ab / 128): 0.1 is 12.8 ab units. Errors below it are
#: squared (like MSE), larger ones count linearly, so a few photos with unexpected colours pull less.
HUBER_DELTA = 0.1


def training_loss(loss: str = LOSS_NAMES[0], class_weights: np.ndarray | None = None):
    """The Keras loss named ``loss``: ``"mse"``, ``"huber"`` (delta :data:`HUBER_DELTA`) or
    ``"classification"`` (:class:`colorlib.losses.classification.ClassificationLoss`, which needs the run's
    ``class_weights``, float ``(Q,)``, from :func:`colorlib.color.colorclasses.training_weights`)."""
    if loss == "mse":
        return "mse"
    if loss == "huber":
        return keras.losses.Huber(delta=HUBER_DELTA)
    if loss == "classification":
        if class_weights is None:
            raise ValueError(
                "loss='classification' needs the class rebalancing weights of the training ab; "
                "compute them with colorclasses.training_weights (workflow.class_weights for a run)."
            )
        return classification.ClassificationLoss(class_weights)
    if loss in ADVERSARIAL_LOSSES:
        raise ValueError(
            f"loss={loss!r} is not a Keras loss: it is trained by colorlib.training.gan.GANTrainer "
            "(workflow.train_run does it for a run)."
        )
    raise ValueError(f"Unknown loss {loss!r}; choose one of {', '.join(LOSS_NAMES)}.")


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
