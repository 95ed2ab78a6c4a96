"""Optical flow between frames, and what it says: DIS flow, warping along it, the pixels it can be trusted at.

Used to carry a clip's colours from frame to frame (:mod:`colorlib.colorize.temporal`) and to
measure how still a colorized clip holds (:mod:`colorlib.evaluation.videometrics`). Flows are
OpenCV's DIS (medium preset), fast on a CPU. A pixel is trusted where the forward and the
backward flow agree and no motion boundary runs: Sundaram et al. 2010's tests, as Lai et al.
(ECCV 2018) use them for the warping error.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Sundaram et al.'s forward-backward test: |w + ŵ|² <= ALPHA (|w|² + |ŵ|²) + BETA.
CONSISTENCY_ALPHA, CONSISTENCY_BETA = 0.01, 0.5
#: Motion boundaries: |∇u|² + |∇v|² > BOUNDARY_ALPHA |w|² + BOUNDARY_BETA.
BOUNDARY_ALPHA, BOUNDARY_BETA = 0.01, 0.002


def gray_u8(frame: np.ndarray) -> np.ndarray:
    """A frame ``(H, W, 3)`` uint8 RGB, or ``(H, W)``, -> ``(H, W)`` uint8 gray: what the flow sees."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return frame.astype(np.uint8)


def dis_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Optical flow from ``source`` to ``target`` (gray uint8 ``(H, W)``): ``float32 (H, W, 2)``, the
    displacement (x, y) of each source pixel."""
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(source, target, None)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (``(H, W, C)`` of frame t) sampled at ``p + flow(p)``: frame t seen from frame t−1."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(
        image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def valid_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Pixels of frame t−1 that are neither occluded in frame t nor on a motion boundary: ``bool (H, W)``.

    ``forward`` is the flow t−1 -> t, ``backward`` t -> t−1, each ``(H, W, 2)``.
    """
    back = warp(backward, forward)
    mismatch = np.sum((forward + back) ** 2, axis=-1)
    scale = np.sum(forward**2, axis=-1) + np.sum(back**2, axis=-1)
    consistent = mismatch <= CONSISTENCY_ALPHA * scale + CONSISTENCY_BETA
    gradient = sum(np.sum(np.stack(np.gradient(forward[..., k]), -1) ** 2, axis=-1) for k in range(2))
    boundary = gradient > BOUNDARY_ALPHA * np.sum(forward**2, axis=-1) + BOUNDARY_BETA
    return consistent & ~boundary


__all__ = ["dis_flow", "gray_u8", "valid_mask", "warp"]
