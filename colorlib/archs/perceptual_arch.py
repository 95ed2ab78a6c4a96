"""The perceptual loss's network: the run's frozen EfficientNet-Lite0 on sRGB, at several strides.

:func:`colorlib.losses.ddcolor.perceptual_loss` compares its features of the true and the
colorized photo (see :mod:`colorlib.losses.ddcolor` for why Lite0 and these stages)::

    rgb (B, S, S, 3) float32 in [0, 1]
    -> [(B, S/4, S/4, 24), (B, S/8, S/8, 40), (B, S/16, S/16, 112), (B, S/32, S/32, 320)]
"""

from __future__ import annotations

import keras

from colorlib.archs import efficientnet_arch
from colorlib.core.config import PIXEL_MAX

#: The Lite0 strides the perceptual loss compares (the last layer at each).
PERCEPTUAL_STRIDES = (4, 8, 16, 32)


def perceptual_network(backbone: keras.Model, image_size: int) -> keras.Model:
    """The frozen perceptual network: sRGB ``(B, S, S, 3)`` in [0, 1] -> Lite0 features at
    :data:`PERCEPTUAL_STRIDES`, a list of ``(B, S/k, S/k, C_k)``.

    ``backbone`` is the Lite0 network inside the run's encoder
    (:func:`colorlib.archs.colorizer_arch.backbone`); its layers and weights are shared, not copied.
    """
    if backbone.name != efficientnet_arch.MODEL_NAME:
        raise ValueError(
            f"The perceptual loss uses EfficientNet-Lite0's features, but the encoder is {backbone.name!r}; "
            "set encoder: efficientnet_lite0, or perceptual_weight: 0."
        )
    outputs = [
        backbone.get_layer(efficientnet_arch.STRIDE_OUTPUT_LAYERS[stride]).output
        for stride in PERCEPTUAL_STRIDES
    ]
    features = keras.Model(backbone.input, outputs, name="perceptual_features")
    rgb = keras.Input((image_size, image_size, 3), name="rgb")
    scaled = keras.layers.Rescaling(
        PIXEL_MAX / efficientnet_arch.INPUT_SCALE,
        offset=-efficientnet_arch.INPUT_CENTER / efficientnet_arch.INPUT_SCALE,
        name="to_lite0_input",
    )(rgb)
    network = keras.Model(rgb, features(scaled, training=False), name="perceptual")
    network.trainable = False
    return network
