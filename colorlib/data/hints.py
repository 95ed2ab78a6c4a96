"""Colour hints (Zhang, Zhu et al., SIGGRAPH 2017): a few points where the user gives the colour.

A hint-aware decoder (``hints: true``) takes two more planes beside L, at the training size::

    hint_ab    (B, S, S, 2)  float32 in [-1, 1]   the hints' ab (/ 128), 0 elsewhere
    hint_mask  (B, S, S, 1)  float32 in {0, 1}    1 where there is a hint

**Training** simulates them from the true ab of each cached photo (:func:`simulate_hints`), with
the distributions below (written down, as the issue asks; Zhang 2017 draws the count from a
geometric distribution and the patch sides from 1 to 9):

- the number of points: 0 with probability :data:`NO_HINT_PROBABILITY` (1/4), so the automatic
  result stays good; otherwise 1 + a geometric count with success probability
  :data:`GEOMETRIC_P` (1/8, mean 8 points), at most :data:`MAX_HINTS`;
- each point is a square patch with a side drawn uniformly from 1 to :data:`MAX_PATCH` pixels
  at 256 × 256 (scaled with the image size), holding the patch's mean true ab;
- its centre is drawn uniformly over the photo ("spread over the photo").

**Using** hints: :func:`hint_planes` turns points given in the photo's own pixels into the
planes at the model's size, one :data:`USER_PATCH` × :data:`USER_PATCH` patch each.

**The floor** (:func:`propagate_hints`) needs no hint-aware model: it corrects any colorizer's
ab around each hint with a joint-bilateral weight. The hint curve scores it as the baseline a
learned model must beat, and ``colorlib serve`` uses it for colorizers trained without hints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from colorlib.core.config import HINT_AB, HINT_MASK, IMAGE_SIZE, L_MAX, MAX_PATCH, USER_PATCH

#: The share of training photos that get no hint at all.
NO_HINT_PROBABILITY = 0.25
#: Success probability of the geometric count of further points (mean 1 / p).
GEOMETRIC_P = 1 / 8
#: At most this many points per photo.
MAX_HINTS = 50
#: The floor's joint-bilateral weight: σ in pixels at IMAGE_SIZE × IMAGE_SIZE, and in CIE L.
FLOOR_SIGMA_PIXELS = 40.0
FLOOR_SIGMA_L = 10.0


@dataclass(frozen=True)
class Hint:
    """One hint: a point in the photo's pixels (from its top-left corner) and a colour's ab / 128."""

    x: float
    y: float
    ab: tuple[float, float]


def _patch_side(side: int, image_size: int) -> int:
    return max(1, round(side * image_size / IMAGE_SIZE))


def simulate_hints(ab: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hints drawn from true colours, as in training: ab ``(B, S, S, 2)`` float32 in [-1, 1] ->
    ``(hint_ab (B, S, S, 2), hint_mask (B, S, S, 1))`` float32 (see the module for the distributions)."""
    ab = np.asarray(ab, dtype=np.float32)
    if ab.ndim != 4 or ab.shape[-1] != 2:
        raise ValueError(f"ab must be (B, S, S, 2), got shape {ab.shape}.")
    count, height, width = ab.shape[:3]
    hint_ab = np.zeros_like(ab)
    mask = np.zeros((count, height, width, 1), dtype=np.float32)
    for photo in range(count):
        if rng.random() < NO_HINT_PROBABILITY:
            continue
        points = min(MAX_HINTS, int(rng.geometric(GEOMETRIC_P)))
        for _ in range(points):
            side = _patch_side(int(rng.integers(1, MAX_PATCH + 1)), width)
            top = int(rng.integers(0, max(1, height - side + 1)))
            left = int(rng.integers(0, max(1, width - side + 1)))
            patch = (photo, slice(top, top + side), slice(left, left + side))
            hint_ab[patch] = ab[patch].mean(axis=(0, 1))
            mask[patch] = 1.0
    return hint_ab, mask


def hint_planes(
    hints: Sequence[Hint], photo_size: tuple[int, int], image_size: int = IMAGE_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Hints in a photo of ``photo_size`` = (width, height) -> the planes at ``image_size``:
    ``(hint_ab (S, S, 2), hint_mask (S, S, 1))`` float32. No hints: both zero (the automatic result).

    Raises ValueError for a point outside the photo.
    """
    width, height = photo_size
    hint_ab = np.zeros((image_size, image_size, 2), dtype=np.float32)
    mask = np.zeros((image_size, image_size, 1), dtype=np.float32)
    side = _patch_side(USER_PATCH, image_size)
    for number, hint in enumerate(hints, start=1):
        if not (0 <= hint.x < width and 0 <= hint.y < height):
            raise ValueError(
                f"Hint {number} at ({hint.x}, {hint.y}) is outside the photo ({width} × {height} pixels)."
            )
        centre_x = int(hint.x * image_size / width)
        centre_y = int(hint.y * image_size / height)
        top = min(max(0, centre_y - side // 2), image_size - side)
        left = min(max(0, centre_x - side // 2), image_size - side)
        hint_ab[top : top + side, left : left + side] = hint.ab
        mask[top : top + side, left : left + side] = 1.0
    return hint_ab, mask


def with_simulated_hints(inputs: dict[str, np.ndarray], ab: np.ndarray, rng: np.random.Generator) -> dict:
    """A hint-aware U-Net's inputs: the cached ``inputs`` plus hints drawn from their true ``ab``."""
    hint_ab, mask = simulate_hints(ab, rng)
    return {**inputs, HINT_AB: hint_ab, HINT_MASK: mask}


def propagate_hints(l_norm: np.ndarray, ab: np.ndarray, hints: Sequence[Hint]) -> np.ndarray:
    """The floor: ``ab`` corrected around each hint, ``ab + Σ w_i d_i / max(1, Σ w_i)``.

    ``d_i`` is hint i's ab minus ``ab`` at its point; ``w_i(x)`` is the joint-bilateral weight
    ``exp(−|x − p_i|² / 2σ_s²) · exp(−(L(x) − L(p_i))² / 2σ_L²)``. Near one hint, on its side of
    an edge, the colour becomes the hint's; far away, or across a change in L, it stays the
    model's; overlapping hints are averaged. Hints are in pixels of the ``S × S`` image.
    """
    size = ab.shape[0]
    sigma_space = FLOOR_SIGMA_PIXELS * size / IMAGE_SIZE
    lightness = l_norm[..., 0] * L_MAX
    rows, cols = np.mgrid[0:size, 0:size]
    total = np.zeros_like(ab)
    weights = np.zeros(ab.shape[:2], dtype=np.float32)
    for hint in hints:
        x, y = int(hint.x), int(hint.y)
        distance = ((rows - y) ** 2 + (cols - x) ** 2) / (2 * sigma_space**2)
        similarity = (lightness - lightness[y, x]) ** 2 / (2 * FLOOR_SIGMA_L**2)
        weight = np.exp(-(distance + similarity)).astype(np.float32)
        total += weight[..., None] * (np.asarray(hint.ab, np.float32) - ab[y, x])
        weights += weight
    return np.clip(ab + total / np.maximum(weights, 1.0)[..., None], -1.0, 1.0)
