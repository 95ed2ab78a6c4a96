"""Where a run keeps its artifacts, and what every step of it shares.

A run's folder (``params.run_dir``) holds what each notebook wrote (:class:`RunPaths`);
:func:`require` and :func:`upstream_key` turn a missing artifact into an error that names
the notebook to run first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from colorlib.core import steps
from colorlib.core.config import ADVERSARIAL_LOSSES, DDCOLOR_LOSS, GAN_LOSS
from colorlib.core.params import Params

NOTEBOOKS = {
    "dataset": "01_preprocessing",
    "encoder": "02_feature_extraction",
    "features": "02_feature_extraction",
    "model": "03_training",
    "outputs": "04_colorization",
}


MODEL_FOLDER = "model"


#: The model folder of a ``loss: gan`` run; its generator is trained in the usual ``model/``.
GAN_MODEL_FOLDER = "model-gan"
#: The model folder of each adversarial loss.
ADVERSARIAL_MODEL_FOLDERS = {GAN_LOSS: GAN_MODEL_FOLDER, DDCOLOR_LOSS: "model-ddcolor"}


#: Its generator after each adversarial epoch (:class:`colorlib.training.gan.GeneratorSnapshots`),
#: in model-gan/.
GAN_SNAPSHOT_DIR = "epochs"


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
    def features_record(self) -> Path:
        """Notebook 02's step record: its key and the digest of each split's feature index."""
        return self.features_dir / "step.json"

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
    return RunPaths(params.run_dir, ADVERSARIAL_MODEL_FOLDERS.get(params.loss, MODEL_FOLDER))


def generator_params(params: Params) -> Params:
    """``loss: gan`` or ``ddcolor``: the parameters of its generator's training, the same run with
    ``loss: gan_from`` (in the run ``generator_run`` when it names one)."""
    other = {"run_name": params.generator_run, "run_dir_override": None} if params.generator_run else {}
    return dataclasses.replace(params, loss=params.gan_from, **other)


def init_params(params: Params) -> Params:
    """``init_run``: the parameters of the run whose finished decoder this one starts from (the same
    settings, without hints)."""
    return dataclasses.replace(
        params, run_name=params.init_run, run_dir_override=None, hints=False, hint_spread=False, init_run=None
    )


def training_epochs(params: Params) -> int:
    """Epochs of the run's training step: ``gan_epochs`` for ``loss: gan`` or ``ddcolor``, else ``epochs``."""
    return params.gan_epochs if params.loss in ADVERSARIAL_LOSSES else params.epochs


def require(path: Path, notebook: str) -> Path:
    """``path`` if it exists; otherwise a FileNotFoundError naming the notebook to run first."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing: run notebooks/{notebook}.ipynb first (or the whole chain with "
            "`make pipeline`), with the same parameters."
        )
    return Path(path)


def upstream_key(step: steps.Step, notebook: str) -> str:
    """The key of a finished step, or a FileNotFoundError naming the notebook that makes it."""
    if not step.done():
        raise FileNotFoundError(
            f"{step.record} is missing or out of date: run notebooks/{notebook}.ipynb first (or "
            "the whole chain with `make pipeline`), with the same parameters."
        )
    return step.key


def load_run_encoder(params: Params):
    """The encoder saved by notebook 02."""
    from colorlib.archs import colorizer_arch

    paths = run_paths(params)
    require(paths.encoder_weights, NOTEBOOKS["encoder"])
    encoder = colorizer_arch.build_encoder(None, params.image_size, params.encoder)
    encoder.load_weights(paths.encoder_weights)
    return encoder


def training_datasets(params: Params) -> tuple:
    """``(train, validation)``: batches of (cached features, ab) for ``model.fit`` (notebook 03).

    Each is a :class:`colorlib.data.featuredata.FeatureDataset`; the training one is shuffled, and
    cut into epochs of ``params.steps_per_epoch`` batches when it is set.
    """
    from colorlib.data import featuredata

    features_dir = require(run_paths(params).features_dir, NOTEBOOKS["features"])
    datasets = featuredata.run_datasets(
        features_dir, params.batch_size, params.seed, params.steps_per_epoch, hints=params.hints
    )
    return datasets["train"], datasets["validation"]


def load_run_model(params: Params):
    """The trained colorizer saved by notebook 03 (L -> ab, encoder and decoder together)."""
    from colorlib.archs import colorizer_arch

    return colorizer_arch.load_model(require(run_paths(params).colorizer, NOTEBOOKS["model"]))
