"""loss: classification: rebalanced cross-entropy over the ab bins (Zhang et al. 2016)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from colorlib.color.colorclasses import bin_count, soft_targets


@keras.saving.register_keras_serializable(package="colorlib")
class ClassificationLoss(keras.losses.Loss):
    """Rebalanced multinomial cross-entropy between logits and the soft-encoded target ab.

    ``y_true``: ab float32 ``(N, S, S, 2)`` in [-1, 1]; ``y_pred``: logits ``(N, S/k, S/k, Q)``.
    The target is averaged over k × k blocks to the logits' resolution, soft-encoded, and each
    pixel's cross-entropy is multiplied by the weight of its nearest bin (``weights``, ``(Q,)``).
    """

    def __init__(self, weights, name: str = "classification", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.weights = np.asarray(weights, dtype=np.float32).reshape(-1)
        if self.weights.shape != (bin_count(),):
            raise ValueError(
                f"The loss needs one weight per bin ({bin_count()}), got {self.weights.size}; "
                "compute them with colorclasses.training_weights."
            )

    def call(self, y_true, y_pred):
        factor = int(y_true.shape[1]) // int(y_pred.shape[1])
        if factor > 1:
            y_true = ops.average_pool(y_true, factor, strides=factor, padding="valid")
        bins, target = soft_targets(y_true)
        # The weight of each pixel's nearest bin (the first of its soft targets).
        pixel_weight = ops.take(ops.convert_to_tensor(self.weights), bins[..., 0])
        log_p = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        cross_entropy = ops.negative(ops.sum(ops.multiply(target, ops.take_along_axis(log_p, bins, -1)), -1))
        return ops.multiply(pixel_weight, cross_entropy)

    def get_config(self) -> dict:
        return {**super().get_config(), "weights": self.weights.tolist()}
