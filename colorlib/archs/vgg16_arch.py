"""VGG16, the original design's encoder: its ImageNet weights (Keras' download) and gray input.

L in [0, 1] is repeated to three channels and scaled as Keras' VGG16 expects
(:class:`GrayToVGGInput`); the network is Keras' own, first 19 layers, frozen.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

# encoders also registers GrayToLite0Input, so that load_model reads Lite0 colorizers.
from colorlib.color.lab import VGG_MEAN_BGR
from colorlib.core.config import (
    ENCODER_LAYERS,
    ENCODER_STRIDE,
    IMAGE_SIZE,
    PIXEL_MAX,
    keras_models_dir,
)

#: The file Keras downloads for VGG16 without its classifier, and where it comes from.
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_WEIGHTS_FILE
VGG16_WEIGHTS_MD5 = "6d6bbae143d832006294945121d1f1fc"
VGG16_WEIGHTS_BYTES = 58_889_256


#: VGG16's last layer at each output stride: the outputs of :func:`multiscale_encoder`.
VGG16_STRIDE_LAYERS = {4: "block2_pool", 8: "block3_pool", 16: "block4_pool", 32: "block5_pool"}


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


def check_image_size(image_size: int) -> None:
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
    check_image_size(image_size)
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
