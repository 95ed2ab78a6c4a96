"""colorlib.evaluation.metrics: values worked out by hand on tiny images, and the folder protocol."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image

from colorlib import cli
from colorlib.color.lab import lab_to_rgb_fast, rgb_to_lab_fast
from colorlib.core.config import PIXEL_MAX
from colorlib.evaluation import metrics


def _colour_image(seed: int = 0, size: int = 32) -> np.ndarray:
    """A smooth, clearly coloured uint8 (size, size, 3) image."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    rgb = np.stack([x, y, 1 - x * y], axis=-1) * 200 + 30
    noise = np.random.default_rng(seed).integers(-10, 11, rgb.shape)
    return np.clip(rgb + noise, 0, 255).astype(np.uint8)


def _save(rgb: np.ndarray, path) -> None:
    Image.fromarray(rgb).save(path)


# --- colorfulness ---------------------------------------------------------------------------


def test_colorfulness_of_gray_is_zero():
    gray = np.repeat(np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 4, 3, axis=-1)
    assert metrics.colorfulness(gray) == 0.0


def test_colorfulness_of_red_and_blue_halves_by_hand():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:2] = (255, 0, 0)  # red:  rg = 255, yb = |127.5 - 0| = 127.5
    image[2:] = (0, 0, 255)  # blue: rg = 0,   yb = |0 - 255|   = 255
    # rg in {255, 0}:     mean 127.5,  std 127.5
    # yb in {127.5, 255}: mean 191.25, std 63.75
    # sqrt(127.5² + 63.75²) = 63.75·sqrt(2² + 1²) = 63.75·√5
    # sqrt(127.5² + 191.25²) = 63.75·sqrt(2² + 3²) = 63.75·√13
    expected = 63.75 * math.sqrt(5) + 0.3 * 63.75 * math.sqrt(13)  # ≈ 211.51
    assert metrics.colorfulness(image) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(211.506, abs=1e-3)


def test_colorfulness_refuses_float_images():
    with pytest.raises(ValueError, match="uint8"):
        metrics.colorfulness(np.zeros((4, 4, 3), dtype=np.float32))


# --- PSNR and SSIM --------------------------------------------------------------------------


def test_psnr_of_a_uniform_error_of_five():
    truth = np.full((8, 8, 3), 100, dtype=np.uint8)
    pred = truth + np.uint8(5)  # every value off by 5: MSE = 25
    assert metrics.psnr(truth, pred) == pytest.approx(10 * math.log10(255**2 / 25))  # 34.15 dB


def test_psnr_of_identical_images_is_capped_and_the_mean_stays_finite():
    truth = _colour_image()
    assert metrics.psnr(truth, truth) == metrics.PSNR_CAP_DB
    summary = metrics.summarize([metrics.score_pair(truth, truth), metrics.score_pair(truth, truth // 2)])
    assert math.isfinite(summary["psnr"])
    expected = (metrics.PSNR_CAP_DB + metrics.psnr(truth, truth // 2)) / 2
    assert summary["psnr"] == pytest.approx(expected)


def test_ssim_identical_is_one_and_drops_with_noise():
    truth = _colour_image()
    assert metrics.ssim(truth, truth) == pytest.approx(1.0)
    assert metrics.ssim(truth, _colour_image(seed=1)) < 0.99


def test_pair_of_different_sizes_is_refused():
    with pytest.raises(ValueError, match="differ in size"):
        metrics.psnr(np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8))


# --- AuC of the ab error --------------------------------------------------------------------


def test_auc_of_identical_ab_is_100():
    ab = np.random.default_rng(0).normal(0, 30, (16, 16, 2))
    assert metrics.auc_from_ab(ab, ab) == 100.0


@pytest.mark.parametrize(("offset", "error"), [((3.0, 4.0), 5.0), ((0.0, 2.5), 2.5), ((0.0, -200.0), 200.0)])
def test_auc_of_a_constant_ab_offset(offset, error):
    # Integer ab values, so that truth - pred is exactly the offset.
    truth = np.random.default_rng(1).integers(-60, 60, (16, 16, 2)).astype(np.float64)
    pred = truth + np.array(offset)
    # Every pixel has error d: the fraction is 0 for t < d and 1 for t >= d, so
    # AuC = 100 · #{t in 0..150 : t >= d} / 151 = 100 · max(0, 151 - ceil(d)) / 151.
    expected = 100 * max(0, 151 - math.ceil(error)) / 151
    assert metrics.auc_from_ab(truth, pred) == pytest.approx(expected, abs=1e-12)


def test_auc_of_half_exact_half_off_by_five():
    truth = np.zeros((2, 2, 2))
    pred = truth.copy()
    pred[0] = (3.0, 4.0)  # two pixels off by 5, two exact
    expected = 100 * (0.5 * 151 + 0.5 * 146) / 151
    assert metrics.auc_from_ab(truth, pred) == pytest.approx(expected)


def test_ab_error_auc_on_images_end_to_end():
    # Uniform colours built in LAB: L = 60, ab = (20, 10) against (23, 14), 5 apart.
    lab = np.zeros((16, 16, 3), np.float32)
    lab[..., 0] = 60
    truth_lab, pred_lab = lab.copy(), lab.copy()
    truth_lab[..., 1:] = (20, 10)
    pred_lab[..., 1:] = (23, 14)
    truth = np.rint(lab_to_rgb_fast(truth_lab) * PIXEL_MAX).astype(np.uint8)
    pred = np.rint(lab_to_rgb_fast(pred_lab) * PIXEL_MAX).astype(np.uint8)
    assert metrics.ab_error_auc(truth, truth) == 100.0
    # 8-bit rounding moves ab by well under one unit, so the error stays within 4..6.
    auc = metrics.ab_error_auc(truth, pred)
    assert 100 * (151 - 6) / 151 <= auc <= 100 * (151 - 4) / 151
    ab = [rgb_to_lab_fast(x.astype(np.float32) / 255)[..., 1:] for x in (truth, pred)]
    assert auc == pytest.approx(metrics.auc_from_ab(*ab))


def test_score_pair_keys():
    truth = _colour_image()
    scores = metrics.score_pair(truth, truth)
    assert tuple(scores) == metrics.METRIC_KEYS
    assert scores["auc"] == 100.0 and scores["delta_colorfulness"] == 0.0


# --- folders --------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path):
    """Truth: a, b (colour), c (gray), d (no prediction); predictions: a.jpg, b, c, e (no truth)."""
    truth_dir, pred_dir = tmp_path / "truth", tmp_path / "pred"
    truth_dir.mkdir()
    pred_dir.mkdir()
    a, b = _colour_image(0, 24), _colour_image(1, 24)
    gray = np.repeat(a[..., :1], 3, axis=-1)
    _save(a, truth_dir / "a.png")
    _save(b, truth_dir / "b.png")
    _save(gray, truth_dir / "c.png")
    _save(b, truth_dir / "d.png")
    Image.fromarray(a).save(pred_dir / "a.jpg", quality=95)
    _save(b, pred_dir / "b.png")
    _save(gray, pred_dir / "c.png")
    _save(a, pred_dir / "e.png")
    return truth_dir, pred_dir


def test_evaluate_dirs_matches_by_stem_and_reports_the_rest(folders):
    truth_dir, pred_dir = folders
    result = metrics.evaluate_dirs(truth_dir, pred_dir, size=16, progress=False)
    assert [row["name"] for row in result.per_image] == ["a", "b"]
    assert result.grayscale == [truth_dir / "c.png"]
    assert sorted(path.name for path, _ in result.skipped) == ["d.png", "e.png"]
    assert all("stem" in reason for _, reason in result.skipped)
    summary = result.summary
    assert tuple(summary) == metrics.SUMMARY_KEYS and summary["n"] == 2
    a, b = result.per_image
    assert b["psnr"] == metrics.PSNR_CAP_DB and b["auc"] == 100.0
    assert 30 < a["psnr"] < metrics.PSNR_CAP_DB  # JPEG at quality 95
    assert summary["psnr"] == pytest.approx((a["psnr"] + b["psnr"]) / 2)
    assert result.n_capped == 1


def test_evaluate_dirs_writes_csv_and_reads_it_back(folders, tmp_path):
    result = metrics.evaluate_dirs(*folders, size=16, progress=False)
    assert set(result.summary) == {
        "n", "psnr", "ssim", "colorfulness", "colorfulness_truth", "delta_colorfulness", "auc", "delta_cf"
    }  # fmt: skip
    summary = result.summary
    assert summary["delta_cf"] == pytest.approx(abs(summary["colorfulness"] - summary["colorfulness_truth"]))
    assert summary["delta_cf"] <= summary["delta_colorfulness"] + 1e-9  # the gap of the means is the smaller
    with open(result.write_csv(tmp_path / "out" / "per_image.csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == ["a", "b"]
    assert float(rows[1]["auc"]) == 100.0
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left
    assert metrics.EvaluationResult.read_csv(tmp_path / "out" / "per_image.csv").summary == result.summary


def test_unreadable_prediction_is_skipped(folders):
    truth_dir, pred_dir = folders
    (pred_dir / "b.png").write_bytes(b"not an image")
    result = metrics.evaluate_dirs(truth_dir, pred_dir, size=16, progress=False)
    assert [row["name"] for row in result.per_image] == ["a"]
    assert pred_dir / "b.png" in [path for path, _ in result.skipped]


def evaluate_cli(truth_dir, pred_dir, *options: str) -> int:
    return cli.main(["evaluate", str(truth_dir), str(pred_dir), "--size", "16", *options])


def test_evaluate_command_prints_json_and_fails_without_pairs(folders, tmp_path, capsys):
    truth_dir, pred_dir = folders
    csv_path = tmp_path / "per_image.csv"
    assert evaluate_cli(truth_dir, pred_dir, "--json", "--csv", str(csv_path)) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2
    assert csv_path.is_file()
    assert evaluate_cli(truth_dir, pred_dir) == 0
    assert "PSNR (dB)" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert evaluate_cli(truth_dir, empty) == 1
    assert evaluate_cli(truth_dir, tmp_path / "missing") == 2
    assert "No folder" in capsys.readouterr().err


# --- tables and the written reading ---------------------------------------------------------


def _summary(psnr, colorfulness, truth=40.0, auc=90.0):
    return {
        "n": 10,
        "psnr": psnr,
        "ssim": 0.9,
        "colorfulness": colorfulness,
        "colorfulness_truth": truth,
        "delta_colorfulness": abs(colorfulness - truth),
        "auc": auc,
    }


def test_comparison_table_has_one_row_per_method():
    table = metrics.comparison_table({"model": _summary(24.0, 20.0), "gray": _summary(23.0, 0.0)})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| Method | n | PSNR")
    assert len({line.replace("\\|", "").count("|") for line in lines}) == 1  # every row has the 9 columns
    assert "\\|Δ colorfulness\\| per photo" in lines[0] and "ΔCF (papers)" in lines[0]
    assert lines[2].startswith("| model | 10 | 24.00 | 0.900 | 20.00")


def test_describe_results_says_when_the_model_is_desaturated():
    results = {
        "model": _summary(24.0, 12.0, auc=91.0),
        "gray": _summary(24.5, 0.0, auc=89.0),
    }
    text = metrics.describe_results(results)
    assert "Best PSNR (dB): gray" in text and "Best AuC of ab error (%): model" in text
    assert "desaturated" in text and "Zhang et al., 2016" in text
    vivid = metrics.describe_results({"model": _summary(24.0, 38.0), "gray": _summary(23.0, 0.0)})
    assert "desaturated" not in vivid and "Zhang" not in vivid
