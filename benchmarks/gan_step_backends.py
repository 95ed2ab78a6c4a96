"""The GAN/DDColor trainer's step gives the same weights on two Keras backends.

:class:`colorlib.training.gan.GANTrainer` takes its two sets of gradients with
``tf.GradientTape`` on TensorFlow, ``torch.autograd.grad`` on PyTorch and a stateless ``jax.vjp``
step on JAX. TensorFlow and PyTorch are seldom installed together (the GPU machines have PyTorch
only), so the check has two halves, each run where its backend is::

    KERAS_BACKEND=tensorflow python benchmarks/gan_step_backends.py save FOLDER
    KERAS_BACKEND=torch      python benchmarks/gan_step_backends.py check FOLDER
    KERAS_BACKEND=jax        python benchmarks/gan_step_backends.py check FOLDER

``save`` builds a tiny trainer with all four of DDColor's terms (64×64, random weights, the
perceptual one through EfficientNet-Lite0 with its ImageNet weights, as in a real run), writes
its weights, takes :data:`STEPS` plain SGD step on a fixed batch (so the update is the gradient
itself, not Adam's normalized one) and writes the weights after it with the losses. One step
checks what the backend-specific code does (each network gets its own loss's gradients); more
steps would mostly measure how rounding grows. ``check`` loads the same starting weights on its
own backend, takes the same step and prints, for each network, the largest difference between
the two backends' weight changes, relative to the largest change; it exits with 1 when that or a
loss (relative to its size, when above 1) differs by more than :data:`TOLERANCE`. On PyTorch it
turns TF32 off. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import keras
import numpy as np

from colorlib.archs import discriminator_arch, efficientnet_weights, perceptual_arch, unet_arch
from colorlib.losses import ddcolor
from colorlib.training import gan

SIZE, BATCH, STEPS = 64, 4, 1
CHANNELS = {"bottleneck": 8, "stride16": 8, "stride8": 4, "stride4": 4}
FILTERS = (16, 8, 8, 8, 4)
LEARNING_RATE = 0.001
#: Largest difference allowed between the backends, relative to the largest weight change or to each loss.
TOLERANCE = 1e-3


def batch() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A fixed batch of random features and L, with ab that follows L."""
    rng = np.random.default_rng(0)
    shapes = unet_arch.input_shapes(SIZE, CHANNELS)
    inputs = {name: rng.normal(size=(BATCH, *shape)).astype("float32") for name, shape in shapes.items()}
    inputs["l"] = rng.uniform(size=(BATCH, SIZE, SIZE, 1)).astype("float32")
    return inputs, np.concatenate([inputs["l"] - 0.5, 0.5 - inputs["l"]], axis=-1).astype("float32")


def trainer() -> gan.GANTrainer:
    """All four terms, the perceptual one with the run's network (Lite0, ImageNet weights); SGD."""
    keras.utils.set_random_seed(0)
    backbone = efficientnet_weights.build_efficientnet_lite0(
        (SIZE, SIZE, 3), include_top=False, weights="imagenet"
    )
    perceptual = perceptual_arch.perceptual_network(backbone, SIZE)
    decoder = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS)
    # The ab head starts at zero (gray), where |R − G| in the colorfulness term has no derivative
    # and backends may differ by design; a trained generator, as the GAN starts from, is never
    # exactly gray, so the check starts from small colours.
    head = decoder.get_layer("ab")
    head.kernel.assign(np.random.default_rng(1).normal(0.0, 0.05, head.kernel.shape).astype("float32"))
    model = gan.GANTrainer(
        decoder,
        discriminator_arch.build_discriminator(SIZE, (8, 16, 16)),
        LEARNING_RATE,
        weights=ddcolor.LossWeights(),
        perceptual=perceptual,
        color_enhance=ddcolor.DDCOLOR_COLOR_ENHANCE,
        d_optimizer=keras.optimizers.SGD(LEARNING_RATE),
    )
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE))
    return model


def networks(model: gan.GANTrainer) -> dict[str, list[np.ndarray]]:
    return {
        "generator": [np.array(w) for w in model.decoder.weights],
        "discriminator": [np.array(w) for w in model.discriminator.weights],
    }


def steps(model: gan.GANTrainer) -> list[dict[str, float]]:
    inputs, ab = batch()
    return [
        {k: float(v) for k, v in model.train_on_batch(inputs, ab, return_dict=True).items()}
        for _ in range(STEPS)
    ]


def save(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model = trainer()
    model.save_weights(folder / "before.weights.h5")
    losses = steps(model)
    after = networks(model)
    np.savez(folder / "after.npz", **{f"{n}_{i}": w for n, ws in after.items() for i, w in enumerate(ws)})
    (folder / "losses.json").write_text(json.dumps({"backend": keras.backend.backend(), "steps": losses}))
    print(f"saved {STEPS} SGD step(s) on {keras.backend.backend()} in {folder}: {losses[-1]}")


def check(folder: Path) -> int:
    if keras.backend.backend() == "torch":
        import torch

        # Full float32 on a GPU too: cuDNN's default TF32 convolutions round to 10 mantissa bits.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    reference = json.loads((folder / "losses.json").read_text())
    model = trainer()
    model.load_weights(folder / "before.weights.h5")
    before = networks(model)
    losses = steps(model)
    after, saved = networks(model), np.load(folder / "after.npz")
    worst = 0.0
    for name in after:
        mine = np.concatenate([(a - b).ravel() for a, b in zip(after[name], before[name], strict=True)])
        theirs = np.concatenate([(saved[f"{name}_{i}"] - b).ravel() for i, b in enumerate(before[name])])
        relative = float(np.abs(mine - theirs).max() / np.abs(theirs).max())
        worst = max(worst, relative)
        print(f"{name}: largest change {np.abs(theirs).max():.3e}, backends differ by {relative:.2e} of it")
    for step, (mine, theirs) in enumerate(zip(losses, reference["steps"], strict=True), start=1):
        gaps = {k: abs(mine[k] - theirs[k]) / max(1.0, abs(theirs[k])) for k in theirs}
        worst = max(worst, *gaps.values())
        print(f"step {step}: " + ", ".join(f"{k} {mine[k]:.5f} ({theirs[k]:.5f})" for k in sorted(theirs)))
    backends = f"{keras.backend.backend()} against {reference['backend']}"
    print(f"{backends}: largest difference {worst:.2e} (tolerance {TOLERANCE:g})")
    return 0 if worst <= TOLERANCE else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["save", "check"])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.action == "save":
        save(args.folder)
        return 0
    return check(args.folder)


if __name__ == "__main__":
    sys.exit(main())
