"""The U-Net decoder: ab from the encoder's features at every scale and the L channel itself.

The original decoder (``seed``, :func:`colorlib.archs.seed_arch.build_decoder`) sees only the
bottleneck and predicts ab at a quarter of the resolution, so colour cannot follow edges.
This one goes up from the bottleneck and, at strides 16, 8 and 4, concatenates the
encoder's features of that resolution (skip connections); a last stage at full
resolution takes L, so colour edges can snap to L's edges. Inputs (a dict) for an
``S``×``S`` image, channels ``C`` by encoder::

    "bottleneck" (S/32, S/32, C)  float32   Lite0: 1280 in [0, 6]   VGG16 block5_pool: 512
    "stride16"   (S/16, S/16, C)  float32   Lite0: 112              VGG16 block4_pool: 512
    "stride8"    (S/8,  S/8,  C)  float32   Lite0: 40               VGG16 block3_pool: 256
    "stride4"    (S/4,  S/4,  C)  float32   Lite0: 24               VGG16 block2_pool: 128
    "l"          (S, S, 1)        float32   L / 100 in [0, 1]
    -> ab        (S, S, 2)        float32   in [-1, 1] (tanh)

Raw encoder features reach about 70, which made a first thin U-Net collapse to gray: each
feature input is standardized per channel with fixed statistics (``stats``, computed once
from the training cache by :meth:`colorlib.data.featuredata.FeatureDataset.channel_stats` and
stored in the model's Normalization layers), and the stride-16, 8 and 4 stages use
BatchNormalization. With ``attention=True`` a self-attention block
(``keras.layers.MultiHeadAttention`` over the S/16 × S/16 positions, residual connection,
LayerNormalization) follows the stride-16 stage, so distant regions can agree on colour.

Keras 3 functional, ``keras.layers`` only: it runs on every backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from keras import layers, ops

from colorlib.archs import hintspread_arch
from colorlib.core.config import ENCODER_STRIDE, HINT_AB, HINT_MASK, IMAGE_SIZE

#: The encoder outputs the U-Net reads, coarsest first: the bottleneck, then the skips.
BOTTLENECK = "bottleneck"
SKIPS = ("stride16", "stride8", "stride4")
FEATURE_INPUTS = (BOTTLENECK, *SKIPS)
#: The full-resolution L input.
L_INPUT = "l"
#: Below this share of hinted pixels a cell counts as empty (no division by zero in :class:`HintPool`).
HINT_COVER_FLOOR = 1e-6
#: Output stride of each feature input.
STRIDES = {BOTTLENECK: ENCODER_STRIDE, "stride16": 16, "stride8": 8, "stride4": 4}
#: Widths: the bottleneck's 1×1 projection, the stride-16, 8 and 4 stages, the full-resolution stage.
UNET_FILTERS = (256, 128, 64, 32, 16)
#: Self-attention at stride 16: heads and key width (heads × key width = the stage's width).
ATTENTION_HEADS = 4
ATTENTION_KEY_DIM = 32
#: The last stage upsamples from stride 4 to the full resolution.
FULL_RESOLUTION_UPSAMPLE = 4
#: BatchNormalization momentum: 0.9 rather than Keras' 0.99, so that the moving statistics used
#: at validation and inference settle within the few hundred steps of a short run.
BATCH_NORM_MOMENTUM = 0.9
#: Variance floor for standardizing a channel that is (nearly) constant in the training features.
MIN_VARIANCE = 1e-4

#: Per input: ``(mean, variance)``, each a float array of its channels.
ChannelStats = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _standardize(x, name: str, channels: int, stats: ChannelStats | None):
    """``(x - mean) / std`` per channel with fixed statistics (identity when none are given)."""
    if stats is None:
        mean, variance = np.zeros(channels), np.ones(channels)
    else:
        mean, variance = (np.asarray(value, dtype=np.float64).reshape(-1) for value in stats[name])
        if mean.shape != (channels,) or variance.shape != (channels,):
            raise ValueError(
                f"The statistics of '{name}' have {mean.size} and {variance.size} values for "
                f"{channels} channels; compute them from features of the same encoder."
            )
    variance = np.maximum(variance, MIN_VARIANCE)
    return layers.Normalization(mean=mean.tolist(), variance=variance.tolist(), name=f"{name}_standardize")(x)


def _conv_bn_relu(x, width: int, name: str):
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _self_attention(x, side: int, width: int):
    """MultiHeadAttention over the ``side²`` positions, a residual connection and LayerNorm."""
    tokens = layers.Reshape((side * side, width), name="attention_tokens")(x)
    attended = layers.MultiHeadAttention(ATTENTION_HEADS, ATTENTION_KEY_DIM, name="attention")(tokens, tokens)
    tokens = layers.LayerNormalization(name="attention_norm")(
        layers.Add(name="attention_residual")([tokens, attended])
    )
    return layers.Reshape((side, side, width), name="attention_map")(tokens)


@keras.saving.register_keras_serializable(package="colorlib")
class HintPool(layers.Layer):
    """The hint planes ``(B, S, S, 3)`` (ab, then the mask) -> one cell per ``stride`` × ``stride``:
    ``(B, S/k, S/k, 3)``, the mean ab of the hinted pixels in the cell (0 when none) and whether
    any pixel of the cell has a hint. A plain average would shrink a 1-pixel hint 256 times at
    stride 16; this keeps its colour whole, so one click can reach a whole object.
    """

    def __init__(self, stride: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, planes):
        ab, mask = planes[..., :2], planes[..., 2:]
        pool = {"pool_size": self.stride, "strides": self.stride, "padding": "valid"}
        total = ops.average_pool(ops.multiply(ab, mask), **pool)
        cover = ops.average_pool(mask, **pool)
        mean_ab = ops.divide(total, ops.maximum(cover, HINT_COVER_FLOOR))
        return ops.concatenate([mean_ab, ops.max_pool(mask, **pool)], axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "stride": self.stride}


def build_unet(
    image_size: int = IMAGE_SIZE,
    channels: Mapping[str, int] | None = None,
    stats: ChannelStats | None = None,
    attention: bool = False,
    filters: Sequence[int] = UNET_FILTERS,
    classes: int | None = None,
    hints: bool = False,
    spread: bool = False,
) -> keras.Model:
    """The U-Net decoder: the dict of inputs in the module docstring -> ab ``(S, S, 2)`` in [-1, 1].

    ``hints``: two more inputs, :data:`HINT_AB` ``(S, S, 2)`` and :data:`HINT_MASK` ``(S, S, 1)``
    (Zhang, Zhu et al. 2017). They join L at full resolution and, averaged over each cell, the
    skip features at strides 16, 8 and 4, so a hint can spread over the object it falls on.
    ``spread`` (with ``hints``): the planes instead go to the head of
    :mod:`colorlib.archs.hintspread_arch`, which spreads them through a bilateral grid and learns
    how much of them to blend into the automatic ab; the U-Net itself is the one without hints,
    layer for layer, so :func:`warm_start` copies a trained one whole.

    ``channels``: the channels of ``"bottleneck"``, ``"stride16"``, ``"stride8"`` and
    ``"stride4"`` (e.g. :func:`feature_channels` of the multiscale encoder); ``stats``:
    per input, the per-channel ``(mean, variance)`` of the training features (None: no
    standardization, only for tests). ``filters``: five widths (see :data:`UNET_FILTERS`).
    The model is named ``decoder`` like the seed decoder. ``classes=Q`` (``loss:
    classification``): Q logits per pixel at S/4, ``(S/4, S/4, Q)``, from the stride-4 stage and
    L averaged to S/4 (a full-resolution Q-way output would be 16 times larger).
    """
    if image_size < ENCODER_STRIDE or image_size % ENCODER_STRIDE:
        raise ValueError(f"image_size must be a positive multiple of {ENCODER_STRIDE}, got {image_size}.")
    if channels is None or set(channels) != set(FEATURE_INPUTS):
        raise ValueError(
            f"channels must give the channels of {', '.join(FEATURE_INPUTS)}; got {channels!r}. "
            "Use feature_channels(encoder) of a multiscale encoder."
        )
    if len(filters) != len(UNET_FILTERS) or min(filters) < 1:
        raise ValueError(f"filters must be {len(UNET_FILTERS)} positive widths, got {tuple(filters)}.")
    if spread and (not hints or classes is not None):
        raise ValueError("spread=True needs hints=True and ab output (no classes): it spreads the hints' ab.")
    shapes = input_shapes(image_size, channels, hints)
    inputs = {name: keras.Input(shape, name=name) for name, shape in shapes.items()}
    planes_inside = hints and not spread
    hint_planes = (
        layers.Concatenate(name="hint_planes")([inputs[HINT_AB], inputs[HINT_MASK]])
        if planes_inside
        else None
    )
    standardized = {
        name: _standardize(inputs[name], name, int(channels[name]), stats) for name in FEATURE_INPUTS
    }

    x = layers.Conv2D(filters[0], 1, activation="relu", name="bottleneck_project")(standardized[BOTTLENECK])
    for skip, width in zip(SKIPS, filters[1:4], strict=True):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{skip}_up")(x)
        joined = [x, standardized[skip]]
        if hint_planes is not None:
            joined.append(HintPool(STRIDES[skip], name=f"{skip}_hints")(hint_planes))
        x = layers.Concatenate(name=f"{skip}_skip")(joined)
        x = _conv_bn_relu(x, width, f"{skip}_a")
        x = _conv_bn_relu(x, width, f"{skip}_b")
        if attention and skip == SKIPS[0]:
            x = _self_attention(x, image_size // STRIDES[skip], width)
    if classes is not None:
        l_quarter = layers.AveragePooling2D(FULL_RESOLUTION_UPSAMPLE, name="l_quarter")(inputs[L_INPUT])
        x = layers.Concatenate(name="l_skip")([x, l_quarter])
        x = layers.Conv2D(filters[4], 3, padding="same", activation="relu", name="quarter_conv")(x)
        # Zero-initialized like the ab head: training starts from equal logits.
        logits = layers.Conv2D(classes, 1, kernel_initializer="zeros", name="ab_logits")(x)
        return keras.Model(inputs, logits, name="decoder")
    x = layers.UpSampling2D(FULL_RESOLUTION_UPSAMPLE, interpolation="bilinear", name="full_up")(x)
    x = layers.Concatenate(name="l_skip")([x, inputs[L_INPUT], *([hint_planes] if planes_inside else [])])
    x = layers.Conv2D(filters[4], 3, padding="same", activation="relu", name="full_conv")(x)
    # Zero-initialized: training starts from gray (ab = 0), not from noisy colour.
    ab = layers.Conv2D(2, 3, padding="same", activation="tanh", kernel_initializer="zeros", name="ab")(x)
    if spread:
        ab = hintspread_arch.spread_head(x, inputs[L_INPUT], inputs[HINT_AB], inputs[HINT_MASK], ab)
    return keras.Model(inputs, ab, name="decoder")


def input_shapes(
    image_size: int, channels: Mapping[str, int], hints: bool = False
) -> dict[str, tuple[int, int, int]]:
    """The shape of each U-Net input, batch left out: ``(S/k, S/k, C_k)`` for each feature input
    (``channels`` gives C_k), then ``(S, S, 1)`` for L, and with ``hints`` the two hint planes."""
    shapes = {name: (image_size // STRIDES[name],) * 2 + (int(channels[name]),) for name in FEATURE_INPUTS}
    shapes[L_INPUT] = (image_size, image_size, 1)
    if hints:
        shapes |= {HINT_AB: (image_size, image_size, 2), HINT_MASK: (image_size, image_size, 1)}
    return shapes


def takes_hints(decoder: keras.Model) -> bool:
    """Whether ``decoder`` is a hint-aware U-Net (it has the hint planes among its inputs)."""
    return is_unet(decoder) and HINT_MASK in decoder.input


def is_unet(decoder: keras.Model) -> bool:
    """Whether ``decoder`` takes the U-Net's dict of inputs (else it is the seed decoder)."""
    return isinstance(decoder.input, dict) and L_INPUT in decoder.input


def feature_channels(encoder: keras.Model) -> dict[str, int]:
    """``{input name: channels}`` of a multiscale encoder's outputs that the U-Net reads."""
    outputs = encoder.output
    if not isinstance(outputs, dict) or not set(FEATURE_INPUTS) <= set(outputs):
        raise ValueError(
            f"The encoder '{encoder.name}' does not give the features {', '.join(FEATURE_INPUTS)}; "
            "build it with colorlib.archs.colorizer_arch.build_encoder(..., multiscale=True)."
        )
    return {name: int(outputs[name].shape[-1]) for name in FEATURE_INPUTS}


def decoder_inputs(features: Mapping[str, object], l_norm: object) -> dict[str, object]:
    """The U-Net's input dict from a multiscale encoder's outputs and L ``(N, S, S, 1)``."""
    return {**{name: features[name] for name in FEATURE_INPUTS}, L_INPUT: l_norm}


def warm_start(decoder: keras.Model, source: keras.Model) -> list[str]:
    """Copy a trained U-Net's weights (``source``) into ``decoder``, layer by layer, by name.

    For a hint-aware U-Net started from the same U-Net trained without hints: the layers the
    hints add have no weights, and a convolution after a concatenation that the hint planes join
    gets more input channels, always after the old ones; their part of the kernel starts at zero,
    so the new decoder first colours exactly as the old one and training teaches it the hints.
    Returns the names of those grown layers. Raises ValueError for a layer whose weights do not fit.
    """
    grown = []
    for layer in decoder.layers:
        try:
            old_weights = source.get_layer(layer.name).get_weights()
        except ValueError:
            continue  # a layer only the new decoder has (the hint pooling: no weights)
        new_weights = layer.get_weights()
        if len(old_weights) != len(new_weights):
            raise ValueError(
                f"Layer '{layer.name}' has {len(new_weights)} weights, the source's {len(old_weights)}."
            )
        fitted = []
        for old, new in zip(old_weights, new_weights, strict=True):
            more_inputs = (
                old.ndim == new.ndim >= 2
                and old.shape[:-2] == new.shape[:-2]
                and old.shape[-1] == new.shape[-1]
                and old.shape[-2] < new.shape[-2]
            )
            if old.shape == new.shape:
                fitted.append(old)
            elif more_inputs:
                kernel = np.zeros_like(new)
                kernel[..., : old.shape[-2], :] = old
                fitted.append(kernel)
                grown.append(layer.name)
            else:
                raise ValueError(
                    f"Layer '{layer.name}': a weight of shape {old.shape} cannot start one of shape "
                    f"{new.shape}; start from a U-Net of the same encoder, filters and attention."
                )
        layer.set_weights(fitted)
    return grown
