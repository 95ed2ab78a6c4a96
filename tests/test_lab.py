"""colorlib.color.lab: LAB conversion, normalization, OpenCV agreement and the VGG16 input made from L."""

from __future__ import annotations

import numpy as np
import pytest

from colorlib.color import lab

#: 2^24 colours laid out as one 4096×4096 image.
GAMUT_SIDE = 4096
#: The gamut is converted in this many slices, to keep memory small.
GAMUT_CHUNKS = 16

# Measured agreement of OpenCV's float32 LAB with scikit-image over the whole 8-bit sRGB
# gamut (OpenCV 5.0, scikit-image 0.26): max |dL| 0.19, |da| 0.47, |db| 0.33, mean dE 0.16;
# inverse on in-gamut LAB: max RGB difference 3.7e-4. Pinned with a little headroom.
CV_MAX_DIFF_L = 0.25
CV_MAX_DIFF_AB = 0.5
CV_MEAN_DELTA_E = 0.2
CV_MAX_DIFF_RGB = 5e-4
CV_MAX_ROUND_TRIP_RGB = 1.5 / 255


@pytest.fixture(scope="module")
def gamut() -> np.ndarray:
    """Every 8-bit sRGB colour once: float32 (4096, 4096, 3) in [0, 1]."""
    codes = np.arange(GAMUT_SIDE * GAMUT_SIDE, dtype=np.uint32)
    rgb = np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=-1)
    return (rgb.astype(np.float32) / 255.0).reshape(GAMUT_SIDE, GAMUT_SIDE, 3)


def test_round_trip_random_rgb_is_within_1e_3() -> None:
    rgb = np.random.default_rng(0).random((2, 48, 64, 3), dtype=np.float32)
    l_norm, ab_norm = lab.split_lab(rgb)
    assert l_norm.shape == (2, 48, 64, 1) and ab_norm.shape == (2, 48, 64, 2)
    assert l_norm.dtype == np.float32 and ab_norm.dtype == np.float32
    back = lab.merge_lab(l_norm, ab_norm)
    assert back.shape == rgb.shape and back.dtype == np.float32
    assert np.abs(back - rgb).max() < 1e-3


def test_fast_round_trip_is_within_one_and_a_half_8bit_levels() -> None:
    # OpenCV's float LAB tabulates its curves: measured max 5.3e-3 (1.4/255), mean 9e-4
    # over the whole gamut; the forward direction is where the error comes from.
    rgb = np.random.default_rng(1).random((40, 56, 3), dtype=np.float32)
    back = lab.lab_to_rgb_fast(lab.rgb_to_lab_fast(rgb))
    assert back.shape == rgb.shape and back.dtype == np.float32
    assert np.abs(back - rgb).max() < CV_MAX_ROUND_TRIP_RGB
    assert np.abs(back - rgb).mean() < 1.5e-3


def test_normalized_ranges_hold_over_the_whole_8bit_gamut(gamut: np.ndarray) -> None:
    l_low, l_high, ab_low, ab_high = np.inf, -np.inf, np.inf, -np.inf
    for chunk in np.array_split(gamut, GAMUT_CHUNKS):
        l_norm, ab_norm = lab.split_lab(chunk)
        l_low, l_high = min(l_low, l_norm.min()), max(l_high, l_norm.max())
        ab_low, ab_high = min(ab_low, ab_norm.min()), max(ab_high, ab_norm.max())
    assert 0.0 <= l_low <= 1e-6 and 1.0 - 1e-4 <= l_high <= 1.0
    assert -1.0 <= ab_low and ab_high <= 1.0
    # sRGB reaches a = 98.2 (red/magenta) and b = -107.9 (blue): the tanh output keeps headroom.
    assert ab_low == pytest.approx(-107.86 / 128, abs=2e-3)
    assert ab_high == pytest.approx(98.25 / 128, abs=2e-3)


def test_opencv_forward_agrees_with_scikit_image_over_the_gamut(gamut: np.ndarray) -> None:
    worst = np.zeros(3)
    delta_e_sum = 0.0
    for chunk in np.array_split(gamut, GAMUT_CHUNKS):
        difference = lab.rgb_to_lab_fast(chunk) - lab.rgb_to_lab(chunk)
        worst = np.maximum(worst, np.abs(difference).reshape(-1, 3).max(axis=0))
        delta_e_sum += float(np.sqrt((difference.astype(np.float64) ** 2).sum(-1)).sum())
    assert worst[0] < CV_MAX_DIFF_L
    assert worst[1] < CV_MAX_DIFF_AB and worst[2] < CV_MAX_DIFF_AB
    assert delta_e_sum / gamut[..., 0].size < CV_MEAN_DELTA_E


def test_opencv_inverse_agrees_with_scikit_image_in_gamut(gamut: np.ndarray) -> None:
    for chunk in np.array_split(gamut[::4, ::4], 4):
        lab_values = lab.rgb_to_lab(chunk)
        fast, reference = lab.lab_to_rgb_fast(lab_values), lab.lab_to_rgb(lab_values)
        assert np.abs(fast - reference).max() < CV_MAX_DIFF_RGB


@pytest.mark.filterwarnings("ignore:Conversion from CIE-LAB")
def test_out_of_gamut_lab_is_clipped_to_valid_rgb_by_both() -> None:
    rng = np.random.default_rng(2)
    lightness = rng.uniform(0, 100, (64, 64, 1))
    ab = rng.uniform(-128, 127, (64, 64, 2))
    lab_values = np.concatenate([lightness, ab], axis=-1).astype(np.float32)
    fast, reference = lab.lab_to_rgb_fast(lab_values), lab.lab_to_rgb(lab_values)
    for rgb in (fast, reference):
        assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert np.abs(fast - reference).mean() < 2e-3


def test_gray_rgb_from_l_is_neutral_and_keeps_l() -> None:
    l_norm = np.linspace(0, 1, 33, dtype=np.float32).reshape(1, 33, 1)
    rgb = lab.gray_rgb_from_l(l_norm)
    assert np.abs(rgb - rgb[..., :1]).max() < 1e-3
    l_back, ab_back = lab.split_lab(rgb)
    assert np.abs(l_back - l_norm).max() < 1e-3
    assert np.abs(ab_back).max() < 1e-3


def test_bad_inputs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="255"):
        lab.split_lab(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="3 channels"):
        lab.split_lab(np.zeros((4, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="same size"):
        lab.merge_lab(np.zeros((4, 4, 1)), np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match="one image"):
        lab.rgb_to_lab_fast(np.zeros((2, 4, 4, 3), dtype=np.float32))


def test_fit_to_gamut_brings_every_colour_into_srgb_at_the_same_lightness_and_hue() -> None:
    rng = np.random.default_rng(0)
    colours = np.stack(
        [rng.uniform(5, 95, 500), rng.uniform(-128, 127, 500), rng.uniform(-128, 127, 500)], -1
    )
    assert not lab.in_gamut(colours).all()
    fitted = lab.fit_to_gamut(colours.astype(np.float32))
    assert lab.in_gamut(fitted).all()
    np.testing.assert_array_equal(fitted[..., 0], colours[..., 0].astype(np.float32))
    inside = lab.in_gamut(colours)
    np.testing.assert_allclose(fitted[inside], colours[inside].astype(np.float32))  # kept as they were
    moved = ~inside
    ratio = fitted[moved][:, 1:] / colours[moved][:, 1:]
    np.testing.assert_allclose(ratio[:, 0], ratio[:, 1], rtol=1e-4)  # the same scale on a and b: same hue
    assert (ratio < 1).all()
    # The largest chroma that fits: a little more leaves the gamut.
    nudged = fitted[moved].copy()
    nudged[:, 1:] *= 1.01
    assert not lab.in_gamut(nudged).any()
