"""Scores against the number of colour hints, like the paper's curve (Zhang, Zhu et al. 2017, Fig. 6).

For each photo, the hints are simulated from its true colours with a fixed seed: ``n`` points
drawn uniformly over the photo, each carrying the mean true ab of the
:data:`colorlib.data.hints.USER_PATCH` square around it (what a user's click gives); the first
``n`` of one seeded list, so 5 hints are the 2 hints plus 3 more. Each method colours the photo
at ``size × size`` with them and is scored by :func:`colorlib.evaluation.metrics.score_pair`:

- a **hint colorizer** (``hints: true``) gets the hint planes;
- the **floor** (:func:`colorlib.data.hints.propagate_hints`) needs no training: an automatic
  colorizer's colours, corrected around each hint with a joint-bilateral weight, Gaussian in
  distance (σ :data:`~colorlib.data.hints.FLOOR_SIGMA_PIXELS` at 256 × 256) and in L (σ
  :data:`~colorlib.data.hints.FLOOR_SIGMA_L`). A learned model has to beat it clearly to be
  worth its training.

Shapes at ``S × S``: L ``(S, S, 1)`` in [0, 1]; ab ``(S, S, 2)`` in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from colorlib.color.lab import merge_lab, split_lab, to_uint8
from colorlib.core.config import IMAGE_SIZE, SEED
from colorlib.data.hints import USER_PATCH, Hint, hint_planes, propagate_hints
from colorlib.evaluation.metrics import load_for_scoring, score_pair, summarize

#: The hint counts of the curve (the issue's, and the paper's range).
HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50)


def simulated_hints(ab: np.ndarray, count: int, seed: int | Sequence[int]) -> list[Hint]:
    """``count`` hints from true ab ``(S, S, 2)``: uniform points, each the mean of its patch."""
    size = ab.shape[0]
    rng = np.random.default_rng(seed)
    half = max(1, round(USER_PATCH * size / IMAGE_SIZE)) // 2
    hints = []
    for y, x in rng.integers(0, size, size=(count, 2)):
        patch = ab[max(0, y - half) : y + half + 1, max(0, x - half) : x + half + 1]
        hints.append(Hint(float(x), float(y), tuple(float(v) for v in patch.mean(axis=(0, 1)))))
    return hints


def hint_curve(
    automatic,
    truths: Sequence[str | Path],
    hint_model=None,
    counts: Sequence[int] = HINT_COUNTS,
    size: int = IMAGE_SIZE,
    seed: int = SEED,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """One row per (method, hint count): ``{"method", "hints", **summary}`` over ``truths``.

    ``automatic`` is a colorizer without hints: its colours are scored at 0 hints and are what
    the floor corrects. ``hint_model``, a hint colorizer, adds its own rows. Photos are read and
    resized as :mod:`colorlib.evaluation.metrics` does; photo k's hints are seeded ``(seed, k)``.
    """
    from colorlib.colorize.fullres import predict_ab

    if not counts or min(counts) < 0:
        raise ValueError(f"counts must be hint numbers of 0 or more, got {list(counts)}.")
    scores: dict[tuple[str, int], list[dict[str, float]]] = {}
    for number, path in enumerate(tqdm(truths, desc="hint curve", unit="photo", disable=not progress)):
        truth = load_for_scoring(path, size)
        l_norm, true_ab = split_lab(truth.astype(np.float32) / 255.0)
        base = predict_ab(automatic, l_norm[None])[0]
        every = simulated_hints(true_ab, max(counts), seed=[seed, number])
        for count in counts:
            hints = every[:count]
            outputs = {"automatic + floor": propagate_hints(l_norm, base, hints)}
            if hint_model is not None:
                planes = hint_planes(hints, (size, size), size)
                batch = (planes[0][None], planes[1][None])
                outputs["hint model"] = predict_ab(hint_model, l_norm[None], hint_planes=batch)[0]
            for method, ab in outputs.items():
                prediction = to_uint8(merge_lab(l_norm, ab))
                scores.setdefault((method, count), []).append(score_pair(truth, prediction))
    return [{"method": method, "hints": count, **summarize(rows)} for (method, count), rows in scores.items()]


def curve_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`hint_curve` as a Markdown table."""
    lines = [
        "| method | hints | PSNR ↑ | \\|Δ colorfulness\\| per photo ↓ | AuC ↑ |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = (row["method"], row["hints"], f"{row['psnr']:.2f}", f"{row['delta_colorfulness']:.1f}")
        lines.append("| " + " | ".join(map(str, cells)) + f" | {row['auc']:.2f} |")
    return "\n".join(lines)
