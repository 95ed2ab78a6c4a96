"""The U-Net decoder: shapes for both encoders, the cached skip features, and learning colour."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from test_training import texture_dataset, train_and_score

from colorlib import losses
from colorlib.archs import colorizer_arch, seed_arch, unet_arch
from colorlib.color.lab import split_lab
from colorlib.core.config import SEED
from colorlib.data import featuredata, features, featurestore
from colorlib.data.images import load_resized

SIZE = 64
#: The channels of the U-Net's inputs for each encoder.
CHANNELS = {
    "efficientnet_lite0": {"bottleneck": 1280, "stride16": 112, "stride8": 40, "stride4": 24},
    "vgg16": {"bottleneck": 512, "stride16": 512, "stride8": 256, "stride4": 128},
}


@pytest.mark.parametrize("name", sorted(CHANNELS))
@pytest.mark.parametrize("attention", [False, True])
def test_unet_colorizer_gives_ab_in_tanh_range_for_both_encoders(name: str, attention: bool) -> None:
    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder(None, SIZE, name)
    multiscale = colorizer_arch.build_encoder(None, SIZE, name, multiscale=True)
    assert unet_arch.feature_channels(multiscale) == CHANNELS[name]
    decoder = unet_arch.build_unet(SIZE, CHANNELS[name], attention=attention)
    assert decoder.output_shape == (None, SIZE, SIZE, 2)
    assert unet_arch.is_unet(decoder) and not unet_arch.is_unet(seed_arch.build_decoder(SIZE))
    colorizer = colorizer_arch.build_colorizer(encoder, decoder)
    ab = colorizer.predict(np.random.default_rng(0).random((2, SIZE, SIZE, 1), dtype=np.float32), verbose=0)
    assert ab.shape == (2, SIZE, SIZE, 2) and ab.dtype == np.float32
    assert np.all(np.abs(ab) <= 1.0)


def test_multiscale_encoder_shares_the_layers_and_weights_of_the_encoder() -> None:
    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder(None, SIZE, "efficientnet_lite0")
    multiscale = colorizer_arch.multiscale_encoder(encoder)
    assert colorizer_arch.weights_fingerprint(multiscale) == colorizer_arch.weights_fingerprint(encoder)
    l_norm = np.random.default_rng(1).random((1, SIZE, SIZE, 1), dtype=np.float32)
    np.testing.assert_allclose(
        multiscale.predict(l_norm, verbose=0)["bottleneck"], encoder.predict(l_norm, verbose=0), atol=1e-5
    )
    assert colorizer_arch.multiscale_encoder(multiscale) is multiscale


def test_unet_refuses_wrong_channels_and_statistics() -> None:
    with pytest.raises(ValueError, match="feature_channels"):
        unet_arch.build_unet(SIZE, {"bottleneck": 512})
    stats = {name: (np.zeros(3), np.ones(3)) for name in unet_arch.FEATURE_INPUTS}
    with pytest.raises(ValueError, match="same encoder"):
        unet_arch.build_unet(SIZE, CHANNELS["vgg16"], stats)


def test_cached_skip_features_match_a_fresh_encoder_pass(tmp_path: Path) -> None:
    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder(None, SIZE, "efficientnet_lite0", multiscale=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(3):
        paths.append(tmp_path / f"p{index}.png")
        Image.fromarray(rng.integers(0, 255, (70, 80, 3), dtype=np.uint8)).save(paths[-1])
    cache = tmp_path / "cache"
    index = features.extract_features(paths, encoder, cache, views=1, batch_size=2, progress=False)
    assert index.skips and all(entry["key"] for entry in index.entries)
    plain = colorizer_arch.build_encoder(None, SIZE, "efficientnet_lite0")
    plain.set_weights(encoder.get_weights())
    plain_index = features.extract_features(paths, plain, tmp_path / "plain", views=1, progress=False)
    assert {e["key"] for e in plain_index.entries}.isdisjoint(e["key"] for e in index.entries)

    dataset = featuredata.FeatureDataset(index, batch_size=3, shuffle=False)
    inputs, ab = dataset[0]
    l_norm, expected_ab = split_lab(np.stack([load_resized(path, SIZE) for path in paths]))
    fresh = encoder.predict(l_norm, verbose=0)
    for name in unet_arch.FEATURE_INPUTS:
        np.testing.assert_allclose(inputs[name], fresh[name], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(inputs["l"], l_norm, atol=1e-3)
    np.testing.assert_allclose(ab, expected_ab, atol=1e-3)
    stats = dataset.channel_stats()
    np.testing.assert_allclose(
        stats["stride8"][0], inputs["stride8"].mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-4
    )

    store = featurestore.FeatureStore(cache)
    shard_id = store.shard_ids()[0]
    assert sorted(store.extra_files(shard_id)) == ["l", "stride16", "stride4", "stride8"]
    store.extra_files(shard_id)["stride4"].write_bytes(b"damaged")
    assert "stride4" in store.verify(shard_id)
    merged = tmp_path / "merged"
    assert featurestore.merge_stores([cache], merged) == 0  # the damaged shard is not copied


def unet_texture_task(size: int = SIZE) -> dict:
    """The texture -> colour task of test_training.py, prepared for a U-Net (random encoder).

    ``{"encoder", "channels", "stats", "train", "validation", "test"}``: the skips'
    channels and standardization statistics, ``(inputs, ab)`` pairs, ``(rgb, l)`` test photos.
    """
    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder(None, size)
    multiscale = colorizer_arch.multiscale_encoder(encoder)
    _, train_l, train_ab = texture_dataset(96, seed=1)
    _, val_l, val_ab = texture_dataset(16, seed=2)
    test_rgb, test_l, _ = texture_dataset(16, seed=3)

    def inputs(l_norm: np.ndarray) -> dict[str, np.ndarray]:
        return unet_arch.decoder_inputs(multiscale.predict(l_norm, batch_size=32, verbose=0), l_norm)

    train_inputs, val_inputs = inputs(train_l), inputs(val_l)
    stats = {
        name: (train_inputs[name].mean(axis=(0, 1, 2)), train_inputs[name].var(axis=(0, 1, 2)))
        for name in unet_arch.FEATURE_INPUTS
    }
    return {
        "encoder": encoder,
        "channels": unet_arch.feature_channels(multiscale),
        "stats": stats,
        "train": (train_inputs, train_ab),
        "validation": (val_inputs, val_ab),
        "test": (test_rgb, test_l),
    }


@pytest.mark.slow
def test_short_unet_training_from_random_encoder_beats_gray_baseline(tmp_path: Path) -> None:
    """The texture -> colour test of test_training.py, with the U-Net and standardized skips."""
    task = unet_texture_task()
    decoder = unet_arch.build_unet(SIZE, task["channels"], task["stats"])
    decoder = losses.compile_model(decoder, learning_rate=2e-3)
    result, model_psnr, gray_psnr = train_and_score(
        decoder, task["encoder"], task["train"], task["validation"], *task["test"], tmp_path, epochs=16
    )
    print(f"held-out PSNR: U-Net {model_psnr:.2f} dB, gray baseline {gray_psnr:.2f} dB")
    assert model_psnr > gray_psnr + 3.0
    assert result.history["val_loss"][-1] < result.history["val_loss"][0]
