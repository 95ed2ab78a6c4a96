"""colorlib.archs (colorizer, VGG16, seed decoder): encoder, decoder, full model, weights files,
and the offline error message."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from keras.applications import vgg16

from colorlib.archs import colorizer_arch, seed_arch, vgg16_arch
from colorlib.core import config
from colorlib.training import fitting

#: Side of the images in these tests (the ``small_colorizer`` fixture uses the same).
SMALL_IMAGE_SIZE = 64


@pytest.fixture(scope="module")
def encoder_256() -> keras.Model:
    """The encoder at the original project's 256×256 input, random weights (never run)."""
    return colorizer_arch.build_encoder(None, 256)


def test_default_encoder_is_19_frozen_vgg16_layers_giving_8x8x512(encoder_256) -> None:
    vgg = encoder_256.get_layer("vgg16")
    assert len(vgg.layers) == 19
    assert vgg.layers[-1].name == "block5_pool"
    assert all(not layer.trainable for layer in vgg.layers)
    assert len(encoder_256.trainable_weights) == 0
    assert encoder_256.input_shape == (None, 256, 256, 1)
    assert encoder_256.output_shape == (None, 8, 8, 512)


def test_default_decoder_gives_256x256x2_in_tanh_range() -> None:
    decoder = seed_arch.build_decoder(256)
    assert decoder.input_shape == (None, 8, 8, 512)
    assert decoder.output_shape == (None, 256, 256, 2)
    # Large features drive the tanh into saturation: outputs must still stay in [-1, 1].
    features = np.random.default_rng(0).normal(0, 50, (1, 8, 8, 512)).astype("float32")
    ab = decoder.predict(features, verbose=0)
    assert ab.shape == (1, 256, 256, 2)
    assert np.abs(ab).max() <= 1.0 and np.abs(ab).max() > 0.5


def test_default_colorizer_maps_l_256_to_ab_256(encoder_256) -> None:
    model = colorizer_arch.build_colorizer(encoder_256, seed_arch.build_decoder(256))
    assert model.input_shape == (None, 256, 256, 1)
    assert model.output_shape == (None, 256, 256, 2)


def test_small_colorizer_predicts_ab_in_range(small_colorizer) -> None:
    size = SMALL_IMAGE_SIZE
    l_norm = np.random.default_rng(1).random((2, size, size, 1), dtype=np.float32)
    ab = small_colorizer.predict(l_norm, verbose=0)
    assert ab.shape == (2, size, size, 2)
    assert ab.dtype == np.float32
    assert np.all(np.abs(ab) <= 1.0)


def test_colorizer_is_compiled_with_mse_and_adam_2e_4(small_colorizer) -> None:
    assert small_colorizer.loss == "mse"
    assert isinstance(small_colorizer.optimizer, keras.optimizers.Adam)
    learning_rate = float(keras.ops.convert_to_numpy(small_colorizer.optimizer.learning_rate))
    assert learning_rate == pytest.approx(2e-4)


def test_only_the_decoder_trains(small_colorizer) -> None:
    encoder, decoder = colorizer_arch.split_colorizer(small_colorizer)
    assert len(encoder.trainable_weights) == 0
    assert len(small_colorizer.trainable_weights) == len(decoder.trainable_weights) > 0


def test_split_colorizer_refuses_other_models() -> None:
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="build_colorizer"):
        colorizer_arch.split_colorizer(other)


def test_gray_to_vgg_input_layer_matches_keras_preprocess_input() -> None:

    l_norm = np.random.default_rng(2).random((2, 8, 8, 1), dtype=np.float32)
    l_norm[0, 0, 0, 0] = 0.5
    got = keras.ops.convert_to_numpy(vgg16_arch.GrayToVGGInput()(l_norm))
    expected = vgg16.preprocess_input(np.repeat(l_norm * 255.0, 3, axis=-1))
    assert got.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(got[0, 0, 0], [127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68], atol=1e-4)


@pytest.mark.parametrize("size", [0, 48, 100])
def test_image_size_must_be_a_multiple_of_32(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        seed_arch.build_decoder(size)


def test_missing_weights_file_is_a_clear_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_vgg16.h5"
    with pytest.raises(FileNotFoundError, match="No encoder weights file") as error:
        colorizer_arch.build_encoder(missing, SMALL_IMAGE_SIZE)
    assert str(missing) in str(error.value)


def test_encoder_from_a_weights_file_reproduces_the_features(tmp_path: Path) -> None:
    keras.utils.set_random_seed(7)
    vgg = vgg16_arch.build_vgg16(None, SMALL_IMAGE_SIZE)
    weights_path = tmp_path / "vgg16.weights.h5"
    vgg.save_weights(weights_path)

    encoder = colorizer_arch.build_encoder(weights_path, SMALL_IMAGE_SIZE)
    assert colorizer_arch.weights_fingerprint(
        encoder.get_layer("vgg16")
    ) == colorizer_arch.weights_fingerprint(vgg)
    l_norm = np.random.default_rng(3).random((2, SMALL_IMAGE_SIZE, SMALL_IMAGE_SIZE, 1))
    l_norm = l_norm.astype(np.float32)
    expected = vgg.predict(vgg16.preprocess_input(np.repeat(l_norm * 255.0, 3, axis=-1)), verbose=0)
    features = encoder.predict(l_norm, verbose=0)
    assert features.shape == (2, 2, 2, 512)
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)

    other = colorizer_arch.build_encoder(None, SMALL_IMAGE_SIZE)
    assert colorizer_arch.weights_fingerprint(other) != colorizer_arch.weights_fingerprint(encoder)


@pytest.fixture
def offline_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """KERAS_HOME is an empty folder and every download fails as Keras fails offline.

    Returns what the fake ``get_file`` was asked for, to check the folder Keras would use.
    """
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    calls: dict[str, object] = {"home": home}

    def fail_to_fetch(fname, origin=None, cache_dir=None, cache_subdir="datasets", **kwargs):
        from keras.src.backend import config

        base = Path(cache_dir if cache_dir is not None else config.keras_home())
        calls.update(fname=fname, folder=base / cache_subdir)
        raise Exception(
            f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution"
        )

    from keras.src.utils import file_utils

    monkeypatch.setattr(file_utils, "get_file", fail_to_fetch)
    monkeypatch.setattr(keras.utils, "get_file", fail_to_fetch)
    return calls


def test_keras_models_dir_follows_keras_home(offline_keras) -> None:
    assert config.keras_models_dir() == offline_keras["home"] / "models"


def test_offline_imagenet_weights_error_says_what_file_to_get_and_where(offline_keras) -> None:
    with pytest.raises(vgg16_arch.WeightsUnavailableError) as error:
        colorizer_arch.build_encoder("imagenet", SMALL_IMAGE_SIZE)
    assert isinstance(error.value, FileNotFoundError)
    message = str(error.value)
    folder = offline_keras["home"] / "models"
    for needed in (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "58,889,256 bytes",
        "6d6bbae143d832006294945121d1f1fc",
        str(folder),
        "encoder_weights",
    ):
        assert needed in message
    assert "probably offline" in message
    # The folder named in the message is the one Keras was asked to look in.
    assert offline_keras["fname"] == "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert offline_keras["folder"] == folder


def test_offline_error_names_a_bad_cached_copy(offline_keras) -> None:
    folder = offline_keras["home"] / "models"
    folder.mkdir()
    (folder / vgg16_arch.VGG16_WEIGHTS_FILE).write_bytes(b"not the weights")
    with pytest.raises(vgg16_arch.WeightsUnavailableError, match="checksum"):
        vgg16_arch.build_vgg16("imagenet", SMALL_IMAGE_SIZE)


def test_saved_colorizer_loads_back_with_the_same_predictions(small_colorizer, tmp_path) -> None:
    path = tmp_path / "colorizer.keras"
    small_colorizer.save(path)
    loaded = colorizer_arch.load_model(path)
    l_norm = np.full((1, SMALL_IMAGE_SIZE, SMALL_IMAGE_SIZE, 1), 0.4, dtype=np.float32)
    np.testing.assert_allclose(
        loaded.predict(l_norm, verbose=0), small_colorizer.predict(l_norm, verbose=0), atol=1e-5
    )
    with pytest.raises(FileNotFoundError, match="Train one first"):
        colorizer_arch.load_model(tmp_path / "missing.keras")


def test_the_encoder_parameter_builds_either_encoder_and_a_matching_decoder(tmp_path: Path) -> None:
    assert list(colorizer_arch.ENCODERS) == list(config.ENCODER_NAMES) == ["vgg16", "efficientnet_lite0"]
    l_norm = np.random.default_rng(4).random((2, SMALL_IMAGE_SIZE, SMALL_IMAGE_SIZE, 1), dtype=np.float32)
    for name, channels in colorizer_arch.ENCODERS.items():
        encoder = colorizer_arch.build_encoder(None, SMALL_IMAGE_SIZE, name)
        assert encoder.output_shape == (None, 2, 2, channels)
        assert colorizer_arch.backbone(encoder).name == {"vgg16": "vgg16"}.get(name, "efficientnet_lite0")
        decoder = seed_arch.build_decoder(SMALL_IMAGE_SIZE, channels=encoder.output_shape[-1])
        colorizer = colorizer_arch.build_colorizer(encoder, decoder)
        path = fitting.save_model(colorizer, tmp_path / f"{name}.keras")
        reloaded = colorizer_arch.load_model(path)  # Lite0's input layer is registered for loading
        np.testing.assert_allclose(reloaded.predict(l_norm, verbose=0), colorizer.predict(l_norm, verbose=0))
    with pytest.raises(ValueError, match="Unknown encoder 'resnet'"):
        colorizer_arch.build_encoder(None, SMALL_IMAGE_SIZE, "resnet")
    with pytest.raises(ValueError, match=r"'imagenet'.*or None"):
        colorizer_arch.build_encoder(str(tmp_path / "vgg16.h5"), SMALL_IMAGE_SIZE, "efficientnet_lite0")
