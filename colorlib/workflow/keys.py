"""Every step of a run keyed in one place: what each step's record is, and the key it holds.

A step's key is the hash of everything its result depends on (:mod:`colorlib.core.steps`), and
each key includes the keys of the steps it reads, so a change upstream redoes exactly the steps
downstream. The stage modules (prepare, encode, train, evaluate) ask this module for their steps
and never compute a key themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from colorlib.core import steps
from colorlib.core.config import EXTRA_TRAIN_SPLIT
from colorlib.core.io import read_json
from colorlib.core.params import Params
from colorlib.training.models import model_for
from colorlib.workflow.runs import NOTEBOOKS, require, run_paths, upstream_key


def split_step(params: Params, root: Path, names: list[str], extra_names: list[str] = ()) -> steps.Step:
    """The split depends on the file names and the split settings, not on the pixels.

    ``extra_names`` are the photos of the second and later folders; with none the key is as it was.
    """
    extras = {"extra_files": list(extra_names), "extra_test": params.extra_test} if extra_names else {}
    key = steps.key(
        "dataset",
        root=str(root),
        files=names,
        limit=params.limit,
        seed=params.seed,
        validation_fraction=params.validation_fraction,
        test_fraction=params.test_fraction,
        **extras,
    )
    return steps.Step(run_paths(params).dataset_json, key)


def load_split(params: Params) -> dict[str, list[str]]:
    """The split written by notebook 01."""
    return read_json(require(run_paths(params).split_json, NOTEBOOKS["dataset"]))


#: The splits whose features are cached for training; a run with extra folders adds
#: :data:`EXTRA_TRAIN_SPLIT` (:func:`feature_splits`).
FEATURE_SPLITS = ("train", "validation")


def feature_splits(split: dict[str, list[str]]) -> tuple[str, ...]:
    """The cached splits of a run: :data:`FEATURE_SPLITS`, plus the extra training photos when it has some."""
    return (*FEATURE_SPLITS, EXTRA_TRAIN_SPLIT) if split.get(EXTRA_TRAIN_SPLIT) else FEATURE_SPLITS


def encoder_step(params: Params) -> steps.Step:
    key = steps.key(
        "encoder",
        encoder=params.encoder,
        weights=params.encoder_weights,
        image_size=params.image_size,
        seed=params.seed,
    )
    return steps.Step(run_paths(params).encoder_json, key)


def features_step(params: Params) -> steps.Step:
    """Features depend on the split, the encoder, the augmentation settings and the photos' stamps."""
    split = load_split(params)
    files = [path for name in feature_splits(split) for path in split[name]]
    extras = {"extra_views": params.extra_views} if split.get(EXTRA_TRAIN_SPLIT) else {}
    key = steps.key(
        "features",
        split=read_json(run_paths(params).dataset_json)["key"],
        encoder=upstream_key(encoder_step(params), NOTEBOOKS["encoder"]),
        views=params.views,
        seed=params.seed,
        max_rotation=params.max_rotation,
        photos=steps.file_stamps(files),
        **model_for(params).decoder_keys("skips"),
        **extras,
    )
    return steps.Step(run_paths(params).features_record, key)


def features_content(params: Params) -> dict[str, str]:
    """What the run's cached features hold: notebook 02's digest of each split's feature index
    (the content-addressed cache keys of its photos' views).

    Training is keyed on this, not on the features step's key: that key holds the photos' paths,
    which change when the dataset moves to another folder though the pixels do not (and, before
    colorlib keyed steps on content, their file times), and a long training run must still
    resume from its backup then. Raises FileNotFoundError naming notebook 02 when the features
    are missing.
    """
    step = features_step(params)
    upstream_key(step, NOTEBOOKS["features"])
    return step.result()


class _Upstream:
    """What a scheme's training key may hold from upstream (``base_model.Upstream``)."""

    def __init__(self, params: Params) -> None:
        self.params = params

    def features(self) -> dict[str, Any]:
        return training_content(self.params)

    def start_key(self) -> str:
        start = model_for(self.params).start()
        return upstream_key(training_steps(start.params)[1], NOTEBOOKS["model"])

    def start_stamps(self) -> list:
        return steps.file_stamps([run_paths(model_for(self.params).start().params).colorizer])


def training_content(params: Params) -> dict[str, Any]:
    """What a run's training batches are made of: the cached features' content
    (:func:`features_content`), or, with ``shards``, the shards' content, the encoder and the
    augmentation the photos are decoded with."""
    if not params.shards:
        return features_content(params)
    from colorlib.data import shards

    return {
        "shards": shards.open_shards(params.resolve(params.shards)).digest(),
        "encoder": upstream_key(encoder_step(params), NOTEBOOKS["encoder"]),
        "max_rotation": params.max_rotation,
    }


def training_steps(params: Params) -> tuple[steps.Step, steps.Step]:
    """Two keys: the backup's (the settings a checkpoint depends on, named by the run's scheme) and
    the finished model's (those, the epochs and the patience).

    Epochs and patience may change between sessions: more epochs continue the backup.
    """
    model = model_for(params)
    settings = model.key_settings(_Upstream(params))
    backup_name, finished_name = model.step_names
    model_dir = run_paths(params).model_dir
    backup = steps.Step(model_dir / "backup.step.json", steps.key(backup_name, **settings))
    finished = steps.key(finished_name, **settings, epochs=model.epochs, patience=params.patience)
    return backup, steps.Step(model_dir / "step.json", finished)


def class_weights_step(params: Params) -> steps.Step:
    """The rebalancing weights depend on the cached training ab, so on the features step."""
    key = steps.key("class_weights", features=training_content(params))
    return steps.Step(run_paths(params).class_weights, key)


def model_key(params: Params) -> str:
    return upstream_key(training_steps(params)[1], NOTEBOOKS["model"])


def mean_ab_step(params: Params) -> steps.Step:
    """The mean-ab baseline depends on the split (so on the seed), the photos and the image size."""
    train = load_split(params)["train"]
    key = steps.key(
        "mean_ab",
        split=read_json(run_paths(params).dataset_json)["key"],
        photos=steps.file_stamps(train),
        image_size=params.image_size,
    )
    return steps.Step(run_paths(params).metrics_dir / "mean_ab.json", key)
