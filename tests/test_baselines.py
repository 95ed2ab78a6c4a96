"""colorlib.evaluation.baselines: the gray and mean-ab baselines, scored by colorlib.evaluation.metrics."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from colorlib.color.lab import rgb_to_lab
from colorlib.core.config import shared_data_dir
from colorlib.data.images import list_images
from colorlib.evaluation import baselines, metrics

KODAK24 = shared_data_dir() / "benchmarks" / "kodak24"


def _colour_image(size: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    return (np.stack([x, y, 1 - x * y], axis=-1) * 200 + 30).astype(np.uint8)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(rgb.astype(np.float32) / 255)


def test_gray_prediction_has_no_colour_and_keeps_lightness():
    rgb = _colour_image()
    gray = baselines.gray_prediction(rgb)
    assert gray.dtype == np.uint8 and gray.shape == rgb.shape
    assert metrics.colorfulness(rgb) > 20
    assert metrics.colorfulness(gray) == 0.0
    # One 8-bit level moves L by at most about 0.4, so rounding keeps L within 0.5.
    assert np.abs(_lab(gray)[..., 0] - _lab(rgb)[..., 0]).max() < 0.5


def test_mean_ab_prediction_has_the_given_colour_and_keeps_lightness():
    rgb = np.full((8, 8, 3), 128, dtype=np.uint8)
    rgb[4:] = 90
    pred = baselines.mean_ab_prediction(rgb, (10.0, 20.0))
    lab = _lab(pred)
    np.testing.assert_allclose(lab[..., 1:], np.broadcast_to([10.0, 20.0], (8, 8, 2)), atol=1.0)
    np.testing.assert_allclose(lab[..., 0], _lab(rgb)[..., 0], atol=0.5)
    with pytest.raises(ValueError, match="two finite numbers"):
        baselines.mean_ab_prediction(rgb, (np.nan, 0.0))


def test_mean_ab_of_constant_colour_images_is_that_colour(tmp_path):
    colour = np.array([200, 80, 40], dtype=np.uint8)
    image = np.broadcast_to(colour, (20, 30, 3)).copy()
    paths = [tmp_path / "one.png", tmp_path / "two.png"]
    for path in paths:
        Image.fromarray(image).save(path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"")
    expected = _lab(colour.reshape(1, 1, 3))[0, 0, 1:]  # about (40.6, 48.3)
    a, b = baselines.mean_ab([*paths, broken], image_size=16, progress=False)
    assert (a, b) == pytest.approx(tuple(expected), abs=0.05)
    assert baselines.mean_ab([image], image_size=16, progress=False) == pytest.approx((a, b))
    with pytest.raises(ValueError, match="No training image"):
        baselines.mean_ab([broken], progress=False)


def test_write_baseline_predictions_keeps_stems_and_skips_bad_files(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.fromarray(_colour_image()).save(inputs / "photo.jpg")
    (inputs / "bad.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    written = baselines.write_baseline_predictions(
        sorted(inputs.iterdir()), out, "mean_ab", mean_ab=(5.0, -5.0), size=16, progress=False
    )
    assert written == [out / "photo.png"]
    assert np.asarray(Image.open(written[0])).shape == (16, 16, 3)
    with pytest.raises(ValueError, match="needs mean_ab"):
        baselines.write_baseline_predictions(written, out, "mean_ab")
    with pytest.raises(ValueError, match="Unknown baseline"):
        baselines.write_baseline_predictions(written, out, "sepia")


def test_evaluate_baselines_scores_gray_and_mean_ab(tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    for index in range(2):
        Image.fromarray(np.rot90(_colour_image(), index).copy()).save(truth / f"{index}.png")
    results = baselines.evaluate_baselines(
        list_images(truth), tmp_path / "pred", mean_ab=(10.0, 10.0), size=16, progress=False
    )
    assert list(results) == ["gray", "mean ab"]
    gray = results["gray"].summary
    assert gray["n"] == 2 and gray["colorfulness"] == 0.0
    assert gray["delta_colorfulness"] == pytest.approx(gray["colorfulness_truth"])
    assert 0 < results["mean ab"].summary["colorfulness"] < gray["colorfulness_truth"]


@pytest.mark.shared_data
@pytest.mark.skipif(not KODAK24.is_dir(), reason=f"Kodak24 not found at {KODAK24}")
def test_gray_baseline_on_kodak24(tmp_path):
    photos = list_images(KODAK24)
    preds = baselines.write_baseline_predictions(photos, tmp_path, "gray", progress=False)
    result = metrics.evaluate(photos, preds, progress=False)
    summary = result.summary
    assert summary["n"] == 24 and not result.skipped and not result.grayscale
    assert summary["colorfulness"] == 0.0
    assert summary["colorfulness_truth"] > 10
    assert 18 < summary["psnr"] < 35
    assert 0.8 < summary["ssim"] <= 1.0
    assert 50 < summary["auc"] < 100
