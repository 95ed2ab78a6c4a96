"""DDColor's loss terms (Kang et al., ICCV 2023), written with ``keras.ops``: L1, perceptual, colorfulness.

``loss: ddcolor`` (:class:`colorlib.training.gan.GANTrainer`) sums them with the adversarial term
of the PatchGAN, each with its weight (:class:`LossWeights`; DDColor's
``options/train/train_ddcolor.yml``: L1 0.1 on ab in CIE units, which is 12.8 here on ab / 128;
perceptual 5.0; adversarial 1.0; colorfulness 0.5 summed over each GPU's batch of 4, which is 2.0
here, where every term is a batch mean). The perceptual term and the discriminator see targets made more
vivid by :func:`enhance_ab` (``color_enhance`` 1.2); L1 compares with the true ab, as in DDColor.

Shapes for an ``S × S`` training image::

    l_norm   (B, S, S, 1)  float32 in [0, 1]
    ab       (B, S, S, 2)  float32 in [-1, 1]
    rgb      (B, S, S, 3)  float32 in [0, 1]   (:func:`colorlib.color.labops.lab_to_rgb`)

**The perceptual network.** DDColor compares VGG16-BN features (conv1_1 … conv5_1, weighted
1/16 … 1); those weights are not available here, so colorlib uses the frozen EfficientNet-Lite0
encoder the run already has (:mod:`colorlib.archs.perceptual_arch`): the last features at
strides 4, 8, 16 and 32 (24, 40, 112 and 320 channels), weighted
:data:`PERCEPTUAL_STAGE_WEIGHTS` (1/8, 1/4, 1/2, 1): deeper, more semantic features count
more, as in DDColor. The 1280-channel head is left out: it only mixes the
stride-32 features for the classifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import keras
from keras import ops

from colorlib.color import labops
from colorlib.core.config import AB_SCALE

#: The weight of each stage the perceptual network gives
#: (:func:`colorlib.archs.perceptual_arch.perceptual_network`: Lite0 at strides 4, 8, 16, 32).
PERCEPTUAL_STAGE_WEIGHTS = (1 / 8, 1 / 4, 1 / 2, 1.0)
#: The batch each of DDColor's training processes sees (train_ddcolor.yml: batch_size_per_gpu 4,
#: num_gpu 4; scripts/train.sh starts 4 DistributedDataParallel processes). Its ColorfulnessLoss
#: sums over that batch where its other terms are means, and DDP averages the 4 processes'
#: gradients, so its colorfulness weight counts this many times in the balance (not 16).
DDCOLOR_BATCH_PER_GPU = 4
#: DDColor's weights (train_ddcolor.yml) in colorlib's units: L1 on normalized ab (DDColor's 0.1
#: on CIE ab × AB_SCALE), the colorfulness one as a batch mean (0.5 × 4); and its color_enhance factor.
DDCOLOR_L1 = 0.1 * AB_SCALE
DDCOLOR_PERCEPTUAL, DDCOLOR_ADVERSARIAL = 5.0, 1.0
DDCOLOR_COLORFULNESS = 0.5 * DDCOLOR_BATCH_PER_GPU
DDCOLOR_COLOR_ENHANCE = 1.2


@dataclass(frozen=True)
class LossWeights:
    """The weight of each term of the generator's loss; 0 turns a term off."""

    l1: float = DDCOLOR_L1
    perceptual: float = DDCOLOR_PERCEPTUAL
    adversarial: float = DDCOLOR_ADVERSARIAL
    colorfulness: float = DDCOLOR_COLORFULNESS

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"The {name} loss weight must be 0 (off) or positive, got {value}.")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def enhance_ab(ab, factor: float):
    """DDColor's ``color_enhance``: ab ``× factor``, clipped to [-1, 1]; 1.0 leaves ab as it is."""
    if factor <= 0:
        raise ValueError(f"color_enhance must be positive (1.0: off), got {factor}.")
    if factor == 1.0:
        return ab
    return ops.clip(ops.multiply(ab, factor), -1.0, 1.0)


def l1_loss(true_ab, predicted_ab):
    """Mean absolute ab error, a scalar."""
    return ops.mean(ops.abs(ops.subtract(ops.cast(true_ab, predicted_ab.dtype), predicted_ab)))


def colorfulness_loss(rgb):
    """DDColor's colorfulness loss: the batch mean of ``1 − colorfulness`` of each RGB image in [0, 1].

    DDColor sums over each process's batch instead (:data:`DDCOLOR_BATCH_PER_GPU` photos), so its
    weight 0.5 is :data:`DDCOLOR_COLORFULNESS` (2.0) here, the default.
    """
    return ops.mean(1.0 - labops.colorfulness(rgb))


def perceptual_loss(
    network: keras.Model,
    true_rgb,
    predicted_rgb,
    stage_weights: Sequence[float] = PERCEPTUAL_STAGE_WEIGHTS,
):
    """Σ_k w_k · mean |φ_k(true) − φ_k(predicted)|, a scalar; φ the stages of ``network``."""
    true_features = network(true_rgb, training=False)
    predicted_features = network(predicted_rgb, training=False)
    if len(true_features) != len(stage_weights):
        raise ValueError(f"The network gives {len(true_features)} stages but {len(stage_weights)} weights.")
    total = 0.0
    for weight, true, predicted in zip(stage_weights, true_features, predicted_features, strict=True):
        total = total + weight * ops.mean(ops.abs(ops.subtract(ops.stop_gradient(true), predicted)))
    return total


def term_names(weights: LossWeights | Mapping[str, float]) -> list[str]:
    """The terms switched on (weight above 0), in the order of :class:`LossWeights`."""
    values = weights.as_dict() if isinstance(weights, LossWeights) else dict(weights)
    return [name for name, value in values.items() if value > 0]
