"""The photos the notebooks' figures show: examples, comparison rows, best and worst images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from colorlib.color import lab
from colorlib.core import io
from colorlib.core.config import PIXEL_MAX
from colorlib.data import augment, images

#: Longest side of the photos in figures, in pixels.
DISPLAY_SIDE = 384


def load_examples(paths: Sequence[Path | str], size: int) -> np.ndarray:
    """A few photos resized for the model: float32 ``(N, size, size, 3)`` in [0, 1]."""
    if not paths:
        raise ValueError("No photos to show: the list of paths is empty.")
    return np.stack([images.load_resized(path, size) for path in paths])


def augmentation_views(path: Path | str, count: int, seed: int, max_rotation: float) -> list:
    """The augmentations of views 1..count of a photo, exactly as the feature cache makes them."""
    key = io.file_hash(path)
    return [augment.view_params(key, view, seed, max_rotation) for view in range(1, count + 1)]


def load_for_display(path: Path | str, max_side: int = DISPLAY_SIDE) -> np.ndarray:
    """A photo for a figure, aspect ratio kept, at most ``max_side`` pixels: uint8 ``(H, W, 3)``."""
    image = images.open_image(path, draft_size=max_side).convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def gray_version(rgb: np.ndarray) -> np.ndarray:
    """What the model sees of a colour photo: its L channel as a gray RGB image, float32 [0, 1]."""
    rgb = np.asarray(rgb, dtype=np.float32) / (PIXEL_MAX if np.asarray(rgb).dtype == np.uint8 else 1.0)
    return lab.gray_rgb_from_l(lab.split_lab(rgb)[0])


def comparison_rows(
    predictions: Sequence[Path | str], truths: Sequence[Path | str] | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """``(gray input, colorized, original)`` rows for :func:`colorlib.reports.slider.sliders_html`
    and the figures.

    With ``truths`` (colour originals, matched to the predictions by file stem) the input
    is the original's L shown in gray and the original is the third panel; without, the
    input is the prediction's own L (the real grayscale photo it was made from, since
    colorizing keeps L) and there is no original.
    """
    by_stem = {Path(truth).stem: truth for truth in truths or []}
    rows = []
    for prediction in predictions:
        colorized = load_for_display(prediction)
        truth = by_stem.get(Path(prediction).stem)
        if truths is not None and truth is None:
            raise ValueError(f"No original among the truths for the prediction {prediction}.")
        original = load_for_display(truth) if truth is not None else None
        rows.append((gray_version(colorized if original is None else original), colorized, original))
    return rows


def scored_rows(scored: Sequence[Mapping[str, Any]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Comparison rows of scored images (rows of ``EvaluationResult.per_image``)."""
    return comparison_rows([row["prediction"] for row in scored], [row["truth"] for row in scored])


def ranked(per_image: Sequence[Mapping[str, Any]], key: str = "auc", count: int = 3) -> dict[str, list]:
    """The ``count`` best and worst images by ``key`` (higher is better), best first in each.

    Returns ``{"best": rows, "worst": rows}``; ``worst`` starts with the very worst.
    """
    if not per_image:
        raise ValueError("No scored images to rank.")
    order = sorted(per_image, key=lambda row: row[key], reverse=True)
    return {"best": order[:count], "worst": order[::-1][:count]}
