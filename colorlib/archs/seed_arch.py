"""The original design's decoder: bottleneck features -> ab, by Conv2DTranspose stages."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from colorlib.archs.vgg16_arch import check_image_size

# encoders also registers GrayToLite0Input, so that load_model reads Lite0 colorizers.
from colorlib.core.config import (
    ENCODER_CHANNELS,
    ENCODER_STRIDE,
    IMAGE_SIZE,
)

#: Decoder widths of its three Conv2DTranspose stages (S/32 -> S/16 -> S/8 -> S/4).
DECODER_FILTERS = (128, 64, 32)
#: The decoder predicts ab at a quarter of the resolution, then upsamples it bilinearly.
DECODER_UPSAMPLE = 4


def build_decoder(
    image_size: int = IMAGE_SIZE,
    filters: Sequence[int] = DECODER_FILTERS,
    channels: int = ENCODER_CHANNELS,
    classes: int | None = None,
) -> keras.Model:
    """Features ``(S/32, S/32, channels)`` -> ab ``(S, S, 2)`` in [-1, 1].

    Fully convolutional: each stage is a stride-2 Conv2DTranspose plus a Conv2D (ReLU),
    doubling the resolution; a tanh Conv2D gives ab at S/4, and UpSampling2D
    (bilinear) brings it to S. ab is smooth, so predicting it at a quarter of the
    resolution loses little and keeps the channels small where pixels are many.
    ``classes=Q`` (``loss: classification``): a 1×1 Conv2D gives Q logits per pixel at S/4,
    ``(S/4, S/4, Q)`` float32, and no upsampling (:func:`colorlib.archs.annealed_mean.decode` does it).
    """
    check_image_size(image_size)
    if len(filters) != 3 or min(filters) < 1:
        raise ValueError(f"filters must be three positive widths, got {tuple(filters)}.")
    side = image_size // ENCODER_STRIDE
    features = keras.Input((side, side, channels), name="features")
    x = features
    for stage, width in enumerate(filters, start=1):
        x = layers.Conv2DTranspose(
            width, 3, strides=2, padding="same", activation="relu", name=f"up{stage}_transpose"
        )(x)
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"up{stage}_conv")(x)
    if classes is not None:
        return keras.Model(features, layers.Conv2D(classes, 1, name="ab_logits")(x), name="decoder")
    x = layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab_quarter")(x)
    ab = layers.UpSampling2D(DECODER_UPSAMPLE, interpolation="bilinear", name="ab")(x)
    return keras.Model(features, ab, name="decoder")


def is_classifier(decoder: keras.Model) -> bool:
    """Whether ``decoder`` gives ab-bin logits (``loss: classification``) rather than ab itself."""
    return int(decoder.output_shape[-1]) != 2
