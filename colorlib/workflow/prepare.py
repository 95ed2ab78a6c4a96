"""Notebook 01: find the photos, check every one, and split them (``dataset.json``, ``split.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorlib.core.config import EXTRA_TEST_SPLIT, EXTRA_TRAIN_SPLIT
from colorlib.core.io import read_json, write_json
from colorlib.core.params import Params
from colorlib.data import images
from colorlib.workflow.keys import split_step
from colorlib.workflow.runs import run_paths


@dataclass
class PreparedDataset:
    """The outcome of notebook 01: the dataset, its split and what was left out."""

    dataset: images.Dataset
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
        from colorlib.data import demo

        return demo.build_demo_dataset(params.data_path / "demo")
    return params.dataset_folders[0]


def extra_color_files(params: Params) -> list[str]:
    """The colour photos of the second and later dataset folders, sorted (none for one folder).

    Raises ``FileNotFoundError`` naming the folder when one of them does not exist.
    """
    files: list[str] = []
    for root in params.dataset_folders[1:]:
        try:
            dataset = images.find_dataset(root)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"The extra photo folder {root} (a second or later folder of `dataset:`) does not exist. "
                "Build it first (docs/training.md says how the extra photos of params/larger/ are built), "
                "or take it out of `dataset:`."
            ) from error
        files.extend(str(path) for path in dataset.color_files)
    return sorted(files)


def split_extra(files: list[str], held_back: int, seed: int) -> dict[str, list[str]]:
    """``{"extra-train": [...], "extra-test": [...]}``: ``held_back`` of ``files`` chosen with ``seed``.

    Raises ``ValueError`` when ``held_back`` leaves no training photo.
    """
    if files and held_back >= len(files):
        raise ValueError(
            f"extra_test={held_back} holds back every one of the {len(files)} extra photos; "
            "lower it so that some join training."
        )
    chosen = (
        set(np.random.default_rng(seed).choice(len(files), held_back, replace=False).tolist())
        if files
        else set()
    )
    return {
        EXTRA_TRAIN_SPLIT: [path for n, path in enumerate(files) if n not in chosen],
        EXTRA_TEST_SPLIT: [path for n, path in enumerate(files) if n in chosen],
    }


def prepare_dataset(params: Params, progress: bool = True) -> PreparedDataset:
    """Find the photos, check every one, and split the readable colour photos.

    Unreadable files and grayscale photos among the colour ones are reported and left
    out of training. Writes ``dataset.json`` (the step record) and ``split.json``; when
    they exist for the same file names and split settings, they are read back instead.
    """
    from colorlib.data import inputs

    paths = run_paths(params)
    root = dataset_root(params)
    dataset = images.find_dataset(root)
    extra_files = extra_color_files(params)
    step = split_step(
        params, root, [str(path) for path in [*dataset.color_files, *dataset.gray_files]], extra_files
    )
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
    split = images.split_files(colour, params.validation_fraction, params.test_fraction, params.seed)
    # In class 1 every readable photo is colorized, whether or not it carries a tint.
    split["gray"] = sorted(str(path) for path in [*gray_ok, *map(Path, gray_report.grayscale)])
    skipped = report.skipped + gray_report.skipped
    extra_report = None
    if extra_files:
        extra_ok, extra_report = inputs.scan_images(
            extra_files, progress=progress, desc="Checking extra photos"
        )
        split |= split_extra(sorted(map(str, extra_ok)), params.extra_test, params.seed)
        skipped += extra_report.skipped
    write_json(paths.split_json, split)
    step.finish(
        {
            "layout": dataset.layout,
            "color_files": len(dataset.color_files),
            "gray_files": len(dataset.gray_files),
            "used_color_files": len(candidates),
            "skipped": skipped,
            "grayscale_in_color": report.grayscale + (extra_report.grayscale if extra_report else []),
            **({"extra_files": len(extra_files)} if extra_files else {}),
        }
    )
    return PreparedDataset(dataset, split, skipped, step.result()["grayscale_in_color"])


#: The splits a shard folder holds: what training reads (the extra folders' training photos join "train").
SHARDED_SPLITS = ("train", "validation")


def shard_dataset(
    params: Params, out_dir: Path | str, photos_per_shard: int | None = None, progress: bool = True
):
    """``colorlib shard``: the run's training and validation photos (notebook 01's split, so the
    run's own test photos stay out) packed into shards in ``out_dir``
    (:func:`colorlib.data.shards.pack`), for training with ``shards``. Returns the shards and the
    photos left out because they could not be read."""
    from colorlib.core.config import PHOTOS_PER_SHARD
    from colorlib.data import shards

    prepared = prepare_dataset(params, progress=progress)
    root = dataset_root(params)
    chosen = {
        "train": [*prepared.split["train"], *prepared.split.get(EXTRA_TRAIN_SPLIT, [])],
        "validation": prepared.split["validation"],
    }

    def name_of(path: Path) -> str:
        path = Path(path)
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

    settings = {
        "dataset": str(root),
        "seed": params.seed,
        "limit": params.limit,
        "validation_fraction": params.validation_fraction,
        "test_fraction": params.test_fraction,
    }
    return shards.pack(
        chosen, out_dir, name_of, photos_per_shard or PHOTOS_PER_SHARD, settings=settings, progress=progress
    )
