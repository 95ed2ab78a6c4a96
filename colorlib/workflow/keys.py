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
from colorlib.core.config import ADVERSARIAL_LOSSES, DDCOLOR_LOSS, EXTRA_TRAIN_SPLIT, GAN_LOSS
from colorlib.core.io import read_json
from colorlib.core.params import Params
from colorlib.workflow.runs import NOTEBOOKS, generator_params, init_params, require, run_paths, upstream_key


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


def decoder_key_inputs(params: Params, *names: str) -> dict[str, Any]:
    """Step-key inputs for the U-Net (``skips``, ``decoder``, ``attention``); none for the seed
    decoder, so that its runs keep their keys."""
    if params.decoder == "seed":
        return {}
    values = {"skips": True, "decoder": params.decoder, "attention": params.attention}
    chosen = {name: values[name] for name in names}
    if params.hints and "decoder" in names:
        chosen["hints"] = True  # absent otherwise, so runs without hints keep their keys
        if params.hint_spread:
            chosen["hint_spread"] = True
    return chosen


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
        **decoder_key_inputs(params, "skips"),
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


def training_steps(params: Params) -> tuple[steps.Step, steps.Step]:
    """Two keys: the backup's (settings a checkpoint depends on) and the finished model's.

    Epochs and patience may change between sessions: more epochs continue the backup.
    """
    paths = run_paths(params)
    if params.loss in ADVERSARIAL_LOSSES:
        return gan_steps(params)
    settings = {
        "features": features_content(params),
        "image_size": params.image_size,
        "batch_size": params.batch_size,
        "learning_rate": params.learning_rate,
        "seed": params.seed,
        "strategy": params.strategy,
        **decoder_key_inputs(params, "decoder", "attention"),
        **({"loss": params.loss} if params.loss != "mse" else {}),  # mse runs keep their keys
        **optimizer_key_inputs(params),
        **(
            {"init": steps.file_stamps([run_paths(init_params(params)).colorizer])} if params.init_run else {}
        ),
    }
    backup = steps.Step(paths.model_dir / "backup.step.json", steps.key("backup", **settings))
    finished = steps.key("training", **settings, epochs=params.epochs, patience=params.patience)
    return backup, steps.Step(paths.model_dir / "step.json", finished)


def optimizer_key_inputs(params: Params) -> dict[str, Any]:
    """Step-key inputs for the epoch length, the optimizer and the schedule, only where they are
    not the original design's (one pass, Adam, constant), so that earlier runs keep their keys."""
    values = {}
    if params.steps_per_epoch is not None:
        values["steps_per_epoch"] = params.steps_per_epoch
    if params.optimizer != "adam":
        values |= {"optimizer": params.optimizer, "weight_decay": params.weight_decay}
    if params.lr_schedule != "constant":
        values["lr_schedule"] = params.lr_schedule
    return values


def gan_steps(params: Params) -> tuple[steps.Step, steps.Step]:
    """``loss: gan`` or ``ddcolor``: keyed on the finished generator (so on its features and settings)
    and the fine-tuning's own settings."""
    from colorlib.archs import discriminator_arch
    from colorlib.training import gan

    settings = {
        "generator": upstream_key(training_steps(generator_params(params))[1], NOTEBOOKS["model"]),
        "loss": params.loss,
        "batch_size": params.batch_size,
        "learning_rate": params.learning_rate,
        "seed": params.seed,
        "strategy": params.strategy,
        "l1_weight": gan.L1_WEIGHT,
        "discriminator": list(discriminator_arch.DISCRIMINATOR_FILTERS),
        **({"steps_per_epoch": params.steps_per_epoch} if params.steps_per_epoch else {}),
    }
    if params.loss == DDCOLOR_LOSS:
        settings |= {
            "l1_weight": params.l1_weight,
            "perceptual_weight": params.perceptual_weight,
            "adversarial_weight": params.adversarial_weight,
            "colorfulness_weight": params.colorfulness_weight,
            "color_enhance": params.color_enhance,
            "optimizer": params.optimizer,
            "weight_decay": params.weight_decay,
        }
    model_dir = run_paths(params).model_dir
    kind = "gan" if params.loss == GAN_LOSS else params.loss  # gan runs keep their keys
    backup = steps.Step(model_dir / "backup.step.json", steps.key(f"{kind}_backup", **settings))
    finished = steps.key(f"{kind}_training", **settings, epochs=params.gan_epochs, patience=params.patience)
    return backup, steps.Step(model_dir / "step.json", finished)


def class_weights_step(params: Params) -> steps.Step:
    """The rebalancing weights depend on the cached training ab, so on the features step."""
    key = steps.key("class_weights", features=features_content(params))
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
