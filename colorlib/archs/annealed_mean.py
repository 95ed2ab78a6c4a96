"""The head of a classification colorizer: ab-bin logits -> ab by the annealed mean (Zhang et al. 2016)."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from colorlib.color.colorclasses import bin_centres
from colorlib.core.config import AB_SCALE

#: The annealed mean's default temperature (Zhang et al.'s choice).
TEMPERATURE = 0.38


@keras.saving.register_keras_serializable(package="colorlib")
class AnnealedMean(layers.Layer):
    """Logits ``(..., Q)`` -> ab ``(..., 2)`` float32 in [-1, 1]: the annealed mean of the bin centres.

    ``softmax(log(p) / T) = softmax(logits / T)``, then the expected centre, divided by 128.
    ``temperature`` is a variable, so :func:`set_temperature` changes a loaded model.
    """

    def __init__(self, centres=None, temperature: float = TEMPERATURE, **kwargs) -> None:
        super().__init__(**kwargs)
        self.centres = np.asarray(bin_centres() if centres is None else centres, dtype=np.float32)
        self.initial_temperature = _check_temperature(temperature)
        self.temperature = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False, name="temperature",
        )  # fmt: skip

    def call(self, logits):
        probabilities = ops.softmax(ops.divide(ops.cast(logits, "float32"), self.temperature), axis=-1)
        return ops.divide(ops.matmul(probabilities, ops.convert_to_tensor(self.centres)), AB_SCALE)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)

    def get_config(self) -> dict:
        config = {"centres": self.centres.tolist(), "temperature": self.initial_temperature}
        return {**super().get_config(), **config}


def _check_temperature(temperature: float) -> float:
    if not float(temperature) > 0:
        raise ValueError(f"The temperature must be positive (0.38 is usual, 1 the mean), got {temperature}.")
    return float(temperature)


def decode(logits, image_size: int):
    """The colorizer's head: logits ``(N, s, s, Q)`` -> ab ``(N, S, S, 2)`` in [-1, 1] (annealed mean,
    then bilinear upsampling by ``S / s``)."""
    ab = AnnealedMean(name="annealed_mean")(logits)
    factor = image_size // int(logits.shape[1])
    return layers.UpSampling2D(factor, interpolation="bilinear", name="ab_upsample")(ab)


def annealed_mean_layer(model: keras.Model) -> AnnealedMean | None:
    """The :class:`AnnealedMean` of a colorizer (searched in nested models), or None for a regression one."""
    for layer in model.layers:
        if isinstance(layer, AnnealedMean):
            return layer
        if isinstance(layer, keras.Model) and (found := annealed_mean_layer(layer)) is not None:
            return found
    return None


def set_temperature(model: keras.Model, temperature: float) -> keras.Model:
    """Decode ``model``'s colour classes at ``temperature`` from now on; returns ``model``.

    Raises ValueError for a model that regresses ab (trained with loss mse or huber).
    """
    layer = annealed_mean_layer(model)
    if layer is None:
        raise ValueError(
            f"The model '{model.name}' predicts ab directly (it was trained with loss mse or huber), so it "
            "has no temperature; leave --temperature out, or use a model trained with loss: classification."
        )
    layer.temperature.assign(_check_temperature(temperature))
    return model
