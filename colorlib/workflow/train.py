"""Notebook 03: the run's scheme builds its decoder, compiles it with its loss, and one loop trains it.

The scheme is the class the parameters name (:func:`colorlib.training.models.model_for`:
regression, classification, the hint head, the GAN, DDColor's losses). A run that starts from
another run's finished decoder (a GAN's generator, ``init_run``) has it trained first, or checked,
by :func:`train_start`. The loop (:mod:`colorlib.training.loop`) is the same for every scheme.
"""

from __future__ import annotations

import numpy as np

from colorlib.core.params import Params
from colorlib.training.base_model import BuildInputs, ColorModel, Start
from colorlib.training.models import model_for
from colorlib.workflow.keys import class_weights_step, features_step, training_steps
from colorlib.workflow.runs import load_run_encoder, load_run_model, run_paths, training_datasets


def run_model(params: Params) -> ColorModel:
    """The training scheme of the run: e.g. ``RegressionModel(loss='mse', decoder='seed')``."""
    return model_for(params)


def train_start(params: Params) -> Start | None:
    """Make sure the finished run this one starts from is there, and return it (None: none).

    Its own generator (a GAN's, ``loss: gan_from`` in ``model/``) is trained when missing; the run
    ``generator_run`` or ``init_run`` names must be finished already, or FileNotFoundError says what
    to train. Its key is in this run's, so call this before :func:`colorlib.workflow.keys.training_steps`.
    """
    start = run_model(params).start()
    if start is None:
        return None
    colorizer = run_paths(start.params).colorizer
    if start.keyed and not start.train_here:
        _recheck_features(start.params)
    finished = colorizer.is_file() and (not start.keyed or training_steps(start.params)[1].done())
    if finished:
        return start
    if not start.train_here:
        raise FileNotFoundError(f"{start.missing} (Looked for {colorizer}.)")
    train_run(start.params, verbose=2)
    return start


def _recheck_features(other: Params) -> None:
    """Check another run's feature index against its photos again when its features step is not
    current: the photos changed since notebook 02 ran there, or an older colorlib wrote the step.

    That run's training is keyed on what its cached features hold, which needs its features step
    to be current; ``colorlib train`` refreshes the run's own step, not another's. Re-indexing reads
    the photos and finds their views in the content-addressed cache, so it encodes nothing when the
    pixels are the same. A run that never cached its features is left alone (:func:`train_start`
    then says to train it).
    """
    from colorlib.workflow.encode import extract_run_features

    if not run_paths(other).features_record.is_file() or features_step(other).done():
        return
    print(
        f"The photos of the run '{other.run_name}' are not those its features step recorded; "
        "checking them against the feature cache."
    )
    extract_run_features(other, load_run_encoder(other))


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


def build_inputs(params: Params, train=None, start: Start | None = None) -> BuildInputs:
    """What the run's scheme reads to build its networks, each read when asked for (``train``: the
    training dataset, when it is open already; ``start``: what :func:`train_start` returned)."""
    from colorlib.archs import colorizer_arch

    def start_decoder():
        started = start or train_start(params)
        return colorizer_arch.split_colorizer(load_run_model(started.params))[1]

    def training_set():
        dataset = train if train is not None else training_datasets(params)[0]
        return _PhotoStats(dataset, load_run_encoder(params)) if params.shards else dataset

    return BuildInputs(
        train=training_set,
        start_decoder=start_decoder,
        class_weights=lambda: class_weights(params),
        encoder=lambda: load_run_encoder(params),
        streamed=bool(params.shards),
    )


class _PhotoStats:
    """Photos from shards, for the U-Net's input statistics: their features through the encoder."""

    def __init__(self, dataset, encoder) -> None:
        self.dataset, self.encoder = dataset, encoder

    def channel_stats(self) -> dict:
        from colorlib.archs import colorizer_arch
        from colorlib.data import streaming

        return streaming.encoded_stats(self.dataset, colorizer_arch.multiscale_encoder(self.encoder))


def strategy_scope(params: Params):
    """The scope to build and compile the run's models in: ``params.strategy``'s (nothing for
    ``default``; ``mirrored`` copies the model onto every GPU)."""
    from colorlib.training import distribute

    return distribute.scope(params.strategy)


def training_callbacks(params: Params, train=None, fresh: bool = False) -> list:
    """colorlib's callbacks for ``decoder.fit`` (notebook 03): the scheme's own, the CSV log, early
    stopping, the backups (:func:`colorlib.training.loop.callbacks`). A backup made with other
    settings is cleared first, as with ``fresh``; ``train`` is told which epoch begins. Call
    :func:`colorlib.training.resume.finish_interrupted_epoch` before ``fit``.
    """
    from colorlib.training import loop

    train_start(params)  # its key is in this run's backup key
    backup, _ = training_steps(params)
    paths = run_paths(params)
    return loop.callbacks(run_model(params), paths.model_dir, backup, paths.colorizer, train, fresh)


def save_trained(params: Params, decoder):
    """After ``fit``: save encoder + decoder as the run's ``colorizer.keras`` and record the step.

    ``decoder`` is what the scheme built (a GAN's trainer: its generator is saved). Returns the
    :class:`colorlib.training.fitting.TrainResult` of the run (all sessions' history).
    """
    return _save(params, run_model(params), run_paths(params), training_steps(params)[1], decoder)


def _save(params: Params, model: ColorModel, paths, step, decoder):
    from colorlib.archs import colorizer_arch
    from colorlib.training import distribute, fitting

    decoder = model.generator(decoder)
    history = fitting.read_history(paths.history_csv)
    completed = int(history["epoch"][-1]) + 1 if history.get("epoch") else 0
    result = fitting.TrainResult(
        model=decoder,
        history=history,
        epochs_completed=completed,
        stopped_early=completed < model.epochs,
        out_dir=paths.model_dir,
        kept_epoch=fitting.kept_epoch(history, model.patience is not None),
    )
    saved = step.done() and paths.colorizer.is_file()
    distribute.barrier("the model checked")
    if not saved:  # every process saves (a collective step over several processes); process 0 keeps it
        colorizer = colorizer_arch.build_colorizer(load_run_encoder(params), decoder, params.learning_rate)
        distribute.save_on_chief(paths.colorizer, colorizer.save, ".keras")
        if distribute.is_chief():
            step.finish(
                {
                    "epochs_completed": completed,
                    "kept_epoch": result.kept_epoch,
                    "val_loss": result.kept_val_loss,
                }
            )
    distribute.barrier("the model saved")
    return result


def train_run(params: Params, fresh: bool = False, verbose: int | str = "auto"):
    """Train the run's decoder from the cached features with its scheme, then save encoder + decoder.

    Resumes from the backup in the run's model folder unless ``fresh``; when the training
    settings changed since that backup, it says so and starts over. A finished training with the
    same key is read back, not done again. Returns a :class:`colorlib.training.fitting.TrainResult`.
    """
    from colorlib.archs import colorizer_arch
    from colorlib.training import loop

    model, paths = run_model(params), run_paths(params)
    start = train_start(params)  # trained first when it is this run's own generator
    backup, finished = training_steps(params)
    if not fresh and finished.done() and paths.colorizer.is_file():
        decoder = colorizer_arch.split_colorizer(load_run_model(params))[1]
        return _save(params, model, paths, finished, decoder)
    train, validation = training_datasets(params)
    callbacks = loop.callbacks(model, paths.model_dir, backup, paths.colorizer, train, fresh)
    trained = model.build(build_inputs(params, train, start))
    loop.fit(trained, train, validation, model.epochs, callbacks, verbose=verbose)
    return _save(params, model, paths, finished, trained)
