"""colorlib.data.augment: input and target stay aligned; flips are exact; views are reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from colorlib.color import lab
from colorlib.data import augment
from colorlib.data.augment import AugmentParams

#: ab is this linear function of L in the test image: ab = SLOPE * L + OFFSET, per channel.
SLOPE = np.array([0.8, -0.5], dtype=np.float32)
OFFSET = np.array([-0.4, 0.25], dtype=np.float32)

CASES = [
    AugmentParams(angle=12.5),
    AugmentParams(angle=-7.0, hflip=True),
    AugmentParams(vflip=True),
    AugmentParams(angle=3.25, hflip=True, vflip=True),
]


def pattern_l(height: int = 48, width: int = 64) -> np.ndarray:
    """An L image with no symmetry: ramps plus ripples, float32 (H, W, 1) in [0.3, 0.7]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ripple = np.sin(2 * np.pi * x / 16) * np.cos(2 * np.pi * y / 24)
    values = 0.6 * x / width + 0.3 * y / height + 0.1 * ripple
    values = 0.3 + 0.4 * (values - values.min()) / (values.max() - values.min())
    return values[..., None].astype(np.float32)


def ab_of(l_norm: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return (scale * (SLOPE * l_norm + OFFSET)).astype(np.float32)


@pytest.mark.parametrize("params", CASES, ids=str)
def test_same_augmentation_keeps_target_aligned_with_input(params: AugmentParams) -> None:
    # ab is a per-pixel function of L, so after a correct joint augmentation it still is;
    # the function is linear, so bilinear rotation keeps it exactly.
    l_norm = pattern_l()
    l_aug, ab_aug = augment.apply(l_norm, params), augment.apply(ab_of(l_norm), params)
    assert l_aug.shape == l_norm.shape and ab_aug.shape == (*l_norm.shape[:2], 2)
    assert not np.allclose(l_aug, l_norm, atol=1e-3)
    np.testing.assert_allclose(ab_aug, ab_of(l_aug), atol=1e-5)
    # The check can fail: a target augmented differently is no longer aligned.
    other = AugmentParams(angle=-params.angle, hflip=not params.hflip, vflip=params.vflip)
    assert not np.allclose(augment.apply(ab_of(l_norm), other), ab_of(l_aug), atol=1e-3)


@pytest.mark.parametrize("params", CASES, ids=str)
def test_augmenting_rgb_or_l_and_ab_gives_the_same_pair(params: AugmentParams) -> None:
    l_norm = pattern_l()
    rgb = lab.merge_lab(l_norm, ab_of(l_norm, scale=0.25))  # small ab: inside the sRGB gamut
    l_from_rgb, ab_from_rgb = lab.split_lab(augment.apply(rgb, params))
    l_pair, ab_pair = (augment.apply(channels, params) for channels in lab.split_lab(rgb))
    if params.angle == 0:  # flips move pixels without mixing them: exact
        np.testing.assert_allclose(l_from_rgb, l_pair, atol=1e-6)
        np.testing.assert_allclose(ab_from_rgb, ab_pair, atol=1e-6)
    else:  # interpolating RGB or LAB differs only by the curvature (measured 2.5e-5)
        assert np.abs(l_from_rgb - l_pair).max() < 2e-4
        assert np.abs(ab_from_rgb - ab_pair).max() < 2e-4


def test_flips_are_exact_and_keep_dtype() -> None:
    image = np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    cases = {
        AugmentParams(hflip=True): image[:, ::-1],
        AugmentParams(vflip=True): image[::-1],
        AugmentParams(hflip=True, vflip=True): image[::-1, ::-1],
    }
    for params, expected in cases.items():
        out = augment.apply(image, params)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, expected)


def test_rotation_is_counter_clockwise_about_the_centre() -> None:
    image = np.random.default_rng(1).random((16, 16, 2), dtype=np.float32)
    out = augment.apply(image, AugmentParams(angle=90.0))
    np.testing.assert_allclose(out, np.rot90(image, k=1, axes=(0, 1)), atol=1e-4)


def test_rotation_reflects_the_border_so_no_black_corners_appear() -> None:
    image = np.full((32, 40, 1), 0.7, dtype=np.float32)
    out = augment.apply(image, AugmentParams(angle=15.0))
    np.testing.assert_allclose(out, image, atol=1e-5)


def test_identity_changes_nothing() -> None:
    image = np.random.default_rng(2).random((5, 7, 3), dtype=np.float32)
    assert augment.IDENTITY.is_identity
    np.testing.assert_array_equal(augment.apply(image, augment.IDENTITY), image)


def test_view_zero_is_identity_and_views_are_reproducible() -> None:
    assert augment.view_params("abc", 0) == augment.IDENTITY
    views = [augment.view_params("abc", view, seed=42) for view in range(1, 9)]
    assert views == [augment.view_params("abc", view, seed=42) for view in range(1, 9)]
    assert len(set(views)) == len(views)
    assert all(abs(params.angle) <= augment.ROTATION_DEGREES for params in views)
    assert augment.view_params("abc", 1, seed=43) != views[0]
    assert augment.view_params("abd", 1, seed=42) != views[0]
    assert augment.view_params("abc", 1, max_rotation=0.0).angle == 0.0
    assert views[0].as_dict() == {
        "angle": views[0].angle,
        "hflip": views[0].hflip,
        "vflip": views[0].vflip,
    }


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="view"):
        augment.view_params("abc", -1)
    with pytest.raises(ValueError, match="max_rotation"):
        augment.sample_params(np.random.default_rng(0), max_rotation=-1.0)
    with pytest.raises(ValueError, match="one image"):
        augment.apply(np.zeros((4, 4)), augment.IDENTITY)
