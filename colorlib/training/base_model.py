"""A training scheme as a class, as BasicSR's ``models/``: what every scheme shares.

colorlib trains its decoder in several ways; each is one class, chosen by name from the run's
parameters (:func:`colorlib.training.models.model_for`):

======================================  ==========================================================
:class:`~colorlib.training.regression_model.RegressionModel`  ``loss: mse`` (the original design), ``huber``
:class:`~colorlib.training.classification_model.ClassificationModel`  ``loss: classification``
:class:`~colorlib.training.hint_model.HintModel`  ``hints: true``: the hint head
:class:`~colorlib.training.adversarial_model.GANModel`, ``DDColorModel``  ``loss: gan``, ``ddcolor``
======================================  ==========================================================

A scheme builds its networks, its loss and its optimizer (:meth:`ColorModel.build`, or one part
at a time as notebook 03 shows a student: :meth:`~ColorModel.build_decoder`,
:meth:`~ColorModel.optimizer`, :meth:`~ColorModel.loss`); says which data it reads
(:attr:`~ColorModel.reads_skips`, :attr:`~ColorModel.reads_hints`) and which finished run it starts
from (:meth:`~ColorModel.start`); names what its step keys hold (:meth:`~ColorModel.key_settings`),
its folder, its epochs and its patience; and brings its own callbacks and, where Keras' is not
enough, its own train step (the GAN's). The seed decoder and the U-Net are architectures any scheme
trains. One loop (:mod:`colorlib.training.loop`) trains them all, with the backups, resume,
early stopping and schedules they share.

These modules import Keras only inside their methods, so that asking a scheme where its files go
costs nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from colorlib.core.params import Params

#: The folder of a run's training (``model/``), unless a scheme names another.
MODEL_FOLDER = "model"


@dataclass(frozen=True)
class Start:
    """A finished run whose decoder a scheme starts from.

    ``train_here``: the run's own training trains it first when it is missing (a GAN's generator);
    otherwise it must exist, and ``missing`` says what to do. ``keyed``: its finished training step
    must hold the key these parameters give (a generator, whose key is in the GAN's); otherwise its
    colorizer file is enough (``init_run``, whose file's content is in the key instead).
    """

    params: Params
    train_here: bool
    keyed: bool
    missing: str


class Upstream(Protocol):
    """What a scheme's step keys may hold from upstream, computed by :mod:`colorlib.workflow.keys`."""

    def features(self) -> dict[str, str]:
        """The digest of each cached split's feature index (notebook 02)."""

    def start_key(self) -> str:
        """The finished training key of the run of :meth:`ColorModel.start`."""

    def start_stamps(self) -> list:
        """The content stamp of that run's colorizer file."""


@dataclass
class BuildInputs:
    """What a scheme reads from its run to build its networks (made by :mod:`colorlib.workflow.train`).

    ``train``: the training :class:`colorlib.data.featuredata.FeatureDataset` (the U-Net standardizes
    its inputs with its statistics); ``start_decoder``: the finished decoder of :meth:`ColorModel.start`;
    ``class_weights``: the rebalancing weights of the cached ab, float64 ``(Q,)``; ``encoder``: the
    run's frozen encoder. Each is read only when a scheme asks for it. ``streamed``: the batches are
    photos (L and ab), not cached features.
    """

    train: Callable[[], Any]
    start_decoder: Callable[[], Any]
    class_weights: Callable[[], Any]
    encoder: Callable[[], Any]
    #: Training on photos decoded from shards (``shards``), not on the cached features: the decoder is
    #: trained through the run's frozen encoder, :func:`colorlib.archs.colorizer_arch.training_model`.
    streamed: bool = False


class ColorModel:
    """A training scheme for the run ``params`` (see the module docstring). This base class is the
    original design's: a decoder regressing ab, compiled with Keras' loss and trained by ``fit``."""

    #: The ``loss:`` values this scheme trains.
    losses: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Params) -> None:
        if params.loss not in self.losses:
            raise ValueError(
                f"{type(self).__name__} trains loss {', '.join(self.losses)}, not {params.loss!r}; "
                "ask colorlib.training.models.model_for(params) for the run's scheme."
            )
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loss={self.params.loss!r}, decoder={self.params.decoder!r})"

    # What the run's files, data and keys need.

    @property
    def model_folder(self) -> str:
        """The run's folder this training writes into."""
        return MODEL_FOLDER

    @property
    def epochs(self) -> int:
        return self.params.epochs

    @property
    def patience(self) -> int | None:
        """Early stopping's patience, or None: all the epochs run and the last one is kept."""
        return self.params.patience

    @property
    def adversarial_epochs(self) -> int:
        """Epochs of adversarial fine-tuning this run's model has had (0: none)."""
        return 0

    @property
    def reads_skips(self) -> bool:
        """Whether the decoder reads the encoder's features at strides 16, 8 and 4 and L (the U-Net)."""
        return self.params.decoder == "unet"

    @property
    def reads_hints(self) -> bool:
        """Whether the training batches carry simulated colour hints."""
        return False

    def start(self) -> Start | None:
        """The finished run this one's decoder starts from: ``init_run``, or none."""
        if not self.params.init_run:
            return None
        init = dataclasses.replace(
            self.params,
            run_name=self.params.init_run,
            run_dir_override=None,
            hints=False,
            hint_spread=False,
            init_run=None,
        )
        missing = (
            f"init_run names the run '{self.params.init_run}', which has no colorizer. Train it first "
            "(its parameters file), or set init_run: null."
        )
        return Start(init, train_here=False, keyed=False, missing=missing)

    def snapshot_dir(self, model_dir: Path) -> Path | None:
        """Where the generator is saved after each adversarial epoch; None when there is none."""
        return None

    def decoder_keys(self, *names: str) -> dict[str, Any]:
        """Step-key inputs for the U-Net (``skips``, ``decoder``, ``attention``); none for the seed
        decoder, so that its runs keep their keys."""
        if not self.reads_skips:
            return {}
        values = {"skips": True, "decoder": self.params.decoder, "attention": self.params.attention}
        return {name: values[name] for name in names}

    def loss_keys(self) -> dict[str, Any]:
        return {"loss": self.params.loss}

    def optimizer_keys(self) -> dict[str, Any]:
        """The epoch length, the optimizer and the schedule, only where they are not the original
        design's (one pass, Adam, constant), so that earlier runs keep their keys."""
        params, values = self.params, {}
        if params.steps_per_epoch is not None:
            values["steps_per_epoch"] = params.steps_per_epoch
        if params.optimizer != "adam":
            values |= {"optimizer": params.optimizer, "weight_decay": params.weight_decay}
        if params.lr_schedule != "constant":
            values["lr_schedule"] = params.lr_schedule
        return values

    def training_keys(self) -> dict[str, Any]:
        """The settings every scheme's training depends on: batch, learning rate, seed, strategy."""
        params = self.params
        return {
            "batch_size": params.batch_size,
            "learning_rate": params.learning_rate,
            "seed": params.seed,
            "strategy": params.strategy,
        }

    def key_settings(self, upstream: Upstream) -> dict[str, Any]:
        """Everything a backup of this training depends on (not the epochs or the patience: more
        epochs continue a backup)."""
        settings = {
            "features": upstream.features(),
            "image_size": self.params.image_size,
            **self.training_keys(),
            **self.decoder_keys("decoder", "attention"),
            **self.loss_keys(),
            **self.optimizer_keys(),
        }
        if self.start() is not None:
            settings["init"] = upstream.start_stamps()
        return settings

    @property
    def step_names(self) -> tuple[str, str]:
        """The names of the backup's step and of the finished training's."""
        return "backup", "training"

    # Building the networks, the loss and the optimizer.

    @property
    def classes(self) -> int | None:
        """The decoder's number of ab classes; None when it gives ab itself."""
        return None

    def build_decoder(self, inputs: BuildInputs):
        """The run's decoder, not compiled: the seed decoder or the U-Net (its inputs standardized
        with the statistics of the training features), started from :meth:`start`'s decoder when
        there is one; for photos from shards, behind the frozen encoder
        (:func:`colorlib.archs.colorizer_arch.training_model`). Build it in
        :func:`colorlib.training.distribute.scope`."""
        import keras

        from colorlib.archs import colorizer_arch, seed_arch, unet_arch

        params = self.params
        keras.utils.set_random_seed(params.seed)  # the same first weights in every process and run
        if not self.reads_skips:
            decoder = seed_arch.build_decoder(
                params.image_size, channels=colorizer_arch.ENCODERS[params.encoder], classes=self.classes
            )
        else:
            stats = inputs.train().channel_stats()
            channels = {name: len(mean) for name, (mean, _) in stats.items()}
            decoder = unet_arch.build_unet(
                params.image_size,
                channels,
                stats,
                params.attention,
                classes=self.classes,
                **self.unet_options(),
            )
            if self.start() is not None:
                self.warm_start(decoder, inputs.start_decoder())
        return colorizer_arch.training_model(inputs.encoder(), decoder) if inputs.streamed else decoder

    def unet_options(self) -> dict[str, Any]:
        """More arguments of :func:`colorlib.archs.unet_arch.build_unet` (the hint head's)."""
        return {}

    def warm_start(self, decoder, start_decoder) -> None:
        """The finished decoder's weights copied into ``decoder`` (``unet_arch.warm_start``)."""
        from colorlib.archs import unet_arch

        unet_arch.warm_start(decoder, start_decoder)

    def optimizer(self):
        """``optimizer`` at ``learning_rate``: Adam (the original design, 2e-4) or AdamW."""
        from colorlib.training import schedules

        params = self.params
        return schedules.make_optimizer(params.optimizer, params.learning_rate, params.weight_decay)

    def loss(self, inputs: BuildInputs):
        """The Keras loss the decoder is compiled with."""
        from colorlib import losses

        return losses.training_loss(self.params.loss)

    def build(self, inputs: BuildInputs):
        """:meth:`build_decoder` compiled with :meth:`optimizer` and :meth:`loss`, in the scope of
        the run's strategy: ready for the loop's ``fit``."""
        from colorlib.training import distribute

        with distribute.scope(self.params.strategy):
            decoder = self.build_decoder(inputs)
            decoder.compile(optimizer=self.optimizer(), loss=self.loss(inputs))
            return decoder

    # Training.

    def callbacks(self, model_dir: Path) -> list:
        """The scheme's own callbacks, before colorlib's shared ones: the learning-rate schedule."""
        if self.params.lr_schedule == "constant":
            return []
        from colorlib.training import schedules

        params = self.params
        return [schedules.EpochSchedule(params.learning_rate, params.epochs, params.lr_schedule)]

    def clear(self, model_dir: Path) -> None:
        """Remove what the scheme writes beside the backup, when training starts over."""

    def generator(self, trained):
        """The decoder that colours (L features -> ab) of what :meth:`build` made and the loop trained."""
        from colorlib.archs import colorizer_arch

        return trained.get_layer("decoder") if trained.name == colorizer_arch.TRAINING_MODEL else trained
