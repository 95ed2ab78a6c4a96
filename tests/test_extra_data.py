"""Several dataset folders: the first is split as before; the others join training, less an extra-test set."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_workflow import colour_photos, run_params

from colorlib import workflow
from colorlib.core.config import EXTRA_TEST_SPLIT, EXTRA_TRAIN_SPLIT
from colorlib.core.params import Params
from colorlib.workflow import prepare


def test_extra_folders_leave_the_main_split_as_it_was_and_hold_back_extra_test(tmp_path: Path) -> None:
    main = colour_photos(tmp_path / "main", 10, seed=0)[0].parent
    extra = colour_photos(tmp_path / "extra", 9, seed=1)[0].parent
    alone = workflow.prepare_dataset(run_params(tmp_path, main, "alone"), progress=False).split
    both = run_params(tmp_path, main, "both", extra_test=3)
    both.dataset = [str(main), str(extra)]
    split = workflow.prepare_dataset(both, progress=False).split

    for name in ("train", "validation", "test"):
        assert split[name] == alone[name]
    assert len(split[EXTRA_TEST_SPLIT]) == 3 and len(split[EXTRA_TRAIN_SPLIT]) == 6
    assert not set(split[EXTRA_TEST_SPLIT]) & set(split[EXTRA_TRAIN_SPLIT])
    assert {Path(path).parent for path in split[EXTRA_TRAIN_SPLIT]} == {extra}
    # The same parameters give the same split; another seed holds back other photos.
    assert workflow.prepare_dataset(both, progress=False).split == split
    reseeded = prepare.split_extra(sorted(split[EXTRA_TRAIN_SPLIT] + split[EXTRA_TEST_SPLIT]), 3, seed=7)
    assert reseeded[EXTRA_TEST_SPLIT] != split[EXTRA_TEST_SPLIT]


def test_extra_training_photos_are_cached_with_their_own_views_and_join_training(tmp_path: Path) -> None:
    main = colour_photos(tmp_path / "main", 10, seed=0)[0].parent
    extra = colour_photos(tmp_path / "extra", 6, seed=1)[0].parent
    params = run_params(tmp_path, main, "views", views=2, extra_views=1, extra_test=2)
    params.dataset = [str(main), str(extra)]
    split = workflow.prepare_dataset(params, progress=False).split
    encoder = workflow.build_run_encoder(params)
    indexes = workflow.extract_run_features(params, encoder, progress=False)

    assert len(indexes["train"]) == 2 * len(split["train"])
    assert len(indexes[EXTRA_TRAIN_SPLIT]) == len(split[EXTRA_TRAIN_SPLIT]) == 4
    train, _ = workflow.training_datasets(params)
    assert len(train._row) == 2 * len(split["train"]) + 4
    # A changed number of extra views is a new features step.
    before = workflow.keys.features_step(params).key
    params.extra_views = 2
    assert workflow.keys.features_step(params).key != before


def test_a_missing_extra_folder_is_named_with_how_to_build_it(tmp_path: Path) -> None:
    main = colour_photos(tmp_path / "main", 10, seed=0)[0].parent
    params = run_params(tmp_path, main, "missing")
    params.dataset = [str(main), str(tmp_path / "extra")]
    with pytest.raises(FileNotFoundError, match=r"extra photo folder .*extra.*docs/training\.md") as error:
        workflow.prepare_dataset(params, progress=False)
    assert "demo-data" not in str(error.value)


def test_one_folder_keeps_its_step_keys(tmp_path: Path) -> None:
    main = colour_photos(tmp_path / "main", 10, seed=0)[0].parent
    params = run_params(tmp_path, main, "one")
    workflow.prepare_dataset(params, progress=False)
    workflow.build_run_encoder(params)
    key = workflow.keys.features_step(params).key
    params.extra_views, params.extra_test = 3, 5  # no extra folder: these change nothing
    workflow.prepare_dataset(params, progress=False)
    assert workflow.keys.features_step(params).key == key
    assert EXTRA_TRAIN_SPLIT not in workflow.load_split(params)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dataset": []}, "non-empty list"),
        ({"extra_views": 0}, "extra_views"),
        ({"extra_test": -1}, "extra_test"),
    ],
)
def test_bad_extra_settings_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Params(**values)


def test_holding_back_every_extra_photo_is_refused() -> None:
    with pytest.raises(ValueError, match="lower it"):
        prepare.split_extra(["a.png", "b.png"], 2, seed=0)


def test_the_command_line_takes_one_folder_or_several() -> None:
    from colorlib.cli import build_parser
    from colorlib.cli.commands import _params_from_args

    def dataset(*words: str):
        return _params_from_args(build_parser().parse_args(["train", *words])).dataset

    assert dataset() is None
    assert dataset("photos") == "photos"
    assert dataset("photos", "more", "--extra-test", "5") == ["photos", "more"]
