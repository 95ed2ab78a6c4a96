"""colorlib.params: the original project's defaults, strict names, YAML files and $COLORLIB_PARAMS."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorlib import params
from colorlib.config import project_root
from colorlib.params import Params, load_params, params_from_dict

PARAMS_DIR = project_root() / "params"


def test_defaults_are_the_original_projects_numbers() -> None:
    defaults = Params()
    assert defaults.image_size == 256
    assert defaults.batch_size == 32
    assert defaults.epochs == 50
    assert defaults.learning_rate == pytest.approx(2e-4)
    assert defaults.encoder_weights == "imagenet"
    assert defaults.seed == 42
    assert defaults.run_dir == project_root() / "data" / "runs" / "default"


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Unknown parameter.*epoch"):
        params_from_dict({"epoch": 3})


def test_unknown_names_in_a_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("run_name: typo\nlearning_rte: 0.001\n")
    with pytest.raises(ValueError, match="learning_rte"):
        load_params(path)


@pytest.mark.parametrize(
    "values",
    [
        {"image_size": 100},
        {"batch_size": 0},
        {"epochs": 0},
        {"learning_rate": 0.0},
        {"views": 0},
        {"limit": 2},
        {"encoder_weights": "none"},
    ],
)
def test_invalid_values_are_refused(values: dict) -> None:
    with pytest.raises(ValueError):
        params_from_dict(values)


def test_environment_variable_file_wins_over_notebook_defaults(tmp_path, monkeypatch) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("run_name: mine\nepochs: 3\nencoder_weights: null\n")
    monkeypatch.setenv(params.PARAMS_ENV, str(path))
    loaded = load_params(epochs=7, batch_size=8)
    assert (loaded.run_name, loaded.epochs, loaded.batch_size) == ("mine", 3, 8)
    assert loaded.encoder_weights is None
    monkeypatch.delenv(params.PARAMS_ENV)
    assert load_params(epochs=7).epochs == 7


def test_missing_params_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"params/default\.yaml"):
        load_params(tmp_path / "absent.yaml")


def test_default_yaml_holds_the_defaults(monkeypatch) -> None:
    monkeypatch.delenv(params.PARAMS_ENV, raising=False)
    assert load_params(PARAMS_DIR / "default.yaml") == Params()


def test_smoke_yaml_is_small_and_offline(monkeypatch) -> None:
    monkeypatch.delenv(params.PARAMS_ENV, raising=False)
    smoke = load_params(PARAMS_DIR / "smoke.yaml")
    assert smoke.run_name == "smoke"
    assert smoke.image_size == 64 and smoke.epochs <= 2
    assert smoke.encoder_weights is None
    assert smoke.run_dir == project_root() / "data" / "runs" / "smoke"
