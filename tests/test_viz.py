"""Figures: each one returns a Figure with the expected panels and saves a real PNG."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import skimage.data
from matplotlib.figure import Figure
from PIL import Image

from colorlib.data.augment import view_params
from colorlib.reports import charts, viz

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
    fig = charts.metrics_bar_chart(table)
    assert len(fig.axes) == 4
    psnr_bars = fig.axes[0].patches
    assert [bar.get_height() for bar in psnr_bars] == [24.1, 23.0, 22.5]
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == list(table)
    assert len(charts.metrics_bar_chart(table, metrics=["ssim"]).axes) == 1
    with pytest.raises(ValueError, match="None of the requested metrics"):
        charts.metrics_bar_chart(table, metrics=["nope"])
    assert_saves_png(fig, tmp_path)


#: Three methods close together, as on a real run: the charts of differences must show who is ahead.
CLOSE_TABLE = {
    "model": {
        "n": 2,
        "psnr": 24.4,
        "ssim": 0.910,
        "auc": 88.0,
        "colorfulness": 20.0,
        "colorfulness_truth": 40.0,
    },
    "gray": {
        "n": 2,
        "psnr": 24.0,
        "ssim": 0.912,
        "auc": 87.0,
        "colorfulness": 0.0,
        "colorfulness_truth": 40.0,
    },
    "mean ab": {
        "n": 2,
        "psnr": 23.8,
        "ssim": 0.905,
        "auc": None,
        "colorfulness": 5.0,
        "colorfulness_truth": 40.0,
    },
}


def per_image_rows(offset: float) -> list[dict]:
    return [
        {
            "name": name,
            "psnr": 24.0 + offset + shift,
            "ssim": 0.9,
            "auc": 87.0,
            "colorfulness": 10 * offset,
            "colorfulness_truth": 40.0,
        }
        for name, shift in (("a", -0.5), ("b", 0.5))
    ]


def test_delta_chart_draws_each_method_minus_gray_with_a_dot_per_photo(tmp_path):
    per_image = {"model": per_image_rows(0.4), "gray": per_image_rows(0.0), "mean ab": per_image_rows(-0.2)}
    fig = charts.metrics_delta_chart(CLOSE_TABLE, per_image=per_image)
    assert len(fig.axes) == 4
    psnr, ssim, auc, colorfulness = fig.axes
    np.testing.assert_allclose([bar.get_height() for bar in psnr.patches], [0.4, -0.2], atol=1e-9)
    assert [label.get_text() for label in psnr.get_xticklabels()] == ["model", "mean ab"]
    assert "gray = 24" in psnr.get_title() and "PSNR" in psnr.get_title()
    assert ssim.patches[0].get_height() < 0  # the model is behind gray on SSIM: the bar goes down
    np.testing.assert_allclose(psnr.collections[0].get_offsets()[:, 1], [0.4, 0.4])  # per-photo Δ
    assert np.isnan(auc.patches[1].get_height())  # no AuC for mean ab: no bar
    originals = [line.get_ydata()[0] for line in colorfulness.get_lines() if line.get_linestyle() == "--"]
    assert originals == [40.0]
    colours = charts.method_colours(list(CLOSE_TABLE))
    assert psnr.patches[0].get_facecolor() == colours["model"]
    assert psnr.patches[1].get_facecolor() == colours["mean ab"]
    with pytest.raises(ValueError, match="no 'nope' row"):
        charts.metrics_delta_chart(CLOSE_TABLE, baseline="nope")
    assert_saves_png(fig, tmp_path)


def test_scatter_has_a_point_per_photo_and_method(tmp_path):
    per_image = {"model": per_image_rows(0.4), "gray": per_image_rows(0.0)}
    fig = charts.metrics_scatter(per_image)
    (ax,) = fig.axes
    assert [len(points.get_offsets()) for points in ax.collections] == [2, 2]
    assert ax.get_xlabel() == "Colorfulness" and "PSNR" in ax.get_ylabel()
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "model (2)",
        "gray (2)",
        "originals (mean)",
    ]
    with pytest.raises(ValueError, match="at least one method"):
        charts.metrics_scatter({})
    assert_saves_png(fig, tmp_path)


def test_png_base64_is_a_png():
    import base64

    fig = charts.metrics_scatter({"model": per_image_rows(0.0)})
    assert base64.b64decode(viz.png_base64(fig)).startswith(PNG_SIGNATURE)


def test_slider_embeds_three_jpegs_and_a_script_with_its_own_id(rgb):
    import base64
    import io

    from colorlib.reports import slider

    gray = rgb.mean(axis=-1).astype(np.uint8)
    html = slider.slider_html(gray, rgb, rgb / 255.0, title="astronaut\nauc 81.2")
    ids = re.findall(r'<figure class="cl-slider" id="(cl-[0-9a-f]+)"', html)
    assert len(ids) == 1 and f'document.getElementById("{ids[0]}")' in html
    images = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    for encoded in images:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            assert image.format == "JPEG" and image.size == (64, 48)
    assert "astronaut<br>auc 81.2" in html and 'type="range"' in html and "original" in html
    assert "http" not in html  # nothing to fetch
    without_original = slider.slider_html(gray, rgb)
    assert (
        len(re.findall(r"data:image/jpeg", without_original)) == 2 and 'type="radio"' not in without_original
    )


def test_slider_photos_are_at_most_max_side_and_gray_is_one_channel():
    import base64
    import io

    from colorlib.reports import slider

    big = np.zeros((1200, 900, 3), np.uint8)
    big[..., 0] = 200
    gray = np.full((1200, 900, 3), 0.5, np.float32)
    encoded = re.findall(r'base64,([A-Za-z0-9+/=]+)"', slider.slider_html(gray, big))
    with Image.open(io.BytesIO(base64.b64decode(encoded[1]))) as image:  # the gray layer
        assert image.size == (384, 512) and image.mode == "L"
    with Image.open(io.BytesIO(base64.b64decode(encoded[0]))) as image:  # the colorized photo
        assert image.mode == "RGB"


def test_sliders_grid_has_unique_ids_and_says_what_it_leaves_out(rgb):
    from colorlib.reports import slider

    rows = [(rgb, rgb, None)] * 3
    html = slider.sliders_html(rows, titles=["a", "b", "c"], max_count=2)
    ids = re.findall(r'<figure class="cl-slider" id="(cl-[0-9a-f]+)"', html)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert "The first 2 of 3 photos." in html and html.count("<style>") == 1
    assert "The first 3 of 10 photos." in slider.sliders_html(rows, total=10)
    with pytest.raises(ValueError, match="one per row"):
        slider.sliders_html(rows, titles=["a"])
    with pytest.raises(ValueError, match="at least one"):
        slider.sliders_html([])


def test_scored_sliders_load_only_the_photos_shown_and_show_their_scores(rgb, tmp_path):
    from colorlib.reports import slider

    photo = tmp_path / "astronaut.png"
    Image.fromarray(rgb).save(photo)
    missing = tmp_path / "never-read.png"  # past max_count: must not be opened
    scored = [{"name": "astronaut", "truth": photo, "prediction": photo, "auc": 81.24, "psnr": 24.1}] * 2
    scored.append({"name": "never", "truth": missing, "prediction": missing, "auc": 1.0, "psnr": 1.0})
    html = slider.scored_sliders_html(scored, max_count=2)
    assert len(re.findall(r'<figure class="cl-slider"', html)) == 2
    assert "astronaut<br>auc 81.2, psnr 24.1" in html and "The first 2 of 3 photos." in html


def test_gan_epochs_chart_draws_each_epoch_with_the_originals_colorfulness():
    rows = [
        {"epoch": e, "colorfulness": c, "colorfulness_truth": 41.0, "psnr": p, "auc": a}
        for e, c, p, a in ((0, 25.0, 22.5, 89.0), (1, 28.0, 22.4, 89.1), (2, 31.0, 22.1, 88.7))
    ]
    fig = charts.gan_epochs_chart(rows)
    axes = fig.axes
    assert len(axes) == 3
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [25.0, 28.0, 31.0])
    np.testing.assert_allclose(axes[0].lines[1].get_ydata(), [41.0, 41.0])  # the dashed target
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), [22.5, 22.4, 22.1])
    assert list(axes[2].get_xticks()) == [0, 1, 2]
    with pytest.raises(ValueError, match="no epoch scores"):
        charts.gan_epochs_chart([])
