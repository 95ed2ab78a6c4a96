"""Baselines the model is compared with, scored by the same code (:mod:`colorlib.evaluation.metrics`).

- ``gray``: the input's lightness L with ab = 0, a neutral-gray photo.
- ``mean_ab``: the input's L with one constant ab, the mean ab of the training images.
- The model as the original project specified it (the plain decoder trained with MSE)
  is the project's model itself; its predictions come from :mod:`colorlib.colorize.colorize`.

Predictions are written as PNG files named by the input's stem, so that
:func:`colorlib.evaluation.metrics.evaluate` pairs them with the truth like the model's outputs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from colorlib.color.lab import check_rgb8, lab_to_rgb_fast, rgb_to_lab_fast, to_uint8
from colorlib.core.config import IMAGE_SIZE, PIXEL_MAX
from colorlib.core.io import atomic_write
from colorlib.data.images import ImageLoadError, load_resized, load_rgb, resize_rgb
from colorlib.evaluation.metrics import EvaluationResult, evaluate

#: Baseline methods of :func:`write_baseline_predictions`, and their names in result tables.
BASELINE_LABELS = {"gray": "gray", "mean_ab": "mean ab"}


def _with_constant_ab(rgb: np.ndarray, a: float, b: float) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 RGB [0, 1] with the same L and CIE ab = (a, b) everywhere."""
    lab = rgb_to_lab_fast(check_rgb8(rgb).astype(np.float32) / np.float32(PIXEL_MAX))
    lab[..., 1] = a
    lab[..., 2] = b
    return lab_to_rgb_fast(lab)


def gray_prediction(rgb: np.ndarray) -> np.ndarray:
    """The gray baseline: uint8 (H, W, 3) -> uint8 (H, W, 3) with the same L and ab = 0.

    ab = 0 is neutral gray, R = G = B. The conversion matrices leave the three channels
    about 1e-4 apart, which rounding can turn into one level; the channels are set to
    their mean so that the output is exactly gray (colorfulness 0).
    """
    rgb = _with_constant_ab(rgb, 0.0, 0.0)
    gray = rgb.mean(axis=-1, keepdims=True)
    return to_uint8(np.repeat(gray, 3, axis=-1))


def mean_ab_prediction(rgb: np.ndarray, mean_ab: Sequence[float]) -> np.ndarray:
    """The mean-ab baseline: uint8 (H, W, 3) -> uint8 (H, W, 3), same L, ab = ``mean_ab``.

    ``mean_ab`` is (a, b) in CIE units (about ±128), as :func:`mean_ab` returns. Where that
    colour does not exist at a pixel's lightness (near black or white) sRGB clips it.
    """
    values = np.asarray(mean_ab, dtype=np.float64)
    if values.shape != (2,) or not np.all(np.isfinite(values)):
        raise ValueError(f"mean_ab must be two finite numbers (a, b), got {mean_ab!r}.")
    return to_uint8(_with_constant_ab(rgb, float(values[0]), float(values[1])))


def mean_ab(
    images: Iterable[Path | str | np.ndarray], image_size: int = IMAGE_SIZE, progress: bool = True
) -> tuple[float, float]:
    """Mean CIE (a, b) over the pixels of the training images, each resized to ``image_size``.

    ``images``: paths (read with :func:`colorlib.data.images.load_resized`, as training reads them)
    or uint8 (H, W, 3) arrays. They are read one at a time; a file that cannot be read is
    reported on one line and skipped. Raises ValueError when no image could be read.
    """
    total = np.zeros(2, dtype=np.float64)
    pixels = skipped = 0
    for item in tqdm(images, desc="mean ab", unit="image", disable=not progress):
        if isinstance(item, np.ndarray):
            rgb = resize_rgb(check_rgb8(item), image_size)
        else:
            try:
                rgb = load_resized(item, image_size)
            except ImageLoadError as error:
                skipped += 1
                tqdm.write(f"skipped {error.path}: {error.reason}", file=sys.stderr)
                continue
        ab = rgb_to_lab_fast(rgb)[..., 1:].reshape(-1, 2)
        total += ab.sum(axis=0, dtype=np.float64)
        pixels += ab.shape[0]
    if pixels == 0:
        raise ValueError(f"No training image could be read ({skipped} skipped); check the paths.")
    a, b = total / pixels
    return float(a), float(b)


def write_baseline_predictions(
    inputs: Sequence[Path | str],
    out_dir: Path | str,
    method: str,
    mean_ab: Sequence[float] | None = None,
    size: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Write a baseline's prediction of each input as ``out_dir/<stem>.png``; return the paths.

    ``method`` is ``"gray"`` or ``"mean_ab"`` (which needs ``mean_ab``, CIE (a, b)).
    ``size`` None keeps each input's resolution, else inputs are resized to size × size.
    Unreadable inputs, and inputs whose stem was already used, are reported and skipped.
    """
    if method not in BASELINE_LABELS:
        raise ValueError(f"Unknown baseline {method!r}; choose one of {sorted(BASELINE_LABELS)}.")
    if method == "mean_ab" and mean_ab is None:
        raise ValueError("The mean_ab baseline needs mean_ab=(a, b); compute it with mean_ab().")
    out_dir = Path(out_dir)
    written: list[Path] = []
    for path in tqdm(list(map(Path, inputs)), desc=method, unit="image", disable=not progress):
        target = out_dir / f"{path.stem}.png"
        if target in written:
            tqdm.write(f"skipped {path}: another input has the stem '{path.stem}'", file=sys.stderr)
            continue
        try:
            rgb = load_rgb(path) if size is None else to_uint8(load_resized(path, size))
        except ImageLoadError as error:
            tqdm.write(f"skipped {error.path}: {error.reason}", file=sys.stderr)
            continue
        pred = gray_prediction(rgb) if method == "gray" else mean_ab_prediction(rgb, mean_ab)
        with atomic_write(target) as temporary:
            Image.fromarray(pred).save(temporary, format="PNG")
        written.append(target)
    return written


def evaluate_baselines(
    truth_paths: Sequence[Path | str],
    out_root: Path | str,
    mean_ab: Sequence[float] | None = None,
    size: int = IMAGE_SIZE,
    progress: bool = True,
) -> dict[str, EvaluationResult]:
    """Write and score the baselines of ``truth_paths``: ``{"gray": ..., "mean ab": ...}``.

    Predictions go to ``out_root/gray/`` and ``out_root/mean_ab/`` at the truths' resolution;
    the mean-ab baseline is left out when ``mean_ab`` is None. ``size``: the scoring size.
    """
    results = {}
    for method, label in BASELINE_LABELS.items():
        if method == "mean_ab" and mean_ab is None:
            continue
        out_dir = Path(out_root) / method
        preds = write_baseline_predictions(truth_paths, out_dir, method, mean_ab, None, progress)
        results[label] = evaluate(truth_paths, preds, size=size, progress=progress)
    return results
