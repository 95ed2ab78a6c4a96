"""Predicting ab at a photo's own size (colorlib.colorize.ownsize, colorize --own-size)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import skimage.data
from PIL import Image

from colorlib import cli
from colorlib.archs import colorizer_arch, unet_arch
from colorlib.archs.lite0_arch import build_lite0_encoder
from colorlib.colorize import fullres, ownsize

SMALL = 64


def _perturbed(model: keras.Model) -> keras.Model:
    """Nonzero weights everywhere (the ab heads start at zero), so outputs depend on every layer."""
    rng = np.random.default_rng(0)
    model.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def _lite0_unet_colorizer(size: int, attention: bool) -> keras.Model:
    encoder = build_lite0_encoder(None, size)
    decoder = unet_arch.build_unet(
        size, unet_arch.feature_channels(colorizer_arch.multiscale_encoder(encoder)), attention=attention
    )
    return colorizer_arch.build_colorizer(encoder, decoder)


@pytest.mark.parametrize(("height", "width", "expected"), [(512, 768, (512, 768)), (321, 481, (320, 480))])
def test_own_size_rounds_each_side_to_a_multiple_of_32(height, width, expected):
    assert ownsize.own_size(height, width) == expected


def test_own_size_scales_a_large_photo_down_to_the_pixel_budget_keeping_its_aspect():
    h, w = ownsize.own_size(4000, 3000)
    assert h % 32 == 0 and w % 32 == 0
    assert h * w <= ownsize.MAX_OWN_PIXELS
    assert abs(h / w - 4 / 3) < 0.05
    assert ownsize.own_size(10, 10) == (32, 32)
    with pytest.raises(ValueError, match="positive size"):
        ownsize.own_size(0, 10)


@pytest.mark.parametrize("attention", [False, True])
def test_a_rebuilt_unet_colorizer_equals_one_built_at_that_size_with_the_same_weights(attention):
    keras.utils.set_random_seed(1)
    trained = _perturbed(_lite0_unet_colorizer(SMALL, attention))
    rebuilt = ownsize.colorizer_at_size(trained, 2 * SMALL, 2 * SMALL)
    fresh = _lite0_unet_colorizer(2 * SMALL, attention)
    fresh.set_weights(trained.get_weights())
    l_norm = np.random.default_rng(2).random((2, 2 * SMALL, 2 * SMALL, 1), dtype=np.float32)
    expected = fresh.predict_on_batch(l_norm)
    assert np.abs(expected).max() > 0.01
    np.testing.assert_allclose(rebuilt.predict_on_batch(l_norm), expected, atol=1e-5)


def test_a_rebuilt_colorizer_takes_non_square_photos_and_keeps_the_weights(small_colorizer):
    rebuilt = ownsize.colorizer_at_size(small_colorizer, 96, 160)
    assert rebuilt.input_shape == (None, 96, 160, 1)
    assert rebuilt.output_shape == (None, 96, 160, 2)
    for old, new in zip(small_colorizer.get_weights(), rebuilt.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    ab = rebuilt.predict_on_batch(np.full((1, 96, 160, 1), 0.5, np.float32))
    assert np.all(np.abs(ab) <= 1)
    assert ownsize.colorizer_at_size(small_colorizer, SMALL, SMALL) is small_colorizer
    with pytest.raises(ValueError, match="multiple of 32"):
        ownsize.colorizer_at_size(small_colorizer, 100, 160)


def test_colorize_own_size_writes_each_photo_at_its_size_and_differs_from_the_training_size(
    small_colorizer, tmp_path, capsys
):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()[:150, :200]).save(folder / "wide.png")
    Image.fromarray(skimage.data.chelsea()[:200, :130]).save(folder / "tall.png")
    model_path = tmp_path / "colorizer.keras"
    small_colorizer.save(model_path)
    for name, flags in (("own", ["--own-size"]), ("fixed", [])):
        status = cli.main(
            ["colorize", str(folder), "--out", str(tmp_path / name), "--model", str(model_path), *flags]
        )
        assert status == 0, capsys.readouterr().err
    for photo in ("wide.png", "tall.png"):
        own = np.asarray(Image.open(tmp_path / "own" / photo))
        fixed = np.asarray(Image.open(tmp_path / "fixed" / photo))
        assert own.shape == fixed.shape == np.asarray(Image.open(folder / photo)).shape
        assert np.abs(own.astype(int) - fixed.astype(int)).max() > 0
    sized = ownsize.SizedColorizers(small_colorizer)
    l_small = fullres.model_input_l(np.asarray(Image.open(folder / "wide.png")), SMALL)
    np.testing.assert_allclose(sized.predict(l_small[None]), small_colorizer.predict_on_batch(l_small[None]))
