"""The PatchGAN discriminator of ``loss: gan``, conditioned on L (pix2pix, Isola et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from colorlib.archs import unet_arch

#: Widths of the discriminator's stride-2 convolutions: 3 of them, so one logit per 8×8 patch grid cell.
DISCRIMINATOR_FILTERS = (64, 128, 256)
#: Kernel size of the discriminator's convolutions (pix2pix's PatchGAN).
DISCRIMINATOR_KERNEL = 4
#: Negative slope of the discriminator's LeakyReLU.
LEAKY_SLOPE = 0.2
#: The input name of ab in the discriminator (L is :data:`colorlib.archs.unet_arch.L_INPUT`, "l").
AB_INPUT = "ab"


def build_discriminator(image_size: int, filters: Sequence[int] = DISCRIMINATOR_FILTERS) -> keras.Model:
    """The PatchGAN discriminator: ``{"l": (S, S, 1) in [0, 1], "ab": (S, S, 2) in [-1, 1]}`` -> logits.

    L is moved to [-1, 1] like ab and the two are concatenated; each of ``filters`` is a
    4×4 stride-2 convolution (batch norm after the first) with LeakyReLU 0.2, and a last
    4×4 convolution gives one real/fake logit per patch: ``(S / 2**len(filters), ..., 1)``.
    """
    if image_size % (2 ** len(filters)):
        raise ValueError(
            f"image_size {image_size} must be a multiple of {2 ** len(filters)} for the PatchGAN."
        )
    l_input = keras.Input((image_size, image_size, 1), name=unet_arch.L_INPUT)
    ab_input = keras.Input((image_size, image_size, 2), name=AB_INPUT)
    l_centred = layers.Rescaling(2.0, offset=-1.0, name="l_centred")(l_input)
    x = layers.Concatenate(name="l_ab")([l_centred, ab_input])
    for stage, width in enumerate(filters, start=1):
        x = layers.Conv2D(
            width, DISCRIMINATOR_KERNEL, strides=2, padding="same", use_bias=stage == 1, name=f"d{stage}_conv"
        )(x)
        if stage > 1:
            x = layers.BatchNormalization(name=f"d{stage}_norm")(x)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"d{stage}_act")(x)
    logits = layers.Conv2D(1, DISCRIMINATOR_KERNEL, padding="same", name="patch_logits")(x)
    return keras.Model({unet_arch.L_INPUT: l_input, AB_INPUT: ab_input}, logits, name="discriminator")
