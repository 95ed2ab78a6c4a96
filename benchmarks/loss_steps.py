"""What a training step costs with each loss, side by side: MSE, GAN (pix2pix) and DDColor's four terms.

The U-Net decoder at the real shapes of the Lite0 encoder's cache (random inputs, random
encoder weights: speed does not depend on the values), one batch, the same machine and
process. Prints seconds per step and each loss's ratio to MSE's, so a run's time can be
planned from its MSE epochs. Not part of the test suite::

    python benchmarks/loss_steps.py [--size 256] [--batch 32] [--steps 5]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from colorlib.archs import discriminator_arch, efficientnet_weights, perceptual_arch, unet_arch
from colorlib.losses import ddcolor
from colorlib.training import gan

#: Lite0's cached U-Net inputs: channels at each stride.
CHANNELS = {"bottleneck": 1280, "stride16": 112, "stride8": 40, "stride4": 24}


def batch(size: int, count: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = unet_arch.input_shapes(size, CHANNELS)
    inputs = {name: rng.uniform(size=(count, *shape)).astype("float32") for name, shape in shapes.items()}
    return inputs, rng.uniform(-0.3, 0.3, size=(count, size, size, 2)).astype("float32")


def seconds_per_step(model: keras.Model, inputs, ab, steps: int) -> float:
    model.train_on_batch(inputs, ab)  # traces and builds: not timed
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(inputs, ab)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    inputs, ab = batch(args.size, args.batch)

    def decoder() -> keras.Model:
        keras.utils.set_random_seed(0)
        return unet_arch.build_unet(args.size, CHANNELS, None)

    mse = decoder()
    mse.compile(optimizer=keras.optimizers.Adam(2e-4), loss="mse")
    backbone = efficientnet_weights.build_efficientnet_lite0(
        (args.size, args.size, 3), include_top=False, weights=None
    )
    trainers = {
        "mse": mse,
        "gan": gan.GANTrainer(decoder(), discriminator_arch.build_discriminator(args.size), 2e-4),
        "ddcolor": gan.GANTrainer(
            decoder(),
            discriminator_arch.build_discriminator(args.size),
            2e-4,
            weights=ddcolor.LossWeights(),
            perceptual=perceptual_arch.perceptual_network(backbone, args.size),
            color_enhance=ddcolor.DDCOLOR_COLOR_ENHANCE,
        ),
    }
    times = {name: seconds_per_step(model, inputs, ab, args.steps) for name, model in trainers.items()}
    print(f"{args.batch} photos of {args.size}×{args.size} per step, {args.steps} steps each:")
    for name, seconds in times.items():
        print(f"  {name:<8} {seconds:8.3f} s/step   {seconds / times['mse']:5.2f}× mse")


if __name__ == "__main__":
    main()
