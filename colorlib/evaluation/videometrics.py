"""How still a colorized video holds: the warping error and the colour distribution consistency.

- **Warping error, E_warp** (Lai et al., *Learning Blind Video Temporal Consistency*, ECCV 2018):
  the optical flow from frame t−1 to frame t is computed on the input (the gray frames, so every
  colorization of a clip is judged against the same motion); output frame t is warped back onto
  frame t−1 along it, and the mean squared RGB difference (RGB in [0, 1]) is taken over the pixels
  that are not occluded, then averaged over the frames. A pixel is occluded where the forward and
  the backward flow disagree, or on a motion boundary (Sundaram et al. 2010's tests, as Lai et al.
  use them).
- **Colour distribution consistency, CDC** (Liu et al., TCVC): for each RGB channel, the
  Jensen–Shannon divergence (natural log) between the 256-bin histograms of frames t and t + d,
  for d = 1, 2 and 4; averaged over frames, over the three distances, then over the channels.

Lower is steadier for both; a gray video scores below the true one, so colourfulness is reported
beside them. Flows are OpenCV's DIS (medium preset), fast on a CPU (:mod:`colorlib.data.flow`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colorlib.data.flow import dis_flow, gray_u8, valid_mask, warp

#: The frame distances of CDC.
CDC_DISTANCES = (1, 2, 4)


def warping_error(outputs: Sequence[np.ndarray], inputs: Sequence[np.ndarray]) -> float:
    """E_warp of a colorized video (see the module docstring).

    ``outputs``: its frames, uint8 RGB ``(H, W, 3)``; ``inputs``: the frames the flow is computed on
    (the gray input, or any frames of the same motion), uint8. Raises ValueError for fewer than two
    frames or lists of other lengths.
    """
    if len(outputs) != len(inputs) or len(outputs) < 2:
        raise ValueError(
            f"E_warp needs two or more frames, as many outputs as inputs; got {len(outputs)}, {len(inputs)}."
        )
    errors = []
    gray = [gray_u8(frame) for frame in inputs]
    for t in range(1, len(outputs)):
        forward, backward = dis_flow(gray[t - 1], gray[t]), dis_flow(gray[t], gray[t - 1])
        mask = valid_mask(forward, backward)
        if not mask.any():
            continue
        previous = np.asarray(outputs[t - 1], np.float32) / 255.0
        seen = warp(np.asarray(outputs[t], np.float32) / 255.0, forward)
        errors.append(float(np.sum(mask[..., None] * (previous - seen) ** 2) / (3 * mask.sum())))
    return float(np.mean(errors)) if errors else 0.0


def _histograms(frame: np.ndarray) -> np.ndarray:
    """Per-channel 256-bin histograms of a uint8 RGB frame, each summing to 1: ``(3, 256)``."""
    frame = np.asarray(frame, np.uint8).reshape(-1, 3)
    counts = np.stack([np.bincount(frame[:, c], minlength=256) for c in range(3)]).astype(np.float64)
    return counts / counts.sum(axis=1, keepdims=True)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (natural log) of distributions along the last axis."""
    middle = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        where = a > 0
        return np.sum(
            np.where(where, a * np.log(np.where(where, a, 1.0) / np.where(where, b, 1.0)), 0.0), axis=-1
        )

    return 0.5 * kl(p, middle) + 0.5 * kl(q, middle)


def color_consistency(outputs: Sequence[np.ndarray], distances: Sequence[int] = CDC_DISTANCES) -> float:
    """CDC of a colorized video's frames (uint8 RGB), see the module docstring."""
    histograms = np.stack([_histograms(frame) for frame in outputs])  # (T, 3, 256)
    per_distance = []
    for d in distances:
        if len(outputs) <= d:
            continue
        per_distance.append(js_divergence(histograms[:-d], histograms[d:]).mean(axis=0))  # (3,)
    if not per_distance:
        raise ValueError(f"CDC needs more than {min(distances)} frames; got {len(outputs)}.")
    return float(np.mean(per_distance))


__all__ = ["color_consistency", "js_divergence", "warping_error"]
