"""Run parameters: one YAML file drives the CLI, every notebook and the papermill chain.

The defaults are the original project's numbers. A notebook's ``parameters`` cell
holds the same names; :func:`load_params` reads ``$COLORLIB_PARAMS`` (a YAML file)
when it is set, which is how the tests run all notebooks with ``params/smoke.yaml``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from colorlib.config import (
    BATCH_SIZE,
    EPOCHS,
    IMAGE_SIZE,
    LEARNING_RATE,
    ROTATION_DEGREES,
    SEED,
    TEST_FRACTION,
    VALIDATION_FRACTION,
    project_root,
)

#: Environment variable naming a YAML parameters file that overrides notebook defaults.
PARAMS_ENV = "COLORLIB_PARAMS"


@dataclass
class Params:
    """Everything a run needs. Paths may be relative to the project root."""

    run_name: str = "default"
    #: Dataset folder (``class 0``/``class 1`` layout or flat); None builds and uses the demo dataset.
    dataset: str | None = None
    #: Use at most this many colour photos (None: all), chosen with the seed.
    limit: int | None = None
    image_size: int = IMAGE_SIZE
    batch_size: int = BATCH_SIZE
    epochs: int = EPOCHS
    learning_rate: float = LEARNING_RATE
    #: "imagenet", a path to a VGG16 .h5 weights file, or None (random weights: tests only).
    encoder_weights: str | None = "imagenet"
    seed: int = SEED
    validation_fraction: float = VALIDATION_FRACTION
    test_fraction: float = TEST_FRACTION
    #: Feature-cache views per training image: view 0 is the photo itself, the rest are augmented.
    views: int = 2
    max_rotation: float = ROTATION_DEGREES
    #: tf.distribute strategy for training: "default", "mirrored" (several GPUs) or "multiworker".
    strategy: str = "default"
    #: Stop when the validation loss has not improved for this many epochs (None: never).
    patience: int | None = None
    #: Extra benchmark folder with colour ground truth, scored in notebook 05 (None: skip).
    benchmark: str | None = None
    #: Where runs, the demo dataset and the feature cache live.
    data_dir: str = "data"
    #: The run's artifact folder; None means ``<data_dir>/runs/<run_name>``.
    run_dir_override: str | None = None

    def __post_init__(self) -> None:
        checks = {
            "image_size": self.image_size > 0 and self.image_size % 32 == 0,
            "batch_size": self.batch_size >= 1,
            "epochs": self.epochs >= 1,
            "learning_rate": self.learning_rate > 0,
            "views": self.views >= 1,
            "limit": self.limit is None or self.limit >= 3,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(
                    f"Parameter {name}={getattr(self, name)!r} is not valid: image_size must be a "
                    "multiple of 32, batch_size, epochs and views at least 1, learning_rate "
                    "positive, limit None or at least 3."
                )
        if self.encoder_weights in ("none", "None", "null", "random"):
            raise ValueError(
                f"encoder_weights={self.encoder_weights!r}: write null in YAML (None in Python) "
                "for random weights."
            )

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

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def params_from_dict(values: dict[str, Any]) -> Params:
    """Build :class:`Params`, refusing unknown names so that typos do not pass silently."""
    known = {field.name for field in fields(Params)}
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


def load_params(path: str | Path | None = None, **overrides: Any) -> Params:
    """Parameters from ``overrides`` (a notebook's parameters cell), then the YAML file.

    The file is ``path``, else ``$COLORLIB_PARAMS`` when set. Values in the file win over
    the notebook's defaults, because the file is what the user or the test chose for
    the run; with no file, the overrides are used as they are.
    """
    values = dict(overrides)
    source = path if path is not None else os.environ.get(PARAMS_ENV)
    if source:
        values.update(read_params_file(source))
    return params_from_dict(values)
