"""``loss: gan`` and ``loss: ddcolor``: a finished generator fine-tuned against a PatchGAN.

The generator is the U-Net of a finished ``gan_from`` training (``mse``, ``huber`` or
``classification``): this run's own, trained first in ``model/`` when it is missing, or the run
``generator_run`` names, which must be finished. A few epochs (``gan_epochs``) of
:class:`colorlib.training.gan.GANTrainer` then fine-tune it in ``model-gan/`` (``model-ddcolor/``),
with pix2pix's L1 and adversarial terms (:class:`GANModel`) or DDColor's four
(:class:`DDColorModel`). The trainer's validation loss includes the discriminator's verdict, which
changes every epoch, so there is no early stopping: every epoch runs, the last is kept, and the
generator after each epoch is saved for notebook 05 to score.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, ClassVar

from colorlib.training.base_model import BuildInputs, ColorModel, Start, Upstream

#: The run folder of each adversarial loss; the generator is trained in the usual ``model/``.
MODEL_FOLDERS = {"gan": "model-gan", "ddcolor": "model-ddcolor"}
#: The generator after each adversarial epoch (:class:`colorlib.training.gan.GeneratorSnapshots`),
#: in the model folder.
SNAPSHOT_DIR = "epochs"


class AdversarialModel(ColorModel):
    """What the GAN and DDColor's fine-tuning share: the generator they start from, the folders, the
    keys and the trainer's callbacks."""

    @property
    def model_folder(self) -> str:
        return MODEL_FOLDERS[self.params.loss]

    @property
    def epochs(self) -> int:
        return self.params.gan_epochs

    @property
    def patience(self) -> None:
        return None  # the discriminator changes every epoch: a lower validation loss is no better model

    @property
    def adversarial_epochs(self) -> int:
        return self.params.gan_epochs

    @property
    def reads_hints(self) -> bool:
        return self.params.hints  # the generator's batches

    def start(self) -> Start:
        """The generator's training: this run with ``loss: gan_from`` (in ``generator_run`` if set)."""
        params = self.params
        other = {"run_name": params.generator_run, "run_dir_override": None} if params.generator_run else {}
        generator = dataclasses.replace(params, loss=params.gan_from, **other)
        missing = (
            f"The generator run '{params.generator_run}' has no finished {params.gan_from} training with "
            "these settings. Train it first (its parameters file, with the same dataset and training "
            "settings as this one), or set generator_run: null."
        )
        return Start(generator, train_here=not params.generator_run, keyed=True, missing=missing)

    def snapshot_dir(self, model_dir: Path) -> Path:
        return Path(model_dir) / SNAPSHOT_DIR

    @property
    def step_names(self) -> tuple[str, str]:
        return f"{self.params.loss}_backup", f"{self.params.loss}_training"

    def key_settings(self, upstream: Upstream) -> dict[str, Any]:
        """Keyed on the finished generator (so on its features and settings) and the fine-tuning's own."""
        from colorlib.archs import discriminator_arch
        from colorlib.training import gan

        params = self.params
        settings = {
            "generator": upstream.start_key(),
            "loss": params.loss,
            **self.training_keys(),
            "l1_weight": gan.L1_WEIGHT,
            "discriminator": list(discriminator_arch.DISCRIMINATOR_FILTERS),
        }
        if params.steps_per_epoch:
            settings["steps_per_epoch"] = params.steps_per_epoch
        return settings

    def build_decoder(self, inputs: BuildInputs):
        """The trainer: the generator of :meth:`start` and a new discriminator, compiled."""
        import keras

        from colorlib.archs import discriminator_arch

        keras.utils.set_random_seed(self.params.seed)
        generator = inputs.start_decoder()
        return self.trainer(generator, discriminator_arch.build_discriminator(self.params.image_size), inputs)

    def photo_encoder(self, inputs: BuildInputs):
        """For photos from shards: the frozen multiscale encoder the trainer runs in its step (None:
        the batches are the cached features)."""
        from colorlib.archs import colorizer_arch

        return colorizer_arch.multiscale_encoder(inputs.encoder()) if inputs.streamed else None

    def trainer(self, generator, discriminator, inputs: BuildInputs):
        raise NotImplementedError

    def loss(self, inputs: BuildInputs) -> None:
        """None: the trainer computes its own losses."""
        return None

    def build(self, inputs: BuildInputs):
        from colorlib.training import distribute

        with distribute.scope(self.params.strategy):
            trainer = self.build_decoder(inputs)
            trainer.compile(optimizer=self.optimizer())
            return trainer

    def callbacks(self, model_dir: Path) -> list:
        """The generator saved after every epoch, for notebook 05 to score epoch by epoch."""
        from colorlib.training import gan

        return [gan.GeneratorSnapshots(self.snapshot_dir(model_dir))]

    def clear(self, model_dir: Path) -> None:
        shutil.rmtree(self.snapshot_dir(model_dir), ignore_errors=True)

    def generator(self, trained):
        """The trainer's generator (a decoder read back from a finished run is one already)."""
        from colorlib.training import gan

        return trained.decoder if isinstance(trained, gan.GANTrainer) else trained


class GANModel(AdversarialModel):
    """pix2pix's fine-tuning: 100 × L1 plus the adversarial term, Adam with β₁ 0.5 for both networks."""

    losses: ClassVar[tuple[str, ...]] = ("gan",)

    def optimizer(self):
        from colorlib.training import gan, schedules

        return schedules.make_optimizer("adam", self.params.learning_rate, beta_1=gan.GAN_BETA_1)

    def trainer(self, generator, discriminator, inputs: BuildInputs):
        from colorlib.training import gan

        return gan.GANTrainer(
            generator, discriminator, self.params.learning_rate, encoder=self.photo_encoder(inputs)
        )


class DDColorModel(AdversarialModel):
    """DDColor's four terms: weighted L1, perceptual (the run's frozen Lite0), adversarial and
    colorfulness, against targets whose ab are scaled by ``color_enhance``; ``optimizer`` (DDColor:
    AdamW) for both networks."""

    losses: ClassVar[tuple[str, ...]] = ("ddcolor",)

    def weights(self):
        from colorlib.losses import ddcolor

        params = self.params
        return ddcolor.LossWeights(
            params.l1_weight, params.perceptual_weight, params.adversarial_weight, params.colorfulness_weight
        )

    def key_settings(self, upstream: Upstream) -> dict[str, Any]:
        params = self.params
        return super().key_settings(upstream) | {
            "l1_weight": params.l1_weight,
            "perceptual_weight": params.perceptual_weight,
            "adversarial_weight": params.adversarial_weight,
            "colorfulness_weight": params.colorfulness_weight,
            "color_enhance": params.color_enhance,
            "optimizer": params.optimizer,
            "weight_decay": params.weight_decay,
        }

    def trainer(self, generator, discriminator, inputs: BuildInputs):
        from colorlib.archs import colorizer_arch, perceptual_arch
        from colorlib.training import gan

        weights, perceptual = self.weights(), None
        if weights.perceptual > 0:
            backbone = colorizer_arch.backbone(inputs.encoder())
            perceptual = perceptual_arch.perceptual_network(backbone, self.params.image_size)
        return gan.GANTrainer(
            generator,
            discriminator,
            self.params.learning_rate,
            weights=weights,
            perceptual=perceptual,
            color_enhance=self.params.color_enhance,
            d_optimizer=self.optimizer(),
            encoder=self.photo_encoder(inputs),
        )
