"""Figures: each one returns a Figure with the expected panels and saves a real PNG."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import skimage.data
from matplotlib.figure import Figure
from PIL import Image

from colorlib import viz
from colorlib.augment import view_params

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return np.asarray(Image.fromarray(skimage.data.astronaut()).resize((64, 48)))


@pytest.fixture(autouse=True)
def no_figure_left_open():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before, "a figure was left registered in pyplot"


def image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.images]


def assert_saves_png(fig: Figure, folder: Path) -> None:
    path = folder / "figures" / "figure.png"
    saved = viz.save_figure(fig, path)
    assert saved == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2000
    with Image.open(path) as image:
        assert image.width > 100 and image.height > 100
    assert [p.name for p in path.parent.iterdir()] == [path.name], "temporary file left behind"


def test_side_by_side_has_two_or_three_panels_without_ticks(rgb, tmp_path):
    gray = rgb.mean(axis=-1).astype(np.uint8)
    fig = viz.side_by_side(gray, rgb, rgb, title="astronaut")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["grayscale input", "colorized", "original"]
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in fig.axes)
    assert fig.get_suptitle() == "astronaut"
    assert len(viz.side_by_side(gray, rgb / 255.0).axes) == 2
    assert_saves_png(fig, tmp_path)


def test_comparison_grid_rows_columns_and_limit(rgb, tmp_path):
    rows = [(rgb, rgb, rgb), (rgb, rgb, None), (rgb, rgb, rgb)]
    fig = viz.comparison_grid(rows, titles=["a", "b", "c"])
    assert len(fig.axes) == 9 and len(image_axes(fig)) == 8
    assert [fig.axes[i].get_ylabel() for i in (0, 3, 6)] == ["a", "b", "c"]
    limited = viz.comparison_grid(rows, max_rows=2)
    assert len(limited.axes) == 6 and "first 2 of 3" in limited.get_suptitle()
    assert len(viz.comparison_grid([(rgb, rgb, None)]).axes) == 2
    with pytest.raises(ValueError, match="one per row"):
        viz.comparison_grid(rows, titles=["only one"])
    assert_saves_png(fig, tmp_path)


def test_lab_channels_has_rgb_l_a_b_and_a_colorbar_per_channel(rgb, tmp_path):
    fig = viz.show_lab_channels([rgb, rgb[::-1]])
    assert len(image_axes(fig)) == 8
    assert len(fig.axes) == 8 + 3
    titles = [ax.get_title() for ax in fig.axes[:4]]
    assert titles == ["RGB", "L channel", "a channel", "b channel"]
    l_image = fig.axes[1].images[0]
    assert l_image.get_clim() == (0.0, 100.0)
    low, high = fig.axes[2].images[0].get_clim()
    assert low == -high and high >= 10
    with pytest.raises(ValueError, match="RGB"):
        viz.show_lab_channels([rgb[..., 0]])
    assert_saves_png(fig, tmp_path)


def test_augmentations_show_the_photo_and_each_view(rgb, tmp_path):
    params = [view_params("astronaut", view) for view in range(1, 6)]
    fig = viz.show_augmentations(rgb, params)
    assert len(fig.axes) == 6
    assert fig.axes[0].get_title() == "original"
    assert any("rotate" in ax.get_title() for ax in fig.axes[1:])
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), rgb / 255.0, atol=1e-6)
    assert_saves_png(fig, tmp_path)


def test_feature_maps_show_the_most_active_channels(tmp_path):
    features = np.zeros((8, 8, 512), np.float32)
    features[..., 7] = 5.0
    features[..., 300] = 3.0
    fig = viz.show_feature_maps(features, n=16)
    assert len(fig.axes) == 16
    assert [ax.get_title() for ax in fig.axes[:2]] == ["channel 7", "channel 300"]
    with pytest.raises(ValueError, match="one image"):
        viz.show_feature_maps(features[None])
    assert_saves_png(fig, tmp_path)


def test_history_from_dict_and_from_csvlogger_file(tmp_path):
    history = {"loss": [0.05, 0.03, 0.02], "val_loss": [0.06, 0.035, 0.04]}
    fig = viz.plot_history(history)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()[:2]] == ["training", "validation"]
    assert ax.get_xlabel() == "epoch" and "loss" in ax.get_ylabel()
    path = tmp_path / "history.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "learning_rate", "loss", "val_loss"])
        for epoch, (loss, val) in enumerate(zip(history["loss"], history["val_loss"], strict=True)):
            writer.writerow([epoch, 2e-4, loss, val])
    from_csv = viz.plot_history(path)
    np.testing.assert_allclose(from_csv.axes[0].get_lines()[1].get_ydata(), history["val_loss"])
    with pytest.raises(FileNotFoundError, match="notebook 03"):
        viz.plot_history(tmp_path / "missing.csv")
    assert_saves_png(fig, tmp_path)


def test_metrics_bar_chart_has_a_panel_per_metric_and_a_bar_per_method(tmp_path):
    table = {
        "model": {"n": 10, "psnr": 24.1, "ssim": 0.91, "auc": 88.0, "colorfulness": 20.0},
        "gray": {"n": 10, "psnr": 23.0, "ssim": 0.93, "auc": 85.0, "colorfulness": 0.0},
        "mean ab": {"n": 10, "psnr": 22.5, "ssim": 0.90, "auc": None, "colorfulness": 5.0},
    }
    fig = viz.metrics_bar_chart(table)
    assert len(fig.axes) == 4
    psnr_bars = fig.axes[0].patches
    assert [bar.get_height() for bar in psnr_bars] == [24.1, 23.0, 22.5]
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == list(table)
    assert len(viz.metrics_bar_chart(table, metrics=["ssim"]).axes) == 1
    with pytest.raises(ValueError, match="None of the requested metrics"):
        viz.metrics_bar_chart(table, metrics=["nope"])
    assert_saves_png(fig, tmp_path)
