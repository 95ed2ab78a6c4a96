"""The steps of a run, shared by the ``colorlib`` command and notebooks 01-05.

Each step reads the artifacts of the one before from the run folder
(``params.run_dir``) and writes its own atomically. Every step skips work the same
way (:mod:`colorlib.steps`): its record holds a key, the hash of everything it depends
on, and a step whose record has the current key is not done again. A change to any input
redoes exactly the steps downstream of it: a new seed gives a new split, so new
features, a new model, new outputs and a new mean-ab baseline; an edited photo gives
new features (only that photo is re-encoded) and a new model, but the same split.

=====================  ===========================================  ==========
step                   writes (the step record first)               notebook
=====================  ===========================================  ==========
prepare_dataset        dataset.json, split.json                     01
build_run_encoder      encoder.json, encoder.weights.h5             02
extract_run_features   features/step.json, indexes into the cache   02
class_weights          model/class_weights.json (loss: classif.)    03
train_run              model/step.json, backup/, colorizer.keras    03
                       (loss: gan: model-gan/, after the generator
                       of loss gan_from in model/)
colorize_run           outputs/<set>/step.json, the photos          04
evaluate_run           metrics/summary.json, mean_ab.json, CSVs     05
=====================  ===========================================  ==========
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorlib import data, steps
from colorlib.config import GAN_LOSS
from colorlib.io import read_json, write_json
from colorlib.params import Params

NOTEBOOKS = {
    "dataset": "01_preprocessing",
    "encoder": "02_feature_extraction",
    "features": "02_feature_extraction",
    "model": "03_training",
    "outputs": "04_colorization",
}


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its artifacts."""

    run_dir: Path
    #: ``model``, or ``model-gan`` for ``loss: gan`` (its generator stays in ``model``).
    model_folder: str = "model"

    @property
    def dataset_json(self) -> Path:
        return self.run_dir / "dataset.json"

    @property
    def split_json(self) -> Path:
        return self.run_dir / "split.json"

    @property
    def encoder_weights(self) -> Path:
        return self.run_dir / "encoder.weights.h5"

    @property
    def encoder_json(self) -> Path:
        return self.run_dir / "encoder.json"

    @property
    def features_dir(self) -> Path:
        return self.run_dir / "features"

    @property
    def model_dir(self) -> Path:
        return self.run_dir / self.model_folder

    @property
    def colorizer(self) -> Path:
        return self.model_dir / "colorizer.keras"

    @property
    def class_weights(self) -> Path:
        return self.model_dir / "class_weights.json"

    @property
    def history_csv(self) -> Path:
        return self.model_dir / "history.csv"

    @property
    def outputs_dir(self) -> Path:
        return self.run_dir / "outputs"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / "metrics"


def run_paths(params: Params) -> RunPaths:
    """The artifact paths of the run ``params`` describes."""
    return RunPaths(params.run_dir, GAN_MODEL_FOLDER if params.loss == GAN_LOSS else MODEL_FOLDER)


def generator_params(params: Params) -> Params:
    """``loss: gan``: the parameters of its generator's training, the same run with ``loss: gan_from``."""
    return dataclasses.replace(params, loss=params.gan_from)


def training_epochs(params: Params) -> int:
    """Epochs of the run's training step: ``gan_epochs`` for ``loss: gan``, else ``epochs``."""
    return params.gan_epochs if params.loss == GAN_LOSS else params.epochs


def require(path: Path, notebook: str) -> Path:
    """``path`` if it exists; otherwise a FileNotFoundError naming the notebook to run first."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing: run notebooks/{notebook}.ipynb first (or the whole chain with "
            "`make pipeline`), with the same parameters."
        )
    return Path(path)


@dataclass
class PreparedDataset:
    """The outcome of notebook 01: the dataset, its split and what was left out."""

    dataset: data.Dataset
    split: dict[str, list[str]]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    grayscale_in_color: list[str] = field(default_factory=list)

    def summary(self, show: int = 5) -> str:
        """A few lines with the counts, naming up to ``show`` grayscale photos left out of training."""
        sizes = ", ".join(f"{name} {len(files)}" for name, files in self.split.items())
        lines = [
            self.dataset.describe(),
            f"split: {sizes}",
            f"left out: {len(self.skipped)} unreadable files, "
            f"{len(self.grayscale_in_color)} grayscale photos found among the colour ones",
        ]
        lines += [f"  grayscale, not used for training: {path}" for path in self.grayscale_in_color[:show]]
        if len(self.grayscale_in_color) > show:
            lines.append(f"  ... and {len(self.grayscale_in_color) - show} more, listed in dataset.json")
        return "\n".join(lines)


def dataset_root(params: Params) -> Path:
    """The dataset folder of a run: ``params.dataset``, or the demo dataset (built on first use)."""
    if params.dataset is None:
        from colorlib import demo

        return demo.build_demo_dataset(params.data_path / "demo")
    return params.resolve(params.dataset)


def _split_step(params: Params, root: Path, names: list[str]) -> steps.Step:
    """The split depends on the file names and the split settings, not on the pixels."""
    key = steps.key(
        "dataset",
        root=str(root),
        files=names,
        limit=params.limit,
        seed=params.seed,
        validation_fraction=params.validation_fraction,
        test_fraction=params.test_fraction,
    )
    return steps.Step(run_paths(params).dataset_json, key)


def prepare_dataset(params: Params, progress: bool = True) -> PreparedDataset:
    """Find the photos, check every one, and split the readable colour photos.

    Unreadable files and grayscale photos among the colour ones are reported and left
    out of training. Writes ``dataset.json`` (the step record) and ``split.json``; when
    they exist for the same file names and split settings, they are read back instead.
    """
    from colorlib import inputs

    paths = run_paths(params)
    root = dataset_root(params)
    dataset = data.find_dataset(root)
    step = _split_step(params, root, [str(path) for path in [*dataset.color_files, *dataset.gray_files]])
    recorded = step.result()
    if recorded is not None and paths.split_json.is_file():
        return PreparedDataset(
            dataset=dataset,
            split=read_json(paths.split_json),
            skipped=[tuple(item) for item in recorded["skipped"]],
            grayscale_in_color=recorded["grayscale_in_color"],
        )

    candidates = dataset.color_files
    if params.limit is not None and params.limit < len(candidates):
        chosen = np.random.default_rng(params.seed).choice(len(candidates), params.limit, replace=False)
        candidates = [candidates[index] for index in sorted(chosen)]
    colour, report = inputs.scan_images(candidates, progress=progress, desc="Checking colour photos")
    gray_ok, gray_report = inputs.scan_images(
        dataset.gray_files, progress=progress, desc="Checking grayscale photos"
    )
    if len(colour) < 3:
        raise ValueError(
            f"Only {len(colour)} readable colour photos in {root}; a run needs at least 3 "
            "(train, validation and test)."
        )
    split = data.split_files(colour, params.validation_fraction, params.test_fraction, params.seed)
    # In class 1 every readable photo is colorized, whether or not it carries a tint.
    split["gray"] = sorted(str(path) for path in [*gray_ok, *map(Path, gray_report.grayscale)])
    skipped = report.skipped + gray_report.skipped
    write_json(paths.split_json, split)
    step.finish(
        {
            "layout": dataset.layout,
            "color_files": len(dataset.color_files),
            "gray_files": len(dataset.gray_files),
            "used_color_files": len(candidates),
            "skipped": skipped,
            "grayscale_in_color": report.grayscale,
        }
    )
    return PreparedDataset(dataset, split, skipped, report.grayscale)


def load_split(params: Params) -> dict[str, list[str]]:
    """The split written by notebook 01."""
    return read_json(require(run_paths(params).split_json, NOTEBOOKS["dataset"]))


def _encoder_step(params: Params) -> steps.Step:
    key = steps.key(
        "encoder",
        encoder=params.encoder,
        weights=params.encoder_weights,
        image_size=params.image_size,
        seed=params.seed,
    )
    return steps.Step(run_paths(params).encoder_json, key)


def build_run_encoder(params: Params):
    """The run's frozen encoder, built once and saved to ``encoder.weights.h5``.

    Later steps load exactly these weights, which matters when they are random.
    """
    import keras

    from colorlib import models
    from colorlib.io import atomic_write

    paths = run_paths(params)
    step = _encoder_step(params)
    if step.done() and paths.encoder_weights.is_file():
        return load_run_encoder(params)
    keras.utils.set_random_seed(params.seed)
    encoder = models.build_encoder(params.encoder_weights, params.image_size, params.encoder)
    with atomic_write(paths.encoder_weights, suffix=".weights.h5") as temporary:
        encoder.save_weights(temporary)
    step.finish({"encoder": params.encoder, "fingerprint": models.weights_fingerprint(encoder)})
    return encoder


def load_run_encoder(params: Params):
    """The encoder saved by notebook 02."""
    from colorlib import models

    paths = run_paths(params)
    require(paths.encoder_weights, NOTEBOOKS["encoder"])
    encoder = models.build_encoder(None, params.image_size, params.encoder)
    encoder.load_weights(paths.encoder_weights)
    return encoder


#: The model folder of a ``loss: gan`` run; its generator is trained in the usual ``model/``.
GAN_MODEL_FOLDER = "model-gan"
#: Its generator after each adversarial epoch (:class:`colorlib.gan.GeneratorSnapshots`), in model-gan/.
GAN_SNAPSHOT_DIR = "epochs"
MODEL_FOLDER = "model"


#: Images per encoder pass when extracting features: large batches use the CPU or GPU best.
ENCODER_BATCH_SIZE = 32
#: The splits whose features are cached for training.
FEATURE_SPLITS = ("train", "validation")


def _upstream_key(step: steps.Step, notebook: str) -> str:
    """The key of a finished step, or a FileNotFoundError naming the notebook that makes it."""
    if not step.done():
        raise FileNotFoundError(
            f"{step.record} is missing or out of date: run notebooks/{notebook}.ipynb first (or "
            "the whole chain with `make pipeline`), with the same parameters."
        )
    return step.key


def _features_step(params: Params) -> steps.Step:
    """Features depend on the split, the encoder, the augmentation settings and the photos' stamps."""
    split = load_split(params)
    files = [path for name in FEATURE_SPLITS for path in split[name]]
    key = steps.key(
        "features",
        split=read_json(run_paths(params).dataset_json)["key"],
        encoder=_upstream_key(_encoder_step(params), NOTEBOOKS["encoder"]),
        views=params.views,
        seed=params.seed,
        max_rotation=params.max_rotation,
        photos=steps.file_stamps(files),
        **_decoder_inputs(params, "skips"),
    )
    return steps.Step(run_paths(params).features_dir / "step.json", key)


def _decoder_inputs(params: Params, *names: str) -> dict[str, Any]:
    """Step-key inputs for the U-Net (``skips``, ``decoder``, ``attention``); none for the seed
    decoder, so that its runs keep their keys."""
    if params.decoder == "seed":
        return {}
    values = {"skips": True, "decoder": params.decoder, "attention": params.attention}
    return {name: values[name] for name in names}


def extract_run_features(params: Params, encoder, shard: str | None = None, progress: bool = True):
    """Cache the encoder features of the training and validation photos (notebook 02).

    Training photos get ``params.views`` views (the photo plus augmented copies);
    validation photos only the photo itself. For ``decoder: unet`` the cache also holds
    the skip features and L (the multiscale version of ``encoder``). Features already in the shared cache
    (``params.cache_dir``) for the same image content, size, augmentation and encoder
    weights are reused. ``shard="i/n"`` extracts only this worker's part.
    Returns ``{"train": FeatureIndex, "validation": FeatureIndex}``.
    """
    from colorlib import features

    paths = run_paths(params)
    step = _features_step(params)
    if shard is None and step.done():
        return features.load_run_indexes(paths.features_dir, FEATURE_SPLITS)
    split = load_split(params)
    if params.decoder == "unet":
        from colorlib import models

        encoder = models.multiscale_encoder(encoder)
    indexes = features.extract_splits(
        {name: split[name] for name in FEATURE_SPLITS},
        encoder,
        paths.features_dir,
        cache_dir=params.cache_dir,
        views=params.views,
        seed=params.seed,
        max_rotation=params.max_rotation,
        batch_size=ENCODER_BATCH_SIZE,
        shard=shard,
        progress=progress,
    )
    if all(index.part is None for index in indexes.values()):
        step.finish({name: index.digest() for name, index in indexes.items()})
    return indexes


def _training_steps(params: Params) -> tuple[steps.Step, steps.Step]:
    """Two keys: the backup's (settings a checkpoint depends on) and the finished model's.

    Epochs and patience may change between sessions: more epochs continue the backup.
    """
    paths = run_paths(params)
    if params.loss == GAN_LOSS:
        return _gan_steps(params)
    settings = {
        "features": _upstream_key(_features_step(params), NOTEBOOKS["features"]),
        "image_size": params.image_size,
        "batch_size": params.batch_size,
        "learning_rate": params.learning_rate,
        "seed": params.seed,
        "strategy": params.strategy,
        **_decoder_inputs(params, "decoder", "attention"),
        **({"loss": params.loss} if params.loss != "mse" else {}),  # mse runs keep their keys
    }
    backup = steps.Step(paths.model_dir / "backup.step.json", steps.key("backup", **settings))
    finished = steps.key("training", **settings, epochs=params.epochs, patience=params.patience)
    return backup, steps.Step(paths.model_dir / "step.json", finished)


def _gan_steps(params: Params) -> tuple[steps.Step, steps.Step]:
    """``loss: gan``: keyed on the finished generator (so on its features and settings) and the GAN's."""
    from colorlib import gan

    settings = {
        "generator": _upstream_key(_training_steps(generator_params(params))[1], NOTEBOOKS["model"]),
        "loss": GAN_LOSS,
        "batch_size": params.batch_size,
        "learning_rate": params.learning_rate,
        "seed": params.seed,
        "strategy": params.strategy,
        "l1_weight": gan.L1_WEIGHT,
        "discriminator": list(gan.DISCRIMINATOR_FILTERS),
    }
    model_dir = run_paths(params).model_dir
    backup = steps.Step(model_dir / "backup.step.json", steps.key("gan_backup", **settings))
    finished = steps.key("gan_training", **settings, epochs=params.gan_epochs, patience=params.patience)
    return backup, steps.Step(model_dir / "step.json", finished)


def training_datasets(params: Params) -> tuple:
    """``(train, validation)``: batches of (cached features, ab) for ``model.fit`` (notebook 03).

    Each is a :class:`colorlib.featuredata.FeatureDataset`; the training one is shuffled.
    """
    from colorlib import featuredata

    features_dir = require(run_paths(params).features_dir, NOTEBOOKS["features"])
    datasets = featuredata.run_datasets(features_dir, params.batch_size, params.seed)
    return datasets["train"], datasets["validation"]


def training_callbacks(params: Params, fresh: bool = False) -> list:
    """colorlib's callbacks for ``decoder.fit`` (notebook 03): CSV log, early stopping, backup.

    A backup made with other settings (features, batch, learning rate, seed) is cleared
    first, as with ``fresh``: training then starts over.
    """
    from colorlib import training

    if params.loss == GAN_LOSS:
        pretrained_generator(params)
    backup, _ = _training_steps(params)
    model_dir = run_paths(params).model_dir
    if fresh or not backup.done():
        if training.finished_epochs(model_dir) and not fresh:
            print(f"The training settings changed since the backup in {model_dir}; starting over.")
        training.clear(model_dir)
        shutil.rmtree(model_dir / GAN_SNAPSHOT_DIR, ignore_errors=True)  # loss: gan's epoch snapshots
        run_paths(params).colorizer.unlink(missing_ok=True)
        backup.finish({})
    finished, epochs = training.finished_epochs(model_dir), training_epochs(params)
    if 0 < finished < epochs:
        print(f"Resuming from the backup after epoch {finished} of {epochs}.")
    chosen = training.callbacks(model_dir, params.patience)
    if params.loss == GAN_LOSS:
        from colorlib import gan

        chosen.insert(-1, gan.GeneratorSnapshots(model_dir / GAN_SNAPSHOT_DIR))  # the backup stays last
    return chosen


def _class_weights_step(params: Params) -> steps.Step:
    """The rebalancing weights depend on the cached training ab, so on the features step."""
    key = steps.key("class_weights", features=_upstream_key(_features_step(params), NOTEBOOKS["features"]))
    return steps.Step(run_paths(params).class_weights, key)


def class_weights(params: Params) -> np.ndarray:
    """``loss: classification``: the class rebalancing weights, float64 ``(Q,)``, of the run.

    Computed once from the cached ab of the training split
    (:func:`colorlib.colorclasses.training_weights`) and saved in ``model/class_weights.json``
    with the bin counts; read back while the features are the same.
    """
    from colorlib import colorclasses

    step = _class_weights_step(params)
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

    ``decoder: seed``: :func:`colorlib.models.build_decoder`. ``decoder: unet``:
    :func:`colorlib.unet.build_unet`, its inputs standardized with the per-channel
    statistics of the run's cached training features (so extract them first).
    ``loss: classification``: the decoder gives ab-bin logits at S/4; otherwise ab.
    ``loss: gan``: a :class:`colorlib.gan.GANTrainer` (fit it for ``gan_epochs``) around the
    trained generator of :func:`pretrained_generator` and a new PatchGAN discriminator.
    """
    from colorlib import colorclasses, models, unet

    if params.loss == GAN_LOSS:
        return _new_gan(params)
    classes = colorclasses.bin_count() if params.loss == "classification" else None
    if params.decoder == "unet":
        train, _ = training_datasets(params)
        stats = train.channel_stats()
        channels = {name: len(mean) for name, (mean, _) in stats.items()}
        return unet.build_unet(params.image_size, channels, stats, params.attention, classes=classes)
    return models.build_decoder(params.image_size, channels=models.ENCODERS[params.encoder], classes=classes)


def strategy_scope(params: Params):
    """The scope to build and compile the run's models in: ``params.strategy``'s (nothing for
    ``default``; ``mirrored`` copies the model onto every GPU)."""
    from colorlib import distribute

    return distribute.scope(params.strategy)


def run_optimizer(params: Params):
    """Adam at ``learning_rate`` (the original design's 2e-4); β₁ = 0.5 for ``loss: gan`` (pix2pix)."""
    import keras

    from colorlib import gan

    if params.loss == GAN_LOSS:
        return keras.optimizers.Adam(learning_rate=params.learning_rate, beta_1=gan.GAN_BETA_1)
    return keras.optimizers.Adam(learning_rate=params.learning_rate)


def run_loss(params: Params):
    """The Keras loss of the run: ``"mse"``, a Huber loss, or the rebalanced cross-entropy over ab
    bins with the run's :func:`class_weights`; None for ``loss: gan``, whose trainer computes its
    own (L1 plus the adversarial term)."""
    from colorlib import models

    if params.loss == GAN_LOSS:
        return None
    weights = class_weights(params) if params.loss == "classification" else None
    return models.training_loss(params.loss, weights)


def new_decoder(params: Params):
    """:func:`build_run_decoder` compiled with :func:`run_optimizer` and :func:`run_loss`, in the
    strategy's scope: what notebook 03 does in two lines, for :func:`train_run`."""
    with strategy_scope(params):
        decoder = build_run_decoder(params)
        decoder.compile(optimizer=run_optimizer(params), loss=run_loss(params))
        return decoder


def pretrained_generator(params: Params):
    """``loss: gan``: the U-Net decoder trained with ``loss: gan_from`` in ``model/``.

    It is the usual training step of the same run with ``loss: gan_from`` (:func:`train_run`
    of :func:`generator_params`): trained for ``epochs`` when it is not there, read back otherwise.
    """
    from colorlib import models

    generator = generator_params(params)
    train_run(generator, verbose=2)
    return models.split_colorizer(load_run_model(generator))[1]


def _new_gan(params: Params):
    """The GAN trainer of a ``loss: gan`` run: generator from ``model/``, a new discriminator."""
    import keras

    from colorlib import distribute, gan, models

    keras.utils.set_random_seed(params.seed)
    generator = generator_params(params)
    pretrained_generator(params)
    with distribute.scope(params.strategy):
        decoder = models.split_colorizer(load_run_model(generator))[1]
        discriminator = gan.build_discriminator(params.image_size)
        return gan.GANTrainer(decoder, discriminator, params.learning_rate)


def generator(decoder):
    """The decoder that colours (L features -> ab): ``decoder`` itself, or the one a GAN trains."""
    from colorlib import gan

    return decoder.decoder if isinstance(decoder, gan.GANTrainer) else decoder


def save_trained(params: Params, decoder):
    """After ``fit``: save encoder + decoder as ``model/colorizer.keras`` and record the step.

    ``decoder`` may be the GAN trainer of a ``loss: gan`` run: its generator is saved.
    Returns the :class:`colorlib.training.TrainResult` of the run (all sessions' history).
    """
    from colorlib import models, training

    decoder = generator(decoder)
    paths = run_paths(params)
    _, step = _training_steps(params)
    history = training.read_history(paths.history_csv)
    completed = int(history["epoch"][-1]) + 1 if history.get("epoch") else 0
    if not step.done() or not paths.colorizer.is_file():
        colorizer = models.build_colorizer(load_run_encoder(params), decoder, params.learning_rate)
        training.save_model(colorizer, paths.colorizer)
        val_loss = history.get("val_loss") or [None]
        step.finish({"epochs_completed": completed, "val_loss": val_loss[-1]})
    return training.TrainResult(
        model=decoder,
        history=history,
        epochs_completed=completed,
        stopped_early=completed < training_epochs(params),
        out_dir=paths.model_dir,
    )


def train_run(params: Params, fresh: bool = False, verbose: int | str = "auto"):
    """Train the decoder from the cached features, then save encoder + decoder (notebook 03).

    Resumes from the backup in ``model/`` unless ``fresh``; when the training settings
    changed since that backup, it says so and starts over. A finished training with the
    same key is not done again. ``loss: gan``: the generator is trained (or read back) in
    ``model/`` with ``loss: gan_from`` first, then fine-tuned adversarially for ``gan_epochs``
    in ``model-gan/``, which holds the run's colorizer. Returns a :class:`colorlib.training.TrainResult`.
    """
    callbacks = training_callbacks(params, fresh=fresh)  # loss: gan: trains the generator first
    _, step = _training_steps(params)
    if step.done() and run_paths(params).colorizer.is_file():
        from colorlib import models

        decoder = models.split_colorizer(load_run_model(params))[1]
        return save_trained(params, decoder)
    decoder = new_decoder(params)
    train, validation = training_datasets(params)
    decoder.fit(
        train,
        validation_data=validation,
        epochs=training_epochs(params),
        callbacks=callbacks,
        verbose=verbose,
    )
    return save_trained(params, decoder)


def load_run_model(params: Params):
    """The trained colorizer saved by notebook 03 (L -> ab, encoder and decoder together)."""
    from colorlib import models

    return models.load_model(require(run_paths(params).colorizer, NOTEBOOKS["model"]))


def _model_key(params: Params) -> str:
    return _upstream_key(_training_steps(params)[1], NOTEBOOKS["model"])


def _colorize_set(params: Params, inputs: list[str], out_dir: Path, progress: bool) -> list[Path]:
    """Colorize ``inputs`` into ``out_dir`` unless the same model already did."""
    from colorlib import colorize

    step = steps.Step(
        out_dir / "step.json",
        steps.key("colorize", model=_model_key(params), inputs=steps.file_stamps(inputs)),
    )
    done = step.result()
    if done is not None:
        return [Path(path) for path in done["written"]]
    if not inputs:
        return []
    report = colorize.colorize_files(
        load_run_model(params), inputs, out_dir, batch_size=params.batch_size, progress=progress
    )
    print(f"{out_dir.name}: {report.summary()}")
    step.finish({"written": [str(path) for path in report.written], "failed": report.failed})
    return report.written


def colorize_run(params: Params, progress: bool = True) -> dict[str, list[Path]]:
    """Colorize the held-back test photos and the real grayscale photos (``class 1``).

    Outputs go to ``outputs/test/`` and ``outputs/gray/`` with the input file names.
    A set already colorized by the same model is not done again.
    """
    split = load_split(params)
    outputs_dir = run_paths(params).outputs_dir
    return {
        name: _colorize_set(params, split.get(name, []), outputs_dir / name, progress)
        for name in ("test", "gray")
    }


@dataclass
class RunEvaluation:
    """Notebook 05's numbers: for each image set, each method's summary and per-image scores."""

    #: ``tables[set_name][method] = summary`` with the keys of :data:`colorlib.metrics.SUMMARY_KEYS`.
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: ``results[set_name][method]``: the full :class:`colorlib.metrics.EvaluationResult`.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    mean_ab: tuple[float, float] = (0.0, 0.0)


def _mean_ab_step(params: Params) -> steps.Step:
    """The mean-ab baseline depends on the split (so on the seed), the photos and the image size."""
    train = load_split(params)["train"]
    key = steps.key(
        "mean_ab",
        split=read_json(run_paths(params).dataset_json)["key"],
        photos=steps.file_stamps(train),
        image_size=params.image_size,
    )
    return steps.Step(run_paths(params).metrics_dir / "mean_ab.json", key)


def training_mean_ab(params: Params, progress: bool = True) -> tuple[float, float]:
    """Mean CIE (a, b) of the training photos (the mean-ab baseline), cached in ``metrics/``."""
    from colorlib import baselines

    step = _mean_ab_step(params)
    done = step.result()
    if done is not None:
        return tuple(done["mean_ab"])
    value = baselines.mean_ab(load_split(params)["train"], params.image_size, progress=progress)
    step.finish({"mean_ab": list(value)})
    return value


def _score_set(
    params: Params,
    set_name: str,
    truths: list[str],
    predictions: list[Path],
    mean_ab: tuple[float, float],
    progress: bool,
) -> dict[str, Any]:
    from colorlib import baselines, metrics

    results = {"model": metrics.evaluate(truths, predictions, progress=progress)}
    out_root = run_paths(params).outputs_dir / "baselines" / set_name
    results |= baselines.evaluate_baselines(truths, out_root, mean_ab, progress=progress)
    return results


def _csv_name(set_name: str, method: str) -> str:
    return f"{set_name}_{method.replace(' ', '_')}.csv"


def evaluate_run(params: Params, progress: bool = True) -> RunEvaluation:
    """Score the model and the baselines (gray, mean ab of the training set) with the same code.

    The test photos of the run are always scored; each folder of ``params.benchmark`` (say
    Kodak24 and CBSD68) too: it is colorized into ``outputs/benchmark/<name>/`` first.
    Writes ``metrics/summary.json`` (the step record) and per-image CSV files; scores of
    the same predictions are read back from them.
    """
    from colorlib import metrics

    paths = run_paths(params)
    split = load_split(params)
    outputs = colorize_run(params, progress=progress)
    evaluation = RunEvaluation(mean_ab=training_mean_ab(params, progress=progress))
    sets = {"test": (split["test"], outputs["test"])}
    for bench_dir in params.benchmarks:
        truths = [str(path) for path in data.list_images(bench_dir)]
        out_dir = paths.outputs_dir / "benchmark" / bench_dir.name
        sets[bench_dir.name] = (truths, _colorize_set(params, truths, out_dir, progress))
    step = steps.Step(
        paths.metrics_dir / "summary.json",
        steps.key(
            "evaluation",
            model=_model_key(params),
            mean_ab=_mean_ab_step(params).key,
            sets={name: steps.file_stamps([*truths, *preds]) for name, (truths, preds) in sets.items()},
        ),
    )
    done = step.result()
    if done is not None:
        for set_name, table in done["tables"].items():
            evaluation.tables[set_name] = table
            evaluation.results[set_name] = {
                method: metrics.EvaluationResult.read_csv(paths.metrics_dir / _csv_name(set_name, method))
                for method in table
            }
        return evaluation
    for set_name, (truths, predictions) in sets.items():
        results = _score_set(params, set_name, truths, predictions, evaluation.mean_ab, progress)
        for method, result in results.items():
            result.write_csv(paths.metrics_dir / _csv_name(set_name, method))
        evaluation.results[set_name] = results
        evaluation.tables[set_name] = {method: result.summary for method, result in results.items()}
    step.finish({"mean_ab": list(evaluation.mean_ab), "tables": evaluation.tables})
    return evaluation
