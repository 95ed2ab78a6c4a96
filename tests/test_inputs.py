"""The input pipeline: parallel decoding in order, bad files skipped with a message, row reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.data import inputs
from colorlib.data.images import load_resized


def colour_image(seed: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth, clearly coloured uint8 image, different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    phase = rng.uniform(0, 2 * np.pi, 3)
    channels = [0.5 + 0.45 * np.sin(4 * x + 3 * y + p) for p in phase]
    return (np.stack(channels, axis=-1) * 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> list[Path]:
    """Five colour JPEGs/PNGs, one gray photo, and one broken file in the middle."""
    paths = []
    for index in range(5):
        path = tmp_path / f"photo{index}.{'jpg' if index % 2 else 'png'}"
        Image.fromarray(colour_image(index)).save(path)
        paths.append(path)
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(gray)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return [*paths[:2], broken, *paths[2:], gray]


def test_batches_keep_order_shape_and_skip_a_bad_file(folder, capsys):
    report = inputs.LoadReport()
    batches = list(
        inputs.iter_image_batches(folder, 32, batch_size=3, workers=3, progress=False, report=report)
    )
    got_paths = [path for paths, _ in batches for path in paths]
    assert got_paths == [path for path in folder if path.name != "broken.jpg"]
    assert [rgb.shape for _, rgb in batches] == [(3, 32, 32, 3), (3, 32, 32, 3)]
    first = batches[0][1]
    assert first.dtype == np.float32 and 0.0 <= first.min() and first.max() <= 1.0
    np.testing.assert_array_equal(first[0], load_resized(folder[0], 32))
    assert report.skipped == [(str(folder[2]), report.skipped[0][1])]
    assert report.loaded == 6
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == [f"skipped {folder[2]}: {report.skipped[0][1]}"]


def test_scan_separates_colour_gray_and_unreadable(folder):
    colour, report = inputs.scan_images(folder, workers=2, progress=False)
    assert [path.name for path in colour] == [f"photo{i}.{'jpg' if i % 2 else 'png'}" for i in range(5)]
    assert report.grayscale == [str(folder[-1])]
    assert [path for path, _ in report.skipped] == [str(folder[2])]
    assert "1 unreadable skipped, 1 grayscale" in report.summary()


def test_a_missing_file_is_skipped_too(tmp_path):
    report = inputs.LoadReport()
    out = list(
        inputs.map_images(lambda p: p.read_bytes(), [tmp_path / "gone.png"], progress=False, report=report)
    )
    assert out == [] and report.skipped[0][0] == str(tmp_path / "gone.png")


def test_parallel_map_returns_results_in_input_order():
    import time

    def slow_for_small(n: int) -> int:
        time.sleep(0.002 * (10 - n))
        return n * n

    results = [future.result() for _, future in inputs.parallel_map(slow_for_small, range(10), 4, ahead=5)]
    assert results == [n * n for n in range(10)]


def test_npy_rows_reads_rows_like_numpy(tmp_path):
    array = np.arange(5 * 3 * 4, dtype=np.float16).reshape(5, 3, 4)
    path = tmp_path / "rows.npy"
    np.save(path, array)
    rows = inputs.NpyRows(path)
    assert len(rows) == 5 and rows.dtype == np.float16
    np.testing.assert_array_equal(rows.read([4, 0, 2]), array[[4, 0, 2]])
    with pytest.raises(IndexError):
        rows.read([5])


def test_npy_rows_refuses_a_truncated_file(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((4, 8), np.float32))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        inputs.NpyRows(path)


def test_lab_image_dataset_gives_l_and_ab_batches(folder):
    dataset = inputs.LabImageDataset(folder[:2] + folder[3:5], image_size=32, batch_size=3, seed=1)
    assert len(dataset) == 2
    l_norm, ab = dataset[0]
    assert l_norm.shape == (3, 32, 32, 1) and ab.shape == (3, 32, 32, 2)
    assert 0.0 <= l_norm.min() and l_norm.max() <= 1.0 and np.abs(ab).max() <= 1.0
    first_epoch = [list(dataset._order)]
    dataset.on_epoch_end()
    first_epoch.append(list(dataset._order))
    again = inputs.LabImageDataset(folder[:2] + folder[3:5], image_size=32, batch_size=3, seed=1)
    assert list(again._order) == first_epoch[0]  # the same seed gives the same order
    assert sorted(first_epoch[1]) == [0, 1, 2, 3] and first_epoch[1] != first_epoch[0]
