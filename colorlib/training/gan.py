"""``loss: gan``: a short adversarial fine-tuning of a trained generator (pix2pix, DeOldify's NoGAN).

The generator is the U-Net decoder of a finished ``mse``, ``huber`` or ``classification``
training of the same run (``gan_from``); a PatchGAN discriminator conditioned on L judges
``(L, ab)`` pairs, and a few epochs (``gan_epochs``) train both in turn:

- the discriminator: binary cross-entropy, real pairs ``(L, true ab)`` against fake ones
  ``(L, generated ab)``, on every logit of its grid;
- the generator: ``L1_WEIGHT`` × the L1 distance to the true ab (pix2pix's λ = 100) plus the
  adversarial term, the cross-entropy of its pairs judged real.

``loss: ddcolor`` trains the same way with DDColor's four terms instead
(:mod:`colorlib.losses.ddcolor`): weighted L1, perceptual (a frozen network's features of the
true and the colorized RGB), adversarial and colorfulness, against targets whose ab are scaled
by ``color_enhance``. A term with weight 0 is not computed; with no adversarial term there is no
discriminator.

Shapes for an ``S × S`` training image::

    L      (B, S, S, 1)  float32 in [0, 1]     (the "l" input of the U-Net's cached batches)
    ab     (B, S, S, 2)  float32 in [-1, 1]
    discriminator({"l": L, "ab": ab}) -> logits (B, S/8, S/8, 1), one per overlapping patch

:class:`GANTrainer` owns the generator, the discriminator and both optimizers (one
:class:`colorlib.training.optimizer_pair.OptimizerPair` to Keras), so the usual ``fit`` with
:func:`colorlib.training.fitting.callbacks` backs all of them up after every epoch and resumes
after a kill. Keras 3 has no backend-neutral way to take two sets of gradients in one step, so
``train_step`` takes them the way of each backend: ``tf.GradientTape`` on TensorFlow (the
default), ``torch.autograd.grad`` on PyTorch (a GPU machine without TensorFlow), and on JAX (how
Keras trains on several devices and machines) a stateless step: the losses computed once in a
``StatelessScope`` over the step's variable values, ``jax.vjp`` pulled back once per network's
loss, and the pair's ``stateless_apply``.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import ops

from colorlib.archs import annealed_mean, seed_arch, unet_arch
from colorlib.archs.discriminator_arch import AB_INPUT
from colorlib.color import labops
from colorlib.losses import ddcolor

#: The generator's L1 term is weighed this much against the adversarial one (pix2pix, Isola et al. 2017).
L1_WEIGHT = 100.0
#: Adam's beta_1 for both networks: 0.5, as pix2pix and DCGAN, steadier than 0.9 for adversarial training.
GAN_BETA_1 = 0.5


def generator_ab(decoder: keras.Model, image_size: int) -> keras.Model:
    """The decoder's inputs -> ab ``(S, S, 2)`` in [-1, 1], sharing the decoder's layers.

    An ab decoder is returned as it is; a classifier (ab-bin logits at S/4) is followed by the
    annealed mean and the upsampling of :func:`colorlib.archs.annealed_mean.decode`, as in the colorizer.
    """
    if not seed_arch.is_classifier(decoder):
        return decoder
    return keras.Model(decoder.input, annealed_mean.decode(decoder.output, image_size), name="generator_ab")


#: The Keras backends whose ``train_step`` is written (:meth:`GANTrainer.train_step`).
GRADIENT_BACKENDS = ("tensorflow", "torch", "jax")


def _require_gradient_backend() -> None:
    if keras.backend.backend() not in GRADIENT_BACKENDS:
        raise ValueError(
            f"loss=gan and loss=ddcolor take their two sets of gradients with TensorFlow, PyTorch or JAX, "
            f"but the Keras backend is {keras.backend.backend()!r}; set KERAS_BACKEND=tensorflow "
            f"(the default), KERAS_BACKEND=jax or KERAS_BACKEND=torch."
        )


def gan_weights(l1_weight: float = L1_WEIGHT) -> ddcolor.LossWeights:
    """``loss: gan``'s terms: ``l1_weight`` × L1 plus the adversarial term (pix2pix)."""
    return ddcolor.LossWeights(l1=l1_weight, perceptual=0.0, adversarial=1.0, colorfulness=0.0)


class GANTrainer(keras.Model):
    """Trains a U-Net ``decoder`` against a PatchGAN ``discriminator`` with ``fit``.

    Batches are the U-Net's cached ones, ``(inputs dict with "l", ab)``. The logs are
    ``loss`` (the generator's: the weighted sum of its terms), one per term switched on
    (``l1``, ``perceptual``, ``adversarial``, ``colorfulness``: unweighted) and ``d_loss``
    (the discriminator's, real and fake averaged); the validation ones are the same with
    ``val_``, computed without updating anything. ``save_weights`` holds both networks and
    both optimizers (default Adam, ``learning_rate``, beta_1 :data:`GAN_BETA_1`).

    ``weights`` (default :func:`gan_weights`: pix2pix's) weigh the terms; a perceptual term
    needs ``perceptual`` (:func:`colorlib.archs.perceptual_arch.perceptual_network`), and
    ``discriminator`` may be None when the adversarial weight is 0. ``color_enhance`` scales the
    targets' ab (:func:`colorlib.losses.ddcolor.enhance_ab`); ``d_optimizer`` replaces the
    discriminator's Adam. With ``encoder`` (the run's frozen multiscale encoder) the batches are
    photos, ``(L, ab)``, as shards give them, and the step runs the encoder itself.
    """

    def __init__(
        self,
        decoder: keras.Model,
        discriminator: keras.Model | None,
        learning_rate: float,
        l1_weight: float = L1_WEIGHT,
        weights: ddcolor.LossWeights | None = None,
        perceptual: keras.Model | None = None,
        color_enhance: float = 1.0,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        encoder: keras.Model | None = None,
        **kwargs,
    ) -> None:
        _require_gradient_backend()
        weights = weights if weights is not None else gan_weights(l1_weight)
        if weights.adversarial > 0 and discriminator is None:
            raise ValueError(
                "An adversarial weight above 0 needs a discriminator; build one with build_discriminator."
            )
        if weights.perceptual > 0 and perceptual is None:
            raise ValueError(
                "A perceptual weight above 0 needs the perceptual network "
                "(perceptual_arch.perceptual_network)."
            )
        ddcolor.enhance_ab(0.0, color_enhance)  # refuses a factor that is not positive
        if not unet_arch.is_unet(decoder):
            raise ValueError(
                "loss=gan needs a U-Net decoder (decoder=unet): the discriminator is conditioned on L, "
                "which only the U-Net's cached batches hold."
            )
        super().__init__(name="gan_trainer", **kwargs)
        self.loss_weights = weights
        self.decoder = decoder
        self.discriminator = discriminator if self.loss_weights.adversarial > 0 else None
        self.perceptual = perceptual if self.loss_weights.perceptual > 0 else None
        self.generator = generator_ab(decoder, int(decoder.input[unet_arch.L_INPUT].shape[1]))
        self.color_enhance = float(color_enhance)
        self.encoder = encoder
        if encoder is not None:
            encoder.trainable = False
        self.learning_rate = float(learning_rate)
        self.terms = ddcolor.term_names(self.loss_weights)
        names = ["loss", *self.terms, *(["d_loss"] if self.discriminator is not None else [])]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.d_optimizer = None
        if self.discriminator is not None:
            self.d_optimizer = d_optimizer or keras.optimizers.Adam(
                learning_rate, beta_1=GAN_BETA_1, name="d_adam"
            )
        self.compile()
        self.built = True

    def compile(self, optimizer=None, loss=None, **kwargs) -> None:
        """Set the generator's optimizer (default: Adam at the trainer's learning rate, β₁
        :data:`GAN_BETA_1`) and build it with the discriminator's, so that a backup restores into
        both. ``loss`` must be None: the trainer computes its own losses (L1 and the adversarial term)."""
        from colorlib.training.optimizer_pair import OptimizerPair

        if loss is not None:
            raise ValueError(
                "A GANTrainer computes its own losses (L1 and the adversarial term); compile it with "
                "loss=None (its model class gives None for loss: gan)."
            )
        if optimizer is None:
            optimizer = keras.optimizers.Adam(self.learning_rate, beta_1=GAN_BETA_1, name="g_adam")
        if self.discriminator is None:
            super().compile(optimizer=optimizer, **kwargs)
            self.optimizer.build(self.decoder.trainable_variables)
            return
        pair = OptimizerPair(optimizer, self.d_optimizer)
        pair.build_pair(self.decoder.trainable_variables, self.discriminator.trainable_variables)
        super().compile(optimizer=pair, **kwargs)

    def generator_optimizer(self) -> keras.optimizers.Optimizer:
        """The generator's optimizer (``optimizer`` is the pair of both, when there is a discriminator).
        A method: Keras' saving walks a model's attributes, and this one is saved as ``optimizer``."""
        from colorlib.training.optimizer_pair import OptimizerPair

        return self.optimizer.parts()[0] if isinstance(self.optimizer, OptimizerPair) else self.optimizer

    def trained_variables(self) -> list:
        """The generator's trainable variables, then the discriminator's: the pair's order."""
        found = list(self.decoder.trainable_variables)
        return found + (
            list(self.discriminator.trainable_variables) if self.discriminator is not None else []
        )

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, inputs, training: bool = False):
        """The generator's ab ``(B, S, S, 2)`` for the decoder's ``inputs``."""
        return self.generator(self._decoder_inputs(inputs), training=training)

    def _decoder_inputs(self, inputs):
        """The decoder's inputs: as given (cached features), or, with an ``encoder``, made from the
        batch's L (photos from shards: ``L`` or ``(L, hint_ab, hint_mask)``)."""
        if self.encoder is None:
            return inputs
        planes = {}
        if isinstance(inputs, (tuple, list)):
            l_norm = inputs[0]
            planes = {unet_arch.HINT_AB: inputs[1], unet_arch.HINT_MASK: inputs[2]}
        else:
            l_norm = inputs
        features = self.encoder(l_norm, training=False)
        return unet_arch.decoder_inputs(features, ops.convert_to_tensor(l_norm)) | planes

    def _step_losses(self, inputs, ab, training: bool) -> dict:
        """``{"loss": generator loss, <term>: unweighted term, "d_loss": ...}``, scalars, for one batch."""
        inputs = self._decoder_inputs(inputs)
        fake = self.generator(inputs, training=training)
        # As in DDColor, L1 compares with the true ab; the perceptual term and the discriminator
        # see the enhanced colours.
        true_ab = ops.cast(ab, fake.dtype)
        target = ddcolor.enhance_ab(true_ab, self.color_enhance)
        # A tensor, as the discriminator's other input is: PyTorch's train_on_batch leaves arrays as they are.
        l_norm = ops.convert_to_tensor(inputs[unet_arch.L_INPUT])
        values = {}
        if "l1" in self.terms:
            values["l1"] = ddcolor.l1_loss(true_ab, fake)
        if "perceptual" in self.terms:
            true_rgb = labops.lab_to_rgb(l_norm, target)
            fake_rgb = labops.lab_to_rgb(l_norm, fake)
            values["perceptual"] = ddcolor.perceptual_loss(self.perceptual, true_rgb, fake_rgb)
        if self.discriminator is not None:
            real_logits = self.discriminator({unet_arch.L_INPUT: l_norm, AB_INPUT: target}, training=training)
            fake_logits = self.discriminator({unet_arch.L_INPUT: l_norm, AB_INPUT: fake}, training=training)
            bce = keras.losses.binary_crossentropy
            values["adversarial"] = ops.mean(bce(ops.ones_like(fake_logits), fake_logits, from_logits=True))
            d_loss = 0.5 * (
                ops.mean(bce(ops.ones_like(real_logits), real_logits, from_logits=True))
                + ops.mean(bce(ops.zeros_like(fake_logits), fake_logits, from_logits=True))
            )
        if "colorfulness" in self.terms:
            # Its own RGB of the generated ab, not the perceptual term's: with the two terms reading one
            # tensor, XLA on CPU (jaxlib 0.10.2) gets the jit-compiled gradient wrong, by 13 % of the
            # generator's step (benchmarks/gan_step_backends.py); eager JAX and TensorFlow agree.
            values["colorfulness"] = ddcolor.colorfulness_loss(labops.lab_to_rgb(l_norm, fake))
        weights = self.loss_weights.as_dict()
        losses = {"loss": sum(weights[name] * values[name] for name in self.terms)}
        losses |= {name: values[name] for name in self.terms}
        if self.discriminator is not None:
            losses["d_loss"] = d_loss
        return losses

    def _log(self, values: dict) -> dict[str, keras.KerasTensor]:
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, *args):
        """One step of both networks: the generator on ``loss``, the discriminator on ``d_loss``,
        each with the gradients of its own loss from the same forward pass. Keras passes the batch
        (TensorFlow, PyTorch) or the state and the batch (JAX)."""
        backend = keras.backend.backend()
        if backend == "jax":
            from colorlib.training import gan_jax

            return gan_jax.train_step(self, *args)
        data = args[0]
        if backend == "torch":
            return self._torch_train_step(data[0], data[1])
        import tensorflow as tf

        inputs, ab = data[0], data[1]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            losses = self._step_losses(inputs, ab, training=True)
        gradients = g_tape.gradient(losses["loss"], self.decoder.trainable_variables)
        if self.discriminator is not None:
            gradients += d_tape.gradient(losses["d_loss"], self.discriminator.trainable_variables)
        self.optimizer.apply(gradients, self.trained_variables())
        return self._log(losses)

    def _torch_train_step(self, inputs, ab):
        """:meth:`train_step` on PyTorch: ``torch.autograd.grad`` of each loss with respect to its
        own network's variables (the graph is kept for the second one)."""
        import torch

        losses = self._step_losses(inputs, ab, training=True)
        steps = [(losses["loss"], self.decoder.trainable_variables)]
        if self.discriminator is not None:
            steps.append((losses["d_loss"], self.discriminator.trainable_variables))
        gradients = []
        for loss, variables in steps:
            values = [variable.value for variable in variables]
            gradients += torch.autograd.grad(loss, values, retain_graph=True)
        with torch.no_grad():
            self.optimizer.apply(gradients, self.trained_variables())
        return self._log({name: value.detach() for name, value in losses.items()})

    def test_step(self, *args):
        if keras.backend.backend() == "jax":
            from colorlib.training import gan_jax

            return gan_jax.test_step(self, *args)
        return self._log(self._step_losses(args[0][0], args[0][1], training=False))


def snapshot_path(folder: Path | str, epoch: int) -> Path:
    """The generator (decoder) weights after adversarial epoch ``epoch`` (1-based)."""
    return Path(folder) / f"decoder-epoch-{epoch:02d}.weights.h5"


class GeneratorSnapshots(keras.callbacks.Callback):
    """Saves the generator's (U-Net decoder's) weights after every epoch of a :class:`GANTrainer`.

    The snapshots (``decoder-epoch-NN.weights.h5``, written atomically) let
    :mod:`colorlib.workflow.ganepochs` score the generator epoch by epoch, to see how many adversarial
    epochs help before artifacts appear. A resumed training rewrites the epochs it redoes.
    """

    def __init__(self, folder: Path | str) -> None:
        super().__init__()
        self.folder = Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        from colorlib.training import distribute

        if not isinstance(self.model, GANTrainer):
            raise ValueError("GeneratorSnapshots saves the generator of a GANTrainer; fit one with it.")
        if distribute.is_chief():
            self.folder.mkdir(parents=True, exist_ok=True)
        path = snapshot_path(self.folder, epoch + 1)
        distribute.save_on_chief(path, self.model.decoder.save_weights, ".weights.h5")  # process 0 keeps it


__all__ = [
    "L1_WEIGHT",
    "GANTrainer",
    "GeneratorSnapshots",
    "gan_weights",
    "generator_ab",
    "snapshot_path",
]
