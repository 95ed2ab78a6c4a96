"""Hints spread over the photo by a bilateral grid, and a head that learns how much of them to take.

A hint-aware U-Net that reads the hints only as sparse planes (``hint_spread: false``) has to
learn from scratch to carry a 3-pixel click over a whole object; in a few hundred steps on a
CPU it learned almost nothing (notebook 05's hint curve). This head (``hint_spread: true``)
gives it the spreading for free and learns only where to trust it:

1. :class:`HintSpread` spreads the hints like the joint-bilateral floor
   (:func:`colorlib.data.hints.propagate_hints`), at three distances at once, through a
   bilateral grid (Chen, Paris & Durand, SIGGRAPH 2007): the hints are *splatted* into cells of
   :data:`GRID_STRIDE` pixels × bins of L :data:`SPREAD_SIGMA_L` apart, the grid is *blurred*
   by a Gaussian in space (σ :data:`SPREAD_SIGMAS` pixels at 256 × 256) and in L, and each
   pixel *slices* its value back out at its own place and L. No weights; every backend.
2. :func:`spread_head` blends: ``ab = (auto + Σ_k g_k · Σw_k·ab_k) / (1 + Σ_k g_k · Σw_k)``,
   where ``auto`` is the U-Net's automatic ab, ``Σw_k·ab_k`` and ``Σw_k`` the hints' spread at
   distance k, and the gains ``g_k = exp(z_k)`` come from a small convolution over the U-Net's
   last features, L and the spread weights. With no hint every ``Σw_k`` is 0 and the output is
   exactly the automatic ab, so the head cannot make the automatic result worse.

Shapes at ``S × S``: hint ab ``(B, S, S, 2)`` in [-1, 1]; mask ``(B, S, S, 1)`` in {0, 1};
L ``(B, S, S, 1)`` in [0, 1]; the spread ``(B, S, S, 3 K)`` float32, per distance
``[Σw·a, Σw·b, Σw]``, where a weight of 1 is one hint at its point, whatever its size (a user's
3 × 3 click or a simulated patch of up to 9 × 9 pixels at 256 × 256).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from colorlib.core.config import HINT_AB, HINT_MASK, IMAGE_SIZE, L_MAX, MAX_PATCH

#: The spatial σ of each spread, in pixels at IMAGE_SIZE × IMAGE_SIZE: near, object-sized, far.
SPREAD_SIGMAS = (16.0, 48.0, 128.0)
#: The σ in CIE L, which is also the distance between the grid's L bins.
SPREAD_SIGMA_L = 10.0
#: The grid's cell side in pixels.
GRID_STRIDE = 8
#: The head's first gains, log g_k per distance: the object-sized spread alone at first, close
#: to the floor (the middle one); the near and far ones start nearly off.
INITIAL_LOG_GAINS = (-4.0, 1.5, -4.0)
#: Width of the head's hidden convolution.
HEAD_WIDTH = 16
#: Log-gains are clipped to ± this, so a gain can neither overflow nor vanish entirely.
MAX_LOG_GAIN = 10.0


def _gaussian_matrix(cells: int, sigma: float) -> np.ndarray:
    """``(cells, cells)`` float32: exp(−(i − j)² / 2σ²), peak 1 (an unnormalized blur)."""
    index = np.arange(cells, dtype=np.float64)
    return np.exp(-((index[:, None] - index[None, :]) ** 2) / (2 * sigma**2)).astype(np.float32)


@keras.saving.register_keras_serializable(package="colorlib")
class HintSpread(layers.Layer):
    """``[hint_ab (B,S,S,2), hint_mask (B,S,S,1), l (B,S,S,1)]`` -> ``(B,S,S,3K)``: per distance
    k, ``[Σw·a, Σw·b, Σw]`` of the joint-bilateral weights w (see the module docstring)."""

    def __init__(
        self,
        sigmas: Sequence[float] = SPREAD_SIGMAS,
        sigma_l: float = SPREAD_SIGMA_L,
        stride: int = GRID_STRIDE,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not sigmas or min(sigmas) <= 0 or sigma_l <= 0 or stride < 1:
            raise ValueError(
                f"sigmas, sigma_l and stride must be positive; got {sigmas}, {sigma_l}, {stride}."
            )
        self.sigmas = tuple(float(sigma) for sigma in sigmas)
        self.sigma_l = float(sigma_l)
        self.stride = int(stride)
        self.bins = int(np.ceil(L_MAX / self.sigma_l)) + 1

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[0][:-1], 3 * len(self.sigmas))

    def call(self, inputs):
        hint_ab, mask, l_norm = inputs
        size = l_norm.shape[1]
        if size % self.stride:
            raise ValueError(f"The image side {size} is not a multiple of the grid stride {self.stride}.")
        cells = size // self.stride
        centres = ops.convert_to_tensor(np.arange(self.bins, dtype=np.float32) * self.sigma_l)
        # Each pixel's share of the two L bins around it (linear "tent" weights): (B, S, S, bins).
        tent = ops.relu(1.0 - ops.abs(ops.multiply(l_norm, L_MAX) - centres) / self.sigma_l)
        # Each hint counts once, whatever its size: a hinted pixel weighs 1 / the hinted pixels of
        # its patch (up to MAX_PATCH² pixels of one colour), so a click and a larger simulated
        # patch both bring one unit, and training sees the weights users give.
        half = round(MAX_PATCH * size / IMAGE_SIZE) // 2
        window = 2 * half + 1
        padded = ops.pad(mask, [[0, 0], [half, half], [half, half], [0, 0]])  # zeros: exact sums at edges
        around = ops.average_pool(padded, window, strides=1, padding="valid") * float(window**2)
        # The largest count within reach is the whole patch's, for each of its pixels.
        patch_area = ops.max_pool(around, window, strides=1, padding="same")
        share = ops.divide(mask, ops.maximum(patch_area, 1.0))
        values = ops.concatenate([ops.multiply(hint_ab, share), share], axis=-1)
        # The grid's channels are (value, bin), bins last: slicing then sums over the last axis,
        # which ONNX Runtime runs five times faster than a sum over an inner one (issue 41).
        splat = ops.reshape(values[..., :, None] * tent[..., None, :], (-1, size, size, 3 * self.bins))
        cell_sum = float(self.stride**2)  # a cell's mean -> its sum
        grid = ops.average_pool(splat, self.stride, strides=self.stride, padding="valid") * cell_sum
        grid = ops.reshape(grid, (-1, cells, cells, 3, self.bins))
        bin_blur = ops.convert_to_tensor(_gaussian_matrix(self.bins, 1.0))
        grid = ops.einsum("bhwck,kj->bhwcj", grid, bin_blur)
        spreads = []
        for sigma in self.sigmas:
            blur = ops.convert_to_tensor(_gaussian_matrix(cells, sigma * size / IMAGE_SIZE / self.stride))
            blurred = ops.einsum("bhwck,hi->biwck", grid, blur)
            blurred = ops.einsum("biwck,wj->bijck", blurred, blur)
            flat = ops.reshape(blurred, (-1, cells, cells, 3 * self.bins))
            up = ops.image.resize(flat, (size, size), interpolation="bilinear")
            up = ops.reshape(up, (-1, size, size, 3, self.bins))
            spreads.append(ops.sum(up * tent[..., None, :], axis=-1))
        return ops.concatenate(spreads, axis=-1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "sigmas": list(self.sigmas),
            "sigma_l": self.sigma_l,
            "stride": self.stride,
        }


@keras.saving.register_keras_serializable(package="colorlib")
class SpreadBlend(layers.Layer):
    """``[auto (B,S,S,2), spread (B,S,S,3K), log_gains (B,S,S,K)]`` -> ab ``(B,S,S,2)`` in [-1, 1]:
    ``(auto + Σ g_k Σw_k·ab_k) / (1 + Σ g_k Σw_k)``, a weighted mean of the automatic colour
    and the spread hints' colours."""

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def call(self, inputs):
        auto, spread, log_gains = inputs
        gains = ops.exp(ops.clip(log_gains, -MAX_LOG_GAIN, MAX_LOG_GAIN))
        numerator, denominator = auto, 1.0
        for k in range(log_gains.shape[-1]):  # distance by distance, as in HintSpread
            gain = gains[..., k : k + 1]
            numerator = numerator + spread[..., 3 * k : 3 * k + 2] * gain
            denominator = denominator + spread[..., 3 * k + 2 : 3 * k + 3] * gain
        return numerator / denominator


@keras.saving.register_keras_serializable(package="colorlib")
class SpreadWeights(layers.Layer):
    """The spread ``(B,S,S,3K)`` -> ``log(1 + Σw_k)`` ``(B,S,S,K)``: how many clicks reach each pixel."""

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 3)

    def call(self, spread):
        # log(1 + x), not log1p: ONNX has no Log1p operator, and for these sums (0 or at least about
        # 1e-7) the two agree to float32's precision.
        return ops.log(1.0 + spread[..., 2::3])


def spread_head(features, l_input, hint_ab, hint_mask, auto_ab, sigmas: Sequence[float] = SPREAD_SIGMAS):
    """The blended ab ``(B, S, S, 2)`` from the U-Net's last full-resolution ``features``
    ``(B, S, S, F)``, L, the hint planes and its automatic ``auto_ab`` (see the module docstring).
    Functional Keras: call it while building the decoder."""
    if len(sigmas) != len(INITIAL_LOG_GAINS):
        raise ValueError(
            f"spread_head has first gains for {len(INITIAL_LOG_GAINS)} distances, got {len(sigmas)}."
        )
    spread = HintSpread(sigmas, name="hint_spread")([hint_ab, hint_mask, l_input])
    weights = SpreadWeights(name="spread_weights")(spread)
    x = layers.Concatenate(name="spread_inputs")([features, l_input, weights])
    x = layers.Conv2D(HEAD_WIDTH, 3, padding="same", activation="relu", name="spread_conv")(x)
    gain = layers.Conv2D(len(sigmas), 1, kernel_initializer="zeros", name="spread_gain")
    log_gains = gain(x)
    gain.bias.assign(np.asarray(INITIAL_LOG_GAINS, np.float32))
    return SpreadBlend(name="spread_blend")([auto_ab, spread, log_gains])


#: The layers :func:`spread_head` adds (the rest of the decoder is the automatic U-Net).
HEAD_LAYERS = ("hint_spread", "spread_weights", "spread_inputs", "spread_conv", "spread_gain", "spread_blend")


def _require_head(decoder: keras.Model) -> None:
    """Raises ValueError when ``decoder`` has no spread head."""
    if "spread_gain" not in {layer.name for layer in decoder.layers}:
        raise ValueError(f"The decoder '{decoder.name}' has no spread head; build it with hints and spread.")


def train_only_head(decoder: keras.Model) -> list[str]:
    """Freeze every layer of ``decoder`` but the spread head's (its BatchNormalization then runs
    in inference mode), so training a warm-started decoder changes only how hints are blended
    and the automatic colours stay exactly the source's. Returns the names left trainable.

    Raises ValueError when ``decoder`` has no spread head.
    """
    _require_head(decoder)
    for layer in decoder.layers:
        layer.trainable = layer.name in HEAD_LAYERS
    return [layer.name for layer in decoder.layers if layer.trainable]


def automatic_decoder(decoder: keras.Model) -> keras.Model:
    """The U-Net under ``decoder``'s spread head, without the head: the same inputs less the hint
    planes, and the automatic ab ``(B, S, S, 2)`` in [-1, 1] that the head blends hints into. It
    shares ``decoder``'s layers and weights. For comparing the learned head with the
    joint-bilateral floor over the very same automatic colours.

    Raises ValueError when ``decoder`` has no spread head.
    """
    _require_head(decoder)
    inputs = {name: tensor for name, tensor in decoder.input.items() if name not in (HINT_AB, HINT_MASK)}
    return keras.Model(inputs, decoder.get_layer("spread_blend").input[0], name="decoder")
