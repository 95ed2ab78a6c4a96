"""Every training scheme takes two steps on tiny data, on the Keras backend of this process.

``tests/test_schemes.py`` runs it in this process (TensorFlow) and as a script with
``KERAS_BACKEND=jax`` (a backend is chosen once per process)::

    KERAS_BACKEND=jax python tests/scheme_steps.py   # prints JSON: each scheme's losses, weights moved

Each scheme is built by its own class from :class:`colorlib.core.params.Params` and tiny
stand-ins for what a run gives it (random feature batches and their statistics, a finished
U-Net to start from, a random encoder), then ``fit`` runs two batches.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import numpy as np

from colorlib.core.params import Params

SIZE, BATCH = 64, 2
#: Feature widths of the tiny U-Net inputs.
CHANNELS = {"bottleneck": 8, "stride16": 8, "stride8": 4, "stride4": 4}
#: Each scheme, by a name for the tests, and the parameters that choose it.
SCHEMES = {
    "regression-seed": {"loss": "mse", "encoder": "vgg16"},
    "regression-huber": {"loss": "huber", "decoder": "unet"},
    "classification": {"loss": "classification", "decoder": "unet"},
    "hints": {"loss": "mse", "decoder": "unet", "hints": True},
    "hints-spread": {"loss": "mse", "decoder": "unet", "hints": True, "hint_spread": True, "init_run": "x"},
    "gan": {"loss": "gan", "decoder": "unet"},
    "ddcolor": {"loss": "ddcolor", "decoder": "unet", "encoder": "efficientnet_lite0"},
}


def scheme_params(name: str) -> Params:
    options = {
        "encoder": "efficientnet_lite0",
        "image_size": SIZE,
        "batch_size": BATCH,
        "learning_rate": 1e-3,
    }
    return Params(**(options | SCHEMES[name]))


def batch(params: Params, model, rng: np.random.Generator, streamed: bool = False) -> tuple:
    """One batch of what the run's cache gives this scheme: features (and L, and hints), and ab; or,
    ``streamed``, what shards give it: L (and the hint planes) and ab."""
    from colorlib.archs import colorizer_arch, unet_arch
    from colorlib.data import hints

    ab = rng.uniform(-0.3, 0.3, size=(BATCH, SIZE, SIZE, 2)).astype("float32")
    if streamed:
        l_norm = rng.uniform(size=(BATCH, SIZE, SIZE, 1)).astype("float32")
        if not model.reads_hints:
            return l_norm, ab
        planes = hints.with_simulated_hints({}, ab, rng)
        return (l_norm, planes[hints.HINT_AB], planes[hints.HINT_MASK]), ab
    if not model.reads_skips:
        channels = colorizer_arch.ENCODERS[params.encoder]
        side = SIZE // 32
        return rng.normal(size=(BATCH, side, side, channels)).astype("float32"), ab
    shapes = unet_arch.input_shapes(SIZE, CHANNELS)
    inputs = {name: rng.normal(size=(BATCH, *shape)).astype("float32") for name, shape in shapes.items()}
    inputs[unet_arch.L_INPUT] = rng.uniform(size=(BATCH, SIZE, SIZE, 1)).astype("float32")
    if model.reads_hints:
        inputs = hints.with_simulated_hints(inputs, ab, rng)
    return inputs, ab


def build_inputs(params: Params, streamed: bool = False):
    """Stand-ins for :func:`colorlib.workflow.build_inputs`: statistics, a finished U-Net, an encoder
    (random weights); ``streamed``: the U-Net reads the encoder's own features, so its widths."""
    import keras

    from colorlib.archs import colorizer_arch, unet_arch
    from colorlib.color import colorclasses
    from colorlib.training.base_model import BuildInputs

    encoder = colorizer_arch.build_encoder(None, SIZE, params.encoder)
    channels = CHANNELS
    if streamed:
        channels = unet_arch.feature_channels(colorizer_arch.multiscale_encoder(encoder))
    stats = {name: (np.zeros(width), np.ones(width)) for name, width in channels.items()}
    train = SimpleNamespace(channel_stats=lambda: stats)

    def finished_unet():
        keras.utils.set_random_seed(1)
        return unet_arch.build_unet(SIZE, channels, stats)

    return BuildInputs(
        train=lambda: train,
        start_decoder=finished_unet,
        class_weights=lambda: np.ones(colorclasses.bin_count()),
        encoder=lambda: encoder,
        streamed=streamed,
    )


def two_steps(name: str, streamed: bool = False) -> dict:
    """Build the scheme ``name`` and fit it on two batches: its losses and whether its weights moved.
    ``streamed``: on photos, through the frozen encoder, as with shards."""
    import keras

    from colorlib.training.models import model_for

    keras.utils.set_random_seed(0)
    params = scheme_params(name)
    model = model_for(params)
    trained = model.build(build_inputs(params, streamed))
    rng = np.random.default_rng(0)
    first, second = batch(params, model, rng, streamed), batch(params, model, rng, streamed)
    generator = model.generator(trained)
    before = [np.array(weight) for weight in generator.trainable_weights]
    losses = [float(trained.train_on_batch(*data, return_dict=True)["loss"]) for data in (first, second)]
    after = [np.array(weight) for weight in generator.trainable_weights]
    changed = any(not np.allclose(old, new) for old, new in zip(before, after, strict=True))
    return {"scheme": type(model).__name__, "losses": losses, "changed": changed}


def main() -> None:
    import keras

    results = {name: two_steps(name) for name in SCHEMES}
    streamed = {name: two_steps(name, streamed=True) for name in SCHEMES}
    print(json.dumps({"backend": keras.backend.backend(), "schemes": results, "streamed": streamed}))


if __name__ == "__main__":
    sys.exit(main())
