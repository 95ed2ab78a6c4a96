"""Colour as a class: quantized ab, soft targets, class rebalancing and the annealed mean.

After Zhang, Isola and Efros, *Colorful Image Colorization* (ECCV 2016). Regressing ab with
MSE predicts the average of the plausible colours, a dull gray-brown. Instead the decoder
predicts, for every pixel, a probability for each of ``Q`` colour bins, and is trained with
a cross-entropy. Shapes and units::

    bin centres     (Q, 2)            float32, CIE ab units: the ab grid cells (step 10) whose
                                      centre is an sRGB colour for some L in [0, 100]
    logits          (N, S/4, S/4, Q)  float32, the decoder's output at a quarter of the resolution
    target ab       (N, S, S, 2)      float32 in [-1, 1] (ab / 128): what the feature cache holds
    soft target     (N, S/4, S/4, Q)  float32, sums to 1: the 5 nearest bins, Gaussian σ = 5

The soft encoding runs inside the loss (keras.ops), so the cache keeps plain ab and serves
every loss alike; at S/4 the ``Q`` distances per pixel are cheap, and the loss gathers the
5 target bins' log-probabilities instead of building dense ``(..., Q)`` targets. Rare colours are weighted
up (class rebalancing, :func:`rebalancing_weights`, computed once per run from the training
ab). :class:`AnnealedMean` turns the logits back into ab inside the saved colorizer:
``softmax(log(p) / T)``, then the expected bin centre; T → 0 gives the mode, T = 1 the mean.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable

import numpy as np
from keras import ops
from skimage import color

from colorlib.core.config import AB_SCALE, L_MAX

#: Side of an ab bin, in CIE ab units, and the largest |a| or |b| of a bin centre considered.
GRID_STEP = 10.0
GRID_LIMIT = 110.0
#: Lightness values tried for each bin centre: L = 0, 0.1, ..., 100.
GAMUT_L_STEPS = 1001
#: Soft encoding: each target pixel spreads over its nearest bins with Gaussian weights (σ in ab units).
SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
#: Class rebalancing: mix λ of the uniform distribution into the smoothed empirical one (σ in ab units).
REBALANCE_LAMBDA = 0.5
SMOOTHING_SIGMA = 5.0


#: The classes are predicted at a quarter of the training resolution.
OUTPUT_STRIDE = 4
#: Resolution of the ab histogram that :func:`bin_histogram` assigns to bins, in ab units.
HISTOGRAM_STEP = 1.0


@functools.lru_cache(maxsize=1)
def _centres() -> np.ndarray:
    grid = np.arange(-GRID_LIMIT, GRID_LIMIT + GRID_STEP / 2, GRID_STEP)
    a, b = (value.reshape(-1) for value in np.meshgrid(grid, grid, indexing="ij"))
    lightness = np.linspace(0.0, L_MAX, GAMUT_L_STEPS)
    lab = np.stack(np.broadcast_arrays(lightness[:, None], a[None], b[None]), axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lab2xyz warns about negative Z: those are out of gamut anyway
        xyz = color.lab2xyz(lab)
    # Linear sRGB before gamma and clipping: a colour is in gamut when all three lie in [0, 1].
    linear = xyz @ np.asarray(color.colorconv.rgb_from_xyz).T
    in_gamut = np.all((linear >= 0.0) & (linear <= 1.0), axis=-1).any(axis=0)
    centres = np.stack([a[in_gamut], b[in_gamut]], axis=-1).astype(np.float32)
    centres.setflags(write=False)
    return centres


def bin_centres() -> np.ndarray:
    """The ab bins: float32 ``(Q, 2)`` in CIE ab units, ordered by a then b (read-only).

    Centres on a grid of :data:`GRID_STEP` whose colour is in the sRGB gamut for some L in
    [0, 100] (derived with scikit-image's LAB -> XYZ conversion and the sRGB matrix).
    """
    return _centres()


def bin_count() -> int:
    """Q, the number of ab bins."""
    return len(_centres())


def _squared_distances(ab_norm, centres):
    """``(..., Q)`` squared distances in ab units between ``ab_norm (..., 2)`` and the centres."""
    ab = ops.multiply(ops.cast(ab_norm, "float32"), AB_SCALE)
    centres = np.asarray(centres, dtype=np.float32)
    # |x - c|² = |x|² - 2 x·c + |c|²: no (..., Q, 2) intermediate.
    cross = ops.matmul(ab, ops.convert_to_tensor(centres.T))
    lengths = ops.convert_to_tensor((centres**2).sum(axis=1))
    squared = ops.add(ops.sum(ops.square(ab), axis=-1, keepdims=True), lengths)
    return ops.maximum(ops.subtract(squared, ops.multiply(cross, 2.0)), 0.0)


def soft_targets(ab_norm, centres: np.ndarray | None = None):
    """ab ``(..., 2)`` in [-1, 1] -> ``(bins, weights)``: the :data:`SOFT_NEIGHBOURS` nearest bins,
    int ``(..., 5)`` nearest first, and their float32 weights ``(..., 5)``, which sum to 1.

    The weights are Gaussian in the distance, σ = :data:`SOFT_SIGMA` ab units. Backend-neutral.
    """
    centres = bin_centres() if centres is None else centres
    negative_distances, bins = ops.top_k(ops.negative(_squared_distances(ab_norm, centres)), SOFT_NEIGHBOURS)
    # Relative to the nearest bin, so that exp() stays away from 0 for pixels far from every bin.
    nearest = ops.max(negative_distances, axis=-1, keepdims=True)
    weights = ops.exp(ops.divide(ops.subtract(negative_distances, nearest), 2 * SOFT_SIGMA**2))
    return bins, ops.divide(weights, ops.sum(weights, axis=-1, keepdims=True))


def soft_encode(ab_norm, centres: np.ndarray | None = None):
    """ab ``(..., 2)`` in [-1, 1] -> soft class targets ``(..., Q)`` float32 that sum to 1
    (:func:`soft_targets` spread over all Q bins)."""
    centres = bin_centres() if centres is None else centres
    bins, weights = soft_targets(ab_norm, centres)
    spread = ops.multiply(ops.one_hot(bins, len(centres)), ops.expand_dims(weights, -1))
    return ops.sum(spread, axis=-2)


def nearest_bin(ab_norm, centres: np.ndarray | None = None):
    """ab ``(..., 2)`` in [-1, 1] -> the index of the nearest bin, int ``(...)`` (keras.ops)."""
    return ops.argmin(_squared_distances(ab_norm, bin_centres() if centres is None else centres), axis=-1)


@functools.lru_cache(maxsize=1)
def _histogram_lookup() -> np.ndarray:
    """The nearest bin of every :data:`HISTOGRAM_STEP` cell centre over ab in [-AB_SCALE, AB_SCALE]."""
    edges = np.arange(-AB_SCALE, AB_SCALE + HISTOGRAM_STEP / 2, HISTOGRAM_STEP)
    middles = (edges[:-1] + edges[1:]) / 2
    grid = np.stack(np.meshgrid(middles, middles, indexing="ij"), axis=-1).reshape(-1, 2)
    distances = ((grid[:, None, :] - _centres()[None].astype(np.float64)) ** 2).sum(-1)
    return distances.argmin(axis=1).reshape(len(middles), len(middles))


def bin_histogram(ab_norm: np.ndarray, stride: int = OUTPUT_STRIDE) -> np.ndarray:
    """Pixel counts per bin, float64 ``(Q,)``, of ab float ``(N, S, S, 2)`` in [-1, 1].

    The ab is first averaged over ``stride`` × ``stride`` blocks, as the loss does, then each
    pixel counts for its nearest bin (to within :data:`HISTOGRAM_STEP` / 2 ab units).
    """
    ab = np.asarray(ab_norm, dtype=np.float32)
    if ab.ndim != 4 or ab.shape[-1] != 2 or ab.shape[1] % stride or ab.shape[2] % stride:
        raise ValueError(
            f"Expected ab of shape (N, S, S, 2) with S a multiple of {stride}, got {ab.shape}; "
            "pass batches of the cached training ab."
        )
    n, height, width, _ = ab.shape
    pooled = ab.reshape(n, height // stride, stride, width // stride, stride, 2).mean(axis=(2, 4))
    lookup = _histogram_lookup()
    cells = np.clip(((pooled * AB_SCALE + AB_SCALE) / HISTOGRAM_STEP).astype(np.int64), 0, len(lookup) - 1)
    return np.bincount(lookup[cells[..., 0], cells[..., 1]].reshape(-1), minlength=bin_count()).astype(float)


def smoothed_distribution(counts: np.ndarray) -> np.ndarray:
    """p̃: the bin distribution of ``counts (Q,)`` smoothed with a Gaussian of σ = :data:`SMOOTHING_SIGMA`
    over the ab plane; float64 ``(Q,)``, sums to 1."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (bin_count(),) or counts.min() < 0 or counts.sum() <= 0:
        raise ValueError(
            f"Expected {bin_count()} non-negative bin counts, not all zero; got shape {counts.shape}. "
            "Count the training ab with bin_histogram."
        )
    centres = _centres().astype(np.float64)
    distances = ((centres[:, None, :] - centres[None]) ** 2).sum(-1)
    smoothed = np.exp(-distances / (2 * SMOOTHING_SIGMA**2)) @ (counts / counts.sum())
    return smoothed / smoothed.sum()


def rebalancing_weights(counts: np.ndarray, mix: float = REBALANCE_LAMBDA) -> np.ndarray:
    """Class weights float64 ``(Q,)`` ∝ ((1 − λ)·p̃ + λ/Q)^−1, scaled so that Σ p̃·w = 1.

    ``counts``: pixels per bin of the training ab (:func:`bin_histogram`); λ = ``mix`` in [0, 1].
    """
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"The rebalancing mix λ must lie in [0, 1], got {mix}.")
    smoothed = smoothed_distribution(counts)
    weights = 1.0 / ((1.0 - mix) * smoothed + mix / len(smoothed))
    return weights / np.sum(smoothed * weights)


def training_weights(ab_batches: Iterable[np.ndarray]) -> np.ndarray:
    """:func:`rebalancing_weights` of every batch of training ab ``(B, S, S, 2)`` in [-1, 1]."""
    counts = sum((bin_histogram(ab) for ab in ab_batches), np.zeros(bin_count()))
    return rebalancing_weights(counts)
