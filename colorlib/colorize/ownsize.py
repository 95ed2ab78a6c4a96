"""Predicting ab at a photo's own size instead of the training size (issue 11).

A colorizer is trained on square ``S × S`` L images and, by default, every photo is resized
to ``S × S`` for the model; the predicted ab is upscaled back to the photo's size
(:mod:`colorlib.colorize.colorize`). Every colorlib model is fully convolutional (the U-Net's
self-attention works on any number of positions), so the same weights can also run on a
larger, non-square input: the photo resized only to the nearest multiple of 32 on each
side (:func:`own_size`), so that the U-Net's skips and L keep the photo's detail and aspect.

:func:`colorizer_at_size` rebuilds a colorizer for an ``H × W`` input from the saved model's
own configuration (its input layers and the reshapes of the attention block rescaled) and
copies the weights; :class:`SizedColorizers` keeps one per size met.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from colorlib.core.config import ENCODER_STRIDE

#: Largest own-size input, in pixels (1024 × 1024); a larger photo is scaled down to fit,
#: keeping its aspect, so that memory stays bounded (the U-Net's activations grow with it).
MAX_OWN_PIXELS = 1 << 20


def own_size(height: int, width: int, max_pixels: int = MAX_OWN_PIXELS) -> tuple[int, int]:
    """The model input size ``(h, w)`` for a ``height × width`` photo: each side rounded to the
    nearest multiple of 32 (at least 32), after scaling down to at most ``max_pixels``."""
    if height < 1 or width < 1:
        raise ValueError(f"A photo has a positive size; got {height} × {width}.")
    if max_pixels < ENCODER_STRIDE * ENCODER_STRIDE:
        raise ValueError(f"max_pixels must be at least {ENCODER_STRIDE**2}, got {max_pixels}.")
    scale = min(1.0, (max_pixels / (height * width)) ** 0.5)

    def side(length: int) -> int:
        return max(ENCODER_STRIDE, round(length * scale / ENCODER_STRIDE) * ENCODER_STRIDE)

    h, w = side(height), side(width)
    while h * w > max_pixels:  # rounding up can overshoot the budget by a row of blocks
        if h >= w:
            h -= ENCODER_STRIDE
        else:
            w -= ENCODER_STRIDE
    return h, w


def _scaled(length: int | None, factor: float) -> int | None:
    return None if length is None else round(length * factor)


def _rescale_config(node: Any, fh: float, fw: float) -> Any:
    """A copy of a Keras config with every spatial input and spatial reshape scaled by (fh, fw)."""
    if isinstance(node, list):
        return [_rescale_config(item, fh, fw) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _rescale_config(value, fh, fw) for key, value in node.items()}
    config = node.get("config")
    if isinstance(config, dict):
        kind = node.get("class_name")
        if kind == "InputLayer" and len(config.get("batch_shape") or ()) == 4:
            batch, height, width, channels = config["batch_shape"]
            config["batch_shape"] = [batch, _scaled(height, fh), _scaled(width, fw), channels]
        elif kind == "Reshape":
            target = list(config["target_shape"])
            if len(target) == 3:  # (side, side, C): back to a map
                target = [_scaled(target[0], fh), _scaled(target[1], fw), target[2]]
            elif len(target) == 2:  # (side², C): positions as a sequence
                target = [_scaled(target[0], fh * fw), target[1]]
            config["target_shape"] = target
    return node


def colorizer_at_size(model, height: int, width: int):
    """The same colorizer (same weights) for L ``(N, height, width, 1)`` -> ab ``(N, height, width, 2)``.

    ``model``: a colorizer of input L ``(S, S, 1)`` (:func:`colorlib.colorize.colorize.load_colorizer`);
    ``height`` and ``width``: positive multiples of 32. Raises ValueError otherwise.
    """
    import keras

    from colorlib.colorize.fullres import model_image_size

    size = model_image_size(model)
    for name, value in (("height", height), ("width", width)):
        if value < ENCODER_STRIDE or value % ENCODER_STRIDE:
            raise ValueError(f"{name} must be a positive multiple of {ENCODER_STRIDE}, got {value}.")
    if (height, width) == (size, size):
        return model
    config = _rescale_config(copy.deepcopy(model.get_config()), height / size, width / size)
    sized = model.__class__.from_config(config)
    sized.set_weights(model.get_weights())
    if not isinstance(sized, keras.Model) or tuple(sized.output_shape)[1:] != (height, width, 2):
        raise ValueError(
            f"The model '{model.name}' could not be rebuilt for {height} × {width}: it gives "
            f"{getattr(sized, 'output_shape', None)}; colorize at the training size instead."
        )
    return sized


class SizedColorizers:
    """One colorizer per input size, built on first use from ``model`` (the training-size one)."""

    def __init__(self, model) -> None:
        self.model = model
        self._sized: dict[tuple[int, int], Any] = {}

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        """L ``float32 (N, h, w, 1)`` in [0, 1] -> ab ``float32 (N, h, w, 2)`` in [-1, 1]."""
        l_norm = np.asarray(l_norm, dtype=np.float32)
        if l_norm.ndim != 4 or l_norm.shape[-1] != 1:
            raise ValueError(f"Expected L of shape (N, h, w, 1), got {l_norm.shape}.")
        key = (int(l_norm.shape[1]), int(l_norm.shape[2]))
        if key not in self._sized:
            self._sized[key] = colorizer_at_size(self.model, *key)
        return np.asarray(self._sized[key].predict_on_batch(l_norm), dtype=np.float32)
