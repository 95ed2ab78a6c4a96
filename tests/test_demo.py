"""colorlib.data.demo: the offline demo dataset built from photos inside installed packages."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from colorlib import cli
from colorlib.core import io
from colorlib.core.config import COLOR_CLASS_DIR, GRAY_CLASS_DIR
from colorlib.data import demo, images


def available(class_dir: str) -> list[str]:
    """The named photos of a class that this environment's packages hold."""
    return sorted(
        photo.name
        for photo in demo.demo_photos()
        if photo.class_dir == class_dir and photo.source is not None and photo.source.is_file()
    )


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.build_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


def test_all_named_photos_ship_with_the_pinned_packages() -> None:
    expected = len(demo.SKIMAGE_COLOR_PHOTOS) + len(demo.SKLEARN_COLOR_PHOTOS)
    assert len(available(COLOR_CLASS_DIR)) == expected == 9
    assert len(available(GRAY_CLASS_DIR)) == len(demo.SKIMAGE_GRAY_PHOTOS) == 8


def test_demo_dataset_has_both_classes_with_the_expected_photos(demo_root: Path) -> None:
    dataset = images.find_dataset(demo_root)
    assert dataset.layout == "class folders"
    assert [path.name for path in dataset.color_files] == available(COLOR_CLASS_DIR)
    assert [path.name for path in dataset.gray_files] == available(GRAY_CLASS_DIR)
    assert len(dataset.color_files) >= 5 and len(dataset.gray_files) >= 5


def test_class_0_is_colour_and_class_1_is_gray(demo_root: Path) -> None:
    dataset = images.find_dataset(demo_root)
    for path in dataset.color_files:
        rgb = images.load_rgb(path)
        assert rgb.ndim == 3 and min(rgb.shape[:2]) >= 256
        assert not images.is_grayscale(rgb), path.name
    for path in dataset.gray_files:
        assert images.is_grayscale(images.load_rgb(path)), path.name


def test_photos_are_byte_copies_listed_in_sources(demo_root: Path) -> None:
    photos = {f"{photo.class_dir}/{photo.name}": photo for photo in demo.demo_photos()}
    with open(demo_root / demo.SOURCES_FILE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["file"] for row in rows) == sorted(
        [f"{COLOR_CLASS_DIR}/{name}" for name in available(COLOR_CLASS_DIR)]
        + [f"{GRAY_CLASS_DIR}/{name}" for name in available(GRAY_CLASS_DIR)]
    )
    for row in rows:
        photo = photos[row["file"]]
        assert row["origin"] == photo.origin and row["package"] == photo.package
        assert io.file_hash(demo_root / row["file"]) == io.file_hash(photo.source)


def test_second_call_reuses_the_folder_and_overwrite_rewrites(tmp_path, capsys) -> None:
    root = demo.build_demo_dataset(tmp_path / "demo")
    total = len(available(COLOR_CLASS_DIR)) + len(available(GRAY_CLASS_DIR))
    first = capsys.readouterr().out
    assert first.count("\n") == 1 and f"({total} written, 0 already there)" in first
    state = {path: path.stat().st_mtime_ns for path in root.rglob("*")}

    assert demo.build_demo_dataset(tmp_path / "demo") == root
    assert f"(0 written, {total} already there)" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*")} == state

    (root / GRAY_CLASS_DIR / "moon.png").unlink()  # an interrupted build is completed
    demo.build_demo_dataset(root)
    assert f"(1 written, {total - 1} already there)" in capsys.readouterr().out

    demo.build_demo_dataset(root, overwrite=True)
    assert f"({total} written, 0 already there)" in capsys.readouterr().out
    assert not list(root.rglob(".*"))  # no temporary files left behind


def test_relative_and_default_roots_are_under_the_project_root(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(demo, "SKIMAGE_COLOR_PHOTOS", ("chelsea.png",))
    monkeypatch.setattr(demo, "SKLEARN_COLOR_PHOTOS", ())
    monkeypatch.setattr(demo, "SKIMAGE_GRAY_PHOTOS", ("coins.png",))
    monkeypatch.setattr(demo, "project_root", lambda: tmp_path)
    assert demo.build_demo_dataset() == tmp_path / "data" / "demo"
    assert demo.build_demo_dataset("elsewhere") == tmp_path / "elsewhere"
    assert (tmp_path / "elsewhere" / COLOR_CLASS_DIR / "chelsea.png").is_file()


def test_absent_or_misclassified_photos_are_skipped_with_a_message(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(demo, "SKIMAGE_COLOR_PHOTOS", ("chelsea.png", "camera.png"))
    monkeypatch.setattr(demo, "SKLEARN_COLOR_PHOTOS", ("no_such_photo.jpg",))
    monkeypatch.setattr(demo, "SKIMAGE_GRAY_PHOTOS", ("coins.png",))
    root = demo.build_demo_dataset(tmp_path / "demo")
    out = capsys.readouterr().out
    assert "skipped no_such_photo.jpg: not in scikit-learn" in out
    assert "skipped camera.png: looks grayscale" in out
    assert "1 colour photos" in out and "1 grayscale photos" in out
    assert sorted(path.name for path in root.rglob("*.*")) == [
        "chelsea.png",
        "coins.png",
        demo.SOURCES_FILE,
    ]


def test_demo_data_command_returns_exit_status(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(demo, "SKIMAGE_COLOR_PHOTOS", ("chelsea.png",))
    monkeypatch.setattr(demo, "SKLEARN_COLOR_PHOTOS", ())
    monkeypatch.setattr(demo, "SKIMAGE_GRAY_PHOTOS", ())
    assert cli.main(["demo-data", "--out", str(tmp_path / "demo")]) == 0
    assert "Demo dataset in" in capsys.readouterr().out

    monkeypatch.setattr(demo, "SKIMAGE_COLOR_PHOTOS", ())
    assert cli.main(["demo-data", "--out", str(tmp_path / "empty")]) == 1
    assert "None of the demo colour photos" in capsys.readouterr().err
