"""CIE LAB utilities: conversion, normalization, and the encoder input made from L.

Conventions used everywhere in colorlib:

- RGB images are float32 in [0, 1], channels last: ``(..., H, W, 3)``.
- ``l_norm`` is CIE L / 100, float32 in [0, 1], shape ``(..., H, W, 1)``.
- ``ab_norm`` is CIE ab / 128, float32 in [-1, 1], shape ``(..., H, W, 2)``.

scikit-image does the colour conversion (D65 white point, 2° observer). The
full-resolution path of :mod:`colorlib.colorize.colorize` uses OpenCV's float32 conversion,
which implements the same formulas and is much faster on large photos;
``tests/test_lab.py`` checks that the two agree.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
from skimage import color

from colorlib.core.config import AB_SCALE, L_MAX, PIXEL_MAX

#: Halvings of the chroma scale that :func:`fit_to_gamut` tries per pixel (2⁻¹² of the chroma).
GAMUT_ITERATIONS = 12
#: Linear sRGB may leave [0, 1] by this much and still count as in the gamut (float32 rounding).
GAMUT_TOLERANCE = 1e-4

#: ImageNet channel means in BGR order, as subtracted by keras.applications.vgg16.preprocess_input.
VGG_MEAN_BGR = (103.939, 116.779, 123.68)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim < 3 or rgb.shape[-1] != 3:
        raise ValueError(f"Expected an RGB image with 3 channels last, got shape {rgb.shape}.")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(
            f"Expected float RGB in [0, 1], got dtype {rgb.dtype}; divide 8-bit images by 255 first."
        )
    return rgb.astype(np.float32, copy=False)


def check_rgb8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """``image`` as an array if it is 8-bit RGB, ``uint8 (H, W, 3)``; else a ValueError naming it."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"The {name} must be 8-bit RGB, uint8 (H, W, 3); got {image.dtype} {image.shape}. "
            "Load it with colorlib.data.images.load_rgb."
        )
    return image


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] -> ``uint8``, rounded to the nearest 8-bit value and clipped."""
    return np.clip(np.rint(np.asarray(rgb) * PIXEL_MAX), 0, PIXEL_MAX).astype(np.uint8)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB float in [0, 1], ``(..., H, W, 3)`` -> CIE LAB float32 (L in [0, 100], ab about ±128)."""
    return color.rgb2lab(_check_rgb(rgb), channel_axis=-1).astype(np.float32, copy=False)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE LAB ``(..., H, W, 3)`` -> RGB float32 in [0, 1]; colours outside sRGB are clipped."""
    lab = np.asarray(lab, dtype=np.float32)
    with warnings.catch_warnings():
        # Predicted ab can fall outside sRGB; the clip below is the documented behaviour.
        warnings.filterwarnings("ignore", message=".*negative Z values.*", category=UserWarning)
        rgb = color.lab2rgb(lab, channel_axis=-1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32, copy=False)


def normalize_l(lightness: np.ndarray) -> np.ndarray:
    """CIE L in [0, 100] -> float32 in [0, 1]."""
    return (np.asarray(lightness, dtype=np.float32) / L_MAX).astype(np.float32, copy=False)


def denormalize_l(l_norm: np.ndarray) -> np.ndarray:
    """Float in [0, 1] -> CIE L in [0, 100], float32."""
    return (np.asarray(l_norm, dtype=np.float32) * L_MAX).astype(np.float32, copy=False)


def normalize_ab(ab: np.ndarray) -> np.ndarray:
    """CIE ab (about ±128) -> float32 in [-1, 1]."""
    return (np.asarray(ab, dtype=np.float32) / AB_SCALE).astype(np.float32, copy=False)


def denormalize_ab(ab_norm: np.ndarray) -> np.ndarray:
    """Float in [-1, 1] -> CIE ab, float32."""
    return (np.asarray(ab_norm, dtype=np.float32) * AB_SCALE).astype(np.float32, copy=False)


def split_lab(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB in [0, 1], ``(..., H, W, 3)`` -> ``(l_norm (..., H, W, 1), ab_norm (..., H, W, 2))``."""
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[..., :1]), normalize_ab(lab[..., 1:])


def merge_lab(l_norm: np.ndarray, ab_norm: np.ndarray) -> np.ndarray:
    """``l_norm (..., H, W, 1)`` in [0, 1] plus ``ab_norm (..., H, W, 2)`` in [-1, 1] -> RGB in [0, 1].

    This is how a colorized photo is rebuilt: the original L with the predicted ab.
    """
    l_norm = np.asarray(l_norm, dtype=np.float32)
    ab_norm = np.asarray(ab_norm, dtype=np.float32)
    if l_norm.shape[-1] != 1 or ab_norm.shape[-1] != 2 or l_norm.shape[:-1] != ab_norm.shape[:-1]:
        raise ValueError(
            f"L must be (..., H, W, 1) and ab (..., H, W, 2) of the same size; "
            f"got {l_norm.shape} and {ab_norm.shape}."
        )
    lab = np.concatenate([denormalize_l(l_norm), denormalize_ab(ab_norm)], axis=-1)
    return lab_to_rgb(lab)


def gray_rgb_from_l(l_norm: np.ndarray) -> np.ndarray:
    """``l_norm (..., H, W, 1)`` -> the neutral-gray RGB image with that lightness, float32 [0, 1]."""
    l_norm = np.asarray(l_norm, dtype=np.float32)
    return merge_lab(l_norm, np.zeros((*l_norm.shape[:-1], 2), dtype=np.float32))


def rgb_to_lab_fast(rgb: np.ndarray) -> np.ndarray:
    """One RGB image ``(H, W, 3)`` float32 [0, 1] -> LAB float32 with OpenCV (same formulas as skimage)."""
    rgb = _check_rgb(rgb)
    if rgb.ndim != 3:
        raise ValueError(f"rgb_to_lab_fast takes one image (H, W, 3), got shape {rgb.shape}.")
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)


def lab_to_rgb_fast(lab: np.ndarray) -> np.ndarray:
    """One LAB image ``(H, W, 3)`` float32 -> RGB float32 in [0, 1] with OpenCV, clipped."""
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    if lab.ndim != 3 or lab.shape[-1] != 3:
        raise ValueError(f"lab_to_rgb_fast takes one image (H, W, 3), got shape {lab.shape}.")
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def _linear_rgb(lab: np.ndarray) -> np.ndarray:
    """LAB ``(..., 3)`` -> linear sRGB, not clipped (scikit-image's XYZ and matrix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image warns about Z < 0, which is what we test
        xyz = color.lab2xyz(lab)
    return xyz @ color.colorconv.rgb_from_xyz.T


def in_gamut(lab: np.ndarray) -> np.ndarray:
    """Whether each LAB pixel ``(..., 3)`` has an sRGB colour: bool ``(...)``."""
    linear = _linear_rgb(lab)
    return np.all((linear >= -GAMUT_TOLERANCE) & (linear <= 1.0 + GAMUT_TOLERANCE), axis=-1)


def fit_to_gamut(lab: np.ndarray, iterations: int = GAMUT_ITERATIONS) -> np.ndarray:
    """Each LAB pixel ``(..., 3)`` float32 whose colour is outside sRGB gets its chroma scaled down
    (towards gray at the same L, the same hue) until it is inside; the others are kept. A new array.

    Clipping each RGB channel instead would change the hue, which is what DDColor #54 asks to avoid.
    """
    lab = np.array(lab, dtype=np.float32)
    flat = lab.reshape(-1, 3)
    outside = np.flatnonzero(~in_gamut(flat))
    if not len(outside):
        return lab
    pixels = flat[outside]
    low, high = np.zeros(len(outside), np.float32), np.ones(len(outside), np.float32)
    for _ in range(iterations):
        middle = (low + high) / 2
        trial = pixels * np.stack([np.ones_like(middle), middle, middle], axis=-1)
        inside = in_gamut(trial)
        low, high = np.where(inside, middle, low), np.where(inside, high, middle)
    pixels[:, 1:] *= low[:, None]
    flat[outside] = pixels
    return lab


def check_vividness(vividness: float) -> None:
    """Refuse a vividness that is not a number of 0 or more (ValueError saying so)."""
    if not np.isfinite(vividness) or vividness < 0:
        raise ValueError(f"vividness must be 0 (gray) or more, 1 for the model's colours; got {vividness}.")


def scale_chroma(lab: np.ndarray, vividness: float) -> np.ndarray:
    """``colorlib colorize --vividness F``: LAB ``(..., 3)`` with ab × F, fitted to the sRGB gamut
    at each pixel's L (:func:`fit_to_gamut`). F = 1 returns ``lab`` as it is; 0 gives gray."""
    check_vividness(vividness)
    if vividness == 1.0:
        return lab
    scaled = np.array(lab, dtype=np.float32)
    scaled[..., 1:] *= np.float32(vividness)
    return fit_to_gamut(scaled)
