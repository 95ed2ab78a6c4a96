"""Where a run keeps its artifacts, and what every step of it shares.

A run's folder (``params.run_dir``) holds what each notebook wrote (:class:`RunPaths`);
:func:`require` and :func:`upstream_key` turn a missing artifact into an error that names
the notebook to run first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colorlib.core import steps
from colorlib.core.params import Params
from colorlib.training.base_model import MODEL_FOLDER

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
    #: ``model``, or the scheme's own (``model-gan`` for ``loss: gan``; its generator stays in ``model``).
    model_folder: str = MODEL_FOLDER

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
    """The artifact paths of the run ``params`` describes (its scheme names its model folder)."""
    from colorlib.training.models import model_for

    return RunPaths(params.run_dir, model_for(params).model_folder)


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
    """``(train, validation)``: the batches of ``model.fit`` (notebook 03).

    From the feature cache (notebook 02): each a :class:`colorlib.data.featuredata.FeatureDataset`
    of (cached features, ab). With ``shards``: photos decoded on the fly, each a
    :class:`colorlib.data.streaming.StreamDataset` of (L, ab) for this process's share of each
    batch (:func:`photo_datasets`). The training one is shuffled, and cut into epochs of
    ``params.steps_per_epoch`` batches when it is set.
    """
    from colorlib.data import featuredata
    from colorlib.training.models import model_for

    if params.shards:
        return photo_datasets(params)
    features_dir = require(run_paths(params).features_dir, NOTEBOOKS["features"])
    hints = model_for(params).reads_hints
    datasets = featuredata.run_datasets(
        features_dir, params.batch_size, params.seed, params.steps_per_epoch, hints=hints
    )
    return datasets["train"], datasets["validation"]


def photo_datasets(params: Params) -> tuple:
    """``(train, validation)`` decoded from the run's ``shards``, for this process of the run's
    processes (:func:`colorlib.training.distribute.process`): ``batch_size`` is the global batch,
    and each process reads its ``batch_size / processes`` photos of every step."""
    from colorlib.data import shards, streaming
    from colorlib.training import distribute
    from colorlib.training.models import model_for

    shard_set = shards.open_shards(params.resolve(params.shards))
    index, count = distribute.process()
    if params.batch_size % count:
        raise ValueError(
            f"batch_size={params.batch_size} is the global batch of {count} processes: make it a "
            f"multiple of {count}."
        )
    local = params.batch_size // count
    devices = distribute.local_devices(params.strategy)
    if local % devices:
        raise ValueError(
            f"Each process's share of batch_size={params.batch_size} ({local}) is split over its {devices} "
            f"devices: make batch_size a multiple of {count * devices}."
        )
    common = {
        "batch_size": local,
        "drop_remainder": devices * count > 1,
        "image_size": params.image_size,
        "seed": params.seed,
        "hints": model_for(params).reads_hints,
        "process_index": index,
        "process_count": count,
        "workers": params.decode_workers,
    }
    train = streaming.StreamDataset(
        shard_set, "train", max_rotation=params.max_rotation, steps_per_epoch=params.steps_per_epoch, **common
    )
    validation = streaming.StreamDataset(shard_set, "validation", shuffle=False, **common)
    return train, validation


def load_run_model(params: Params):
    """The trained colorizer saved by notebook 03 (L -> ab, encoder and decoder together)."""
    from colorlib.archs import colorizer_arch

    return colorizer_arch.load_model(require(run_paths(params).colorizer, NOTEBOOKS["model"]))
