"""The spread head (hint_spread: true): hints spread by a bilateral grid, blended by learned gains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_gan import CHANNELS, FILTERS, SIZE
from test_hints import coloured_plain_unet, two_region_photos

from colorlib.archs import hintspread_arch, unet_arch
from colorlib.data import hints


def _spread(l_norm: np.ndarray, given: list[hints.Hint]) -> np.ndarray:
    """The spread of ``given`` over one photo of L ``(S, S, 1)``: ``(S, S, 3K)``."""
    size = l_norm.shape[0]
    hint_ab, mask = hints.hint_planes(given, (size, size), size)
    layer = hintspread_arch.HintSpread()
    return np.asarray(layer([hint_ab[None], mask[None], l_norm[None].astype("float32")]))[0]


def test_a_hint_spreads_near_it_and_on_its_side_of_an_edge_at_each_distance() -> None:
    size = 64
    l_norm = np.where(np.arange(size)[None, :, None] < 32, 0.3, 0.8) * np.ones((size, 1, 1), np.float32)
    assert not _spread(l_norm, []).any()  # no hint: nothing anywhere
    spread = _spread(l_norm, [hints.Hint(10.0, 10.0, (0.5, -0.5))])
    assert spread.shape == (size, size, 3 * len(hintspread_arch.SPREAD_SIGMAS))
    weight, colour = spread[..., 2::3], spread[..., 0::3] / np.maximum(spread[..., 2::3], 1e-9)
    np.testing.assert_allclose(colour[10, 10], 0.5, atol=1e-4)  # the weighted mean is the hint's colour
    assert np.all(weight[10, 10] > 0.3)  # about one click at the point
    for k in range(weight.shape[-1]):
        assert weight[10, 20, k] < weight[10, 10, k]  # it fades with distance
        assert weight[10, 40, k] < 0.02 * weight[10, 20, k]  # and stops at the edge (L 30 -> 80)
    assert weight[10, 28, 0] < weight[10, 28, 1] < weight[10, 28, 2]  # σ 4, 12 and 32 px at 64


def test_a_hint_counts_once_whatever_its_size_and_wherever_it_is() -> None:
    size = 256
    l_norm = np.full((size, size, 1), 0.5, np.float32)
    hint_ab = np.zeros((1, size, size, 2), np.float32)
    layer = hintspread_arch.HintSpread()

    def weight_at(patch: tuple[slice, slice], point: tuple[int, int]) -> np.ndarray:
        mask = np.zeros((1, size, size, 1), np.float32)
        mask[(0, *patch)] = 1.0
        return np.asarray(layer([hint_ab, mask, l_norm[None]]))[0][point][2::3]

    click = weight_at((slice(100, 103), slice(100, 103)), (101, 101))
    large = weight_at((slice(97, 106), slice(97, 106)), (101, 101))
    np.testing.assert_allclose(click, 1.0, rtol=0.25)  # one click: about one unit at its point
    np.testing.assert_allclose(large, click, rtol=0.5)  # a 9 × 9 patch: about the same, not 9 times
    corner = weight_at((slice(0, 3), slice(0, 3)), (1, 1))
    np.testing.assert_allclose(corner[-1] / click[-1], 1.0, atol=0.3)  # a click in a corner counts too


def test_without_hints_the_spread_unet_colours_exactly_as_the_unet_it_started_from() -> None:
    plain, rng = coloured_plain_unet()
    spread = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, hints=True, spread=True)
    assert unet_arch.warm_start(spread, plain) == []  # the U-Net is the plain one, layer for layer
    assert unet_arch.takes_hints(spread)
    inputs, ab = two_region_photos(4, rng)
    zeros = {"hint_ab": np.zeros_like(ab), "hint_mask": np.zeros_like(ab[..., :1])}
    np.testing.assert_array_equal(
        spread.predict_on_batch({**inputs, **zeros}), plain.predict_on_batch(inputs)
    )
    with pytest.raises(ValueError, match="needs hints=True"):
        unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, spread=True)

    automatic = hintspread_arch.automatic_decoder(spread)  # the U-Net under the head, for the floor
    assert not unet_arch.takes_hints(automatic)
    np.testing.assert_array_equal(automatic.predict_on_batch(inputs), plain.predict_on_batch(inputs))
    with pytest.raises(ValueError, match="no spread head"):
        hintspread_arch.automatic_decoder(plain)


@pytest.mark.slow
def test_training_only_the_head_learns_the_hints_and_keeps_the_automatic_colours(
    tmp_path: Path,
) -> None:
    """A plain U-Net that colours every photo gray; the head alone learns to spread the hints."""
    import keras

    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(3)
    plain = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS)
    model = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, hints=True, spread=True)
    unet_arch.warm_start(model, plain)
    trainable = hintspread_arch.train_only_head(model)
    assert set(trainable) == set(hintspread_arch.HEAD_LAYERS)
    frozen = [w.copy() for w in model.get_layer("stride4_a_conv").get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")

    photos, truth = two_region_photos(8, np.random.default_rng(9))
    planes = hints.with_simulated_hints(photos, truth, np.random.default_rng(4))
    before = float(np.mean((model.predict_on_batch(planes) - truth) ** 2))
    for _ in range(60):
        inputs, ab = two_region_photos(16, rng)
        model.train_on_batch(hints.with_simulated_hints(inputs, ab, rng), ab)
    after = float(np.mean((model.predict_on_batch(planes) - truth) ** 2))
    assert after < 0.8 * before, (before, after)  # it takes more of the hints where they are right
    for old, new in zip(frozen, model.get_layer("stride4_a_conv").get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    zeros = {"hint_ab": np.zeros_like(truth), "hint_mask": np.zeros_like(truth[..., :1])}
    np.testing.assert_array_equal(model.predict_on_batch({**photos, **zeros}), plain.predict_on_batch(photos))

    path = tmp_path / "spread.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict_on_batch(planes), model.predict_on_batch(planes), atol=1e-6)
    with pytest.raises(ValueError, match="no spread head"):
        hintspread_arch.train_only_head(plain)


def test_hint_spread_is_a_way_of_reading_hints(tmp_path: Path) -> None:
    from test_workflow import run_params

    from colorlib import workflow
    from colorlib.workflow import hintscores

    with pytest.raises(ValueError, match="hint_spread=true needs hints=true"):
        run_params(tmp_path, tmp_path, "spread", decoder="unet", hint_spread=True)
    params = run_params(
        tmp_path, tmp_path, "spread", decoder="unet", hints=True, hint_spread=True,
        init_run="plain", hints_baseline_run="plain",
    )  # fmt: skip
    # The run it starts from and the one whose automatic colours it is compared with: no hints.
    for source in (workflow.run_model(params).start().params, hintscores.automatic_params(params)):
        assert source.run_name == "plain" and not source.hints and not source.hint_spread
