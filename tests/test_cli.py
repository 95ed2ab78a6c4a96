"""The ``colorlib`` command, driven the way a user drives it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib import cli
from colorlib.config import COLOR_CLASS_DIR, GRAY_CLASS_DIR

SUBCOMMANDS = ("demo-data", "train", "extract", "colorize", "evaluate", "baseline", "pipeline")


def test_help_of_every_subcommand_answers_without_loading_tensorflow() -> None:
    code = (
        "import sys, colorlib.cli as c\n"
        "for a in sys.argv[1:]:\n"
        "    try: c.main([a, '--help'])\n"
        "    except SystemExit: pass\n"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *SUBCOMMANDS], capture_output=True, text=True, check=True
    )
    for name in SUBCOMMANDS:
        assert f"usage: colorlib {name}" in result.stdout
    assert result.stdout.strip().endswith("False")


def _photos(folder: Path, count: int, seed: int, gray: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        base = rng.integers(0, 256, size=(1, 1, 3))
        ramp = np.linspace(0, 1, 48)[None, :, None]
        pixels = np.clip(base * (0.5 + ramp) + rng.normal(0, 8, (40, 48, 3)), 0, 255).astype(np.uint8)
        if gray:
            pixels = np.repeat(pixels.mean(axis=-1, keepdims=True), 3, axis=-1).astype(np.uint8)
        paths.append(folder / f"photo_{index:02d}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def test_baseline_then_evaluate_prints_the_gray_baseline(tmp_path: Path, capsys) -> None:
    _photos(tmp_path / "truth", 4, seed=0)
    assert cli.main(["baseline", "gray", str(tmp_path / "truth"), "--out", str(tmp_path / "gray")]) == 0
    assert sorted(path.name for path in (tmp_path / "gray").iterdir()) == [
        f"photo_{i:02d}.png" for i in range(4)
    ]
    capsys.readouterr()
    assert (
        cli.main(["evaluate", str(tmp_path / "truth"), str(tmp_path / "gray"), "--json", "--size", "32"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 4 and summary["colorfulness"] == 0.0 and summary["colorfulness_truth"] > 0


def test_mean_ab_baseline_needs_training_photos(tmp_path: Path, capsys) -> None:
    _photos(tmp_path / "truth", 2, seed=0)
    assert cli.main(["baseline", "mean-ab", str(tmp_path / "truth"), "--out", str(tmp_path / "m")]) == 2
    assert "--train" in capsys.readouterr().err


def test_missing_dataset_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "No dataset at" in error and "colorlib demo-data" in error


@pytest.mark.slow
def test_train_then_colorize_on_a_small_dataset(tmp_path: Path, capsys) -> None:
    dataset = tmp_path / "photos"
    _photos(dataset / COLOR_CLASS_DIR, 8, seed=1)
    gray = _photos(dataset / GRAY_CLASS_DIR, 2, seed=2, gray=True)
    run = tmp_path / "run"
    args = ["train", str(dataset), "--out", str(run), "--image-size", "64", "--epochs", "2"]
    args += ["--batch-size", "4", "--encoder-weights", "none"]
    assert cli.main(args) == 0
    assert "Trained 2 epochs" in capsys.readouterr().out
    model = run / "model" / "colorizer.keras"
    assert model.is_file() and json.loads((run / "split.json").read_text())["gray"] == [str(p) for p in gray]

    assert cli.main([*args[:-4], "--epochs", "3", "--batch-size", "4", "--encoder-weights", "none"]) == 0
    printed = capsys.readouterr().out
    assert "Resuming from the backup after epoch 2 of 3" in printed and "Trained 3 epochs" in printed

    out = tmp_path / "colorized"
    assert (
        cli.main(["colorize", str(dataset / GRAY_CLASS_DIR), "--out", str(out), "--model", str(model)]) == 0
    )
    assert sorted(path.name for path in out.iterdir()) == ["photo_00.png", "photo_01.png"]
    assert Image.open(out / "photo_00.png").size == (48, 40)
