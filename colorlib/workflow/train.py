"""Notebook 03: the run's decoder built, compiled with its loss, trained from the cache and saved.

``loss: gan`` first trains (or reads back) its generator with ``loss: gan_from`` in ``model/``,
then fine-tunes it against a PatchGAN in ``model-gan/``; ``loss: ddcolor`` the same with DDColor's
four losses, in ``model-ddcolor/``.
"""

from __future__ import annotations

import shutil

import numpy as np

from colorlib.core.config import ADVERSARIAL_LOSSES, DDCOLOR_LOSS, GAN_LOSS
from colorlib.core.params import Params
from colorlib.workflow.keys import class_weights_step, training_steps
from colorlib.workflow.runs import (
    GAN_SNAPSHOT_DIR,
    generator_params,
    init_params,
    load_run_encoder,
    load_run_model,
    run_paths,
    training_datasets,
    training_epochs,
)


def run_patience(params: Params) -> int | None:
    """The early-stopping patience of the run's own training step: ``patience``, except for
    ``loss: gan`` and ``ddcolor``, whose fine-tuning runs all ``gan_epochs`` and keeps the last.

    An adversarial run's validation loss includes the discriminator's verdict, and the
    discriminator changes every epoch, so a lower value is not a better generator; notebook
    05 scores every epoch's snapshot instead. ``patience`` still applies to the generator's
    training (``gan_from``).
    """
    return None if params.loss in ADVERSARIAL_LOSSES else params.patience


def training_callbacks(params: Params, train=None, fresh: bool = False) -> list:
    """colorlib's callbacks for ``decoder.fit`` (notebook 03): CSV log, early stopping, backup.

    ``train``, the training :class:`colorlib.data.featuredata.FeatureDataset`, is told which
    epoch begins (:class:`colorlib.data.featuredata.DatasetEpoch`), so that with
    ``steps_per_epoch`` each epoch, a resumed one too, reads its own part of the passes. With
    ``train``, the backup is also made inside epochs, every
    :data:`colorlib.training.fitting.BACKUP_EVERY_S` seconds: call
    :func:`colorlib.training.resume.finish_interrupted_epoch` before ``fit``.

    A backup made with other settings (features, batch, learning rate, seed) is cleared
    first, as with ``fresh``: training then starts over.
    """
    from colorlib.training import fitting, resume

    if params.loss in ADVERSARIAL_LOSSES:
        pretrained_generator(params)
    backup, _ = training_steps(params)
    model_dir = run_paths(params).model_dir
    if fresh or not backup.done():
        if (fitting.finished_epochs(model_dir) or resume.interrupted_batches(model_dir)) and not fresh:
            print(f"The training settings changed since the backup in {model_dir}; starting over.")
        fitting.clear(model_dir)
        shutil.rmtree(model_dir / GAN_SNAPSHOT_DIR, ignore_errors=True)  # loss: gan's epoch snapshots
        run_paths(params).colorizer.unlink(missing_ok=True)
        backup.finish({})
    finished, epochs = fitting.finished_epochs(model_dir), training_epochs(params)
    if 0 < finished < epochs and not resume.interrupted_batches(model_dir):
        print(f"Resuming from the backup after epoch {finished} of {epochs}.")
    every_s = fitting.BACKUP_EVERY_S if train is not None else None
    chosen = fitting.callbacks(model_dir, run_patience(params), backup_every_s=every_s)
    if params.loss in ADVERSARIAL_LOSSES:
        from colorlib.training import gan

        chosen.insert(-1, gan.GeneratorSnapshots(model_dir / GAN_SNAPSHOT_DIR))  # the backup stays last
    elif params.lr_schedule != "constant":
        from colorlib.training import schedules

        # First, so that the history CSV logs the epoch's rate.
        chosen.insert(0, schedules.EpochSchedule(params.learning_rate, params.epochs, params.lr_schedule))
    if train is not None:
        from colorlib.data import featuredata

        chosen.insert(0, featuredata.DatasetEpoch(train))
    return chosen


def class_weights(params: Params) -> np.ndarray:
    """``loss: classification``: the class rebalancing weights, float64 ``(Q,)``, of the run.

    Computed once from the cached ab of the training split
    (:func:`colorlib.color.colorclasses.training_weights`) and saved in ``model/class_weights.json``
    with the bin counts; read back while the features are the same.
    """
    from colorlib.color import colorclasses

    step = class_weights_step(params)
    done = step.result()
    if done is not None:
        return np.asarray(done["weights"], dtype=np.float64)
    train, _ = training_datasets(params)
    counts = np.zeros(colorclasses.bin_count())
    for batch in range(len(train)):
        counts += colorclasses.bin_histogram(train[batch][1])
    weights = colorclasses.rebalancing_weights(counts)
    step.finish({"bins": colorclasses.bin_count(), "counts": counts.tolist(), "weights": weights.tolist()})
    return weights


def build_run_decoder(params: Params):
    """The run's decoder, not compiled yet (notebook 03 compiles it with :func:`run_optimizer`
    and :func:`run_loss`; build and compile it in :func:`strategy_scope`).

    ``decoder: seed``: :func:`colorlib.archs.seed_arch.build_decoder`. ``decoder: unet``:
    :func:`colorlib.archs.unet_arch.build_unet`, its inputs standardized with the per-channel
    statistics of the run's cached training features (so extract them first).
    ``loss: classification``: the decoder gives ab-bin logits at S/4; otherwise ab.
    ``loss: gan``: a :class:`colorlib.training.gan.GANTrainer` (fit it for ``gan_epochs``) around the
    trained generator of :func:`pretrained_generator` and a new PatchGAN discriminator.
    """
    from colorlib.archs import colorizer_arch, hintspread_arch, seed_arch, unet_arch
    from colorlib.color import colorclasses

    if params.loss in ADVERSARIAL_LOSSES:
        return _new_gan(params)
    classes = colorclasses.bin_count() if params.loss == "classification" else None
    if params.decoder == "unet":
        train, _ = training_datasets(params)
        stats = train.channel_stats()
        channels = {name: len(mean) for name, (mean, _) in stats.items()}
        decoder = unet_arch.build_unet(
            params.image_size, channels, stats, params.attention, classes=classes, hints=params.hints,
            spread=params.hint_spread,
        )  # fmt: skip
        if params.init_run:
            unet_arch.warm_start(decoder, init_decoder(params))
            if params.hint_spread:
                hintspread_arch.train_only_head(decoder)
        return decoder
    return seed_arch.build_decoder(
        params.image_size, channels=colorizer_arch.ENCODERS[params.encoder], classes=classes
    )


def init_decoder(params: Params):
    """``init_run``: that run's finished decoder, which this run's starts from.

    Raises FileNotFoundError, saying what to train, when that run has no colorizer.
    """
    from colorlib.archs import colorizer_arch

    colorizer = run_paths(init_params(params)).colorizer
    if not colorizer.is_file():
        raise FileNotFoundError(
            f"init_run names the run '{params.init_run}', which has no colorizer at {colorizer}. Train it "
            "first (its parameters file), or set init_run: null."
        )
    return colorizer_arch.split_colorizer(colorizer_arch.load_model(colorizer))[1]


def strategy_scope(params: Params):
    """The scope to build and compile the run's models in: ``params.strategy``'s (nothing for
    ``default``; ``mirrored`` copies the model onto every GPU)."""
    from colorlib.training import distribute

    return distribute.scope(params.strategy)


def run_optimizer(params: Params):
    """``params.optimizer`` at ``learning_rate``: Adam (the original design, 2e-4) or AdamW.

    β₁ = 0.5 for ``loss: gan`` (pix2pix); ``loss: ddcolor`` uses ``params.optimizer`` (DDColor: AdamW).
    """
    from colorlib.training import gan, schedules

    if params.loss == GAN_LOSS:
        return schedules.make_optimizer("adam", params.learning_rate, beta_1=gan.GAN_BETA_1)
    return schedules.make_optimizer(params.optimizer, params.learning_rate, params.weight_decay)


def run_loss(params: Params):
    """The Keras loss of the run: ``"mse"``, a Huber loss, or the rebalanced cross-entropy over ab
    bins with the run's :func:`class_weights`; None for ``loss: gan``, whose trainer computes its
    own (L1 plus the adversarial term)."""
    from colorlib import losses

    if params.loss in ADVERSARIAL_LOSSES:
        return None
    weights = class_weights(params) if params.loss == "classification" else None
    return losses.training_loss(params.loss, weights)


def new_decoder(params: Params):
    """:func:`build_run_decoder` compiled with :func:`run_optimizer` and :func:`run_loss`, in the
    strategy's scope: what notebook 03 does in two lines, for :func:`train_run`."""
    with strategy_scope(params):
        decoder = build_run_decoder(params)
        decoder.compile(optimizer=run_optimizer(params), loss=run_loss(params))
        return decoder


def pretrained_generator(params: Params):
    """``loss: gan`` or ``ddcolor``: the U-Net decoder trained with ``loss: gan_from`` in ``model/``.

    It is the usual training step of the same run with ``loss: gan_from`` (:func:`train_run`
    of :func:`generator_params`): trained for ``epochs`` when it is not there, read back otherwise.
    With ``generator_run`` it is that run's, which must be trained already with the same settings:
    it is never trained, or restarted, from here.
    """
    from colorlib.archs import colorizer_arch

    generator = generator_params(params)
    if params.generator_run:
        _recheck_generator_features(generator)
        _, step = training_steps(generator)
        if not (step.done() and run_paths(generator).colorizer.is_file()):
            raise FileNotFoundError(
                f"The generator run '{params.generator_run}' has no finished {params.gan_from} training "
                f"with these settings in {run_paths(generator).model_dir}. Train it first (its parameters "
                "file, with the same dataset and training settings as this one), or set generator_run: null."
            )
    train_run(generator, verbose=2)
    return colorizer_arch.split_colorizer(load_run_model(generator))[1]


def _recheck_generator_features(generator: Params) -> None:
    """Check the ``generator_run``'s feature index against its photos again when its features step
    is not current: the photos changed since notebook 02 ran there, or an older colorlib wrote the
    step (its keys held the photos' file times, not their content).

    The generator's training is keyed on what its cached features hold
    (:func:`colorlib.workflow.keys.features_content`), and that needs its features step to be
    current. ``colorlib train`` refreshes the run's own step before training, but not the other
    run's. Re-indexing reads the photos and finds their views in the content-addressed cache,
    so it encodes nothing when the pixels are the same, and the generator's key is unchanged.
    A run that never cached its features is left alone: :func:`pretrained_generator` then says
    to train it first.
    """
    from colorlib.workflow.encode import extract_run_features
    from colorlib.workflow.keys import features_step

    if not run_paths(generator).features_record.is_file():
        return
    if features_step(generator).done():
        return
    print(
        f"The photos of the generator run '{generator.run_name}' are not those its features step "
        "recorded; checking them against the feature cache."
    )
    extract_run_features(generator, load_run_encoder(generator))


def _new_gan(params: Params):
    """The trainer of a ``loss: gan`` or ``ddcolor`` run: generator from ``model/``, a new
    discriminator; for ``ddcolor`` also the perceptual network (the run's frozen Lite0 encoder)."""
    import keras

    from colorlib.archs import colorizer_arch, discriminator_arch, perceptual_arch
    from colorlib.losses import ddcolor
    from colorlib.training import distribute, gan

    keras.utils.set_random_seed(params.seed)
    generator = generator_params(params)
    pretrained_generator(params)
    with distribute.scope(params.strategy):
        decoder = colorizer_arch.split_colorizer(load_run_model(generator))[1]
        discriminator = discriminator_arch.build_discriminator(params.image_size)
        if params.loss != DDCOLOR_LOSS:
            return gan.GANTrainer(decoder, discriminator, params.learning_rate)
        weights = ddcolor.LossWeights(
            params.l1_weight, params.perceptual_weight, params.adversarial_weight, params.colorfulness_weight
        )
        perceptual = None
        if weights.perceptual > 0:
            backbone = colorizer_arch.backbone(load_run_encoder(params))
            perceptual = perceptual_arch.perceptual_network(backbone, params.image_size)
        trainer = gan.GANTrainer(
            decoder,
            discriminator,
            params.learning_rate,
            weights=weights,
            perceptual=perceptual,
            color_enhance=params.color_enhance,
            d_optimizer=run_optimizer(params),
        )
        trainer.compile(optimizer=run_optimizer(params))
        return trainer


def generator(decoder):
    """The decoder that colours (L features -> ab): ``decoder`` itself, or the one a GAN trains."""
    from colorlib.training import gan

    return decoder.decoder if isinstance(decoder, gan.GANTrainer) else decoder


def save_trained(params: Params, decoder):
    """After ``fit``: save encoder + decoder as ``model/colorizer.keras`` and record the step.

    ``decoder`` may be the GAN trainer of a ``loss: gan`` run: its generator is saved.
    Returns the :class:`colorlib.training.fitting.TrainResult` of the run (all sessions' history).
    """
    from colorlib.archs import colorizer_arch
    from colorlib.training import fitting

    decoder = generator(decoder)
    paths = run_paths(params)
    _, step = training_steps(params)
    history = fitting.read_history(paths.history_csv)
    completed = int(history["epoch"][-1]) + 1 if history.get("epoch") else 0
    result = fitting.TrainResult(
        model=decoder,
        history=history,
        epochs_completed=completed,
        stopped_early=completed < training_epochs(params),
        out_dir=paths.model_dir,
        kept_epoch=fitting.kept_epoch(history, run_patience(params) is not None),
    )
    if not step.done() or not paths.colorizer.is_file():
        colorizer = colorizer_arch.build_colorizer(load_run_encoder(params), decoder, params.learning_rate)
        fitting.save_model(colorizer, paths.colorizer)
        step.finish(
            {"epochs_completed": completed, "kept_epoch": result.kept_epoch, "val_loss": result.kept_val_loss}
        )
    return result


def train_run(params: Params, fresh: bool = False, verbose: int | str = "auto"):
    """Train the decoder from the cached features, then save encoder + decoder (notebook 03).

    Resumes from the backup in ``model/`` unless ``fresh``; when the training settings
    changed since that backup, it says so and starts over. A finished training with the
    same key is not done again. ``loss: gan``: the generator is trained (or read back) in
    ``model/`` with ``loss: gan_from`` first, then fine-tuned adversarially for ``gan_epochs``
    in ``model-gan/``, which holds the run's colorizer. Returns a
    :class:`colorlib.training.fitting.TrainResult`.
    """
    if params.loss in ADVERSARIAL_LOSSES:
        pretrained_generator(params)  # trains the generator first
    _, step = training_steps(params)
    if not fresh and step.done() and run_paths(params).colorizer.is_file():
        from colorlib.archs import colorizer_arch

        decoder = colorizer_arch.split_colorizer(load_run_model(params))[1]
        return save_trained(params, decoder)
    from colorlib.training import resume

    train, validation = training_datasets(params)
    callbacks = training_callbacks(params, train, fresh=fresh)
    decoder, epochs = new_decoder(params), training_epochs(params)
    resume.finish_interrupted_epoch(decoder, train, validation, epochs, callbacks, verbose=verbose)
    decoder.fit(
        train, validation_data=validation, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=verbose
    )
    return save_trained(params, decoder)
