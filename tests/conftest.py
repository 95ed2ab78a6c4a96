"""Shared fixtures. TensorFlow's logging and the Keras backend are set before anything imports them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The shipped colorizer's ONNX export (made once, ~20 s) goes to a folder the test workers share,
# not the user's ~/.cache.
os.environ.setdefault("COLORLIB_CACHE", str(Path(tempfile.gettempdir()) / f"colorlib-tests-{os.getuid()}"))

import pytest

from colorlib.core.config import SEED, shared_data_dir

#: Side of the images of ``small_colorizer``: small, so the suite stays fast on two CPU cores.
SMALL_IMAGE_SIZE = 64


def offline_environment(keras_home: Path, *dropped: str) -> dict[str, str]:
    """This process's environment for a subprocess that must work offline: any download fails at
    once (the proxy is a closed local port), Keras looks in the empty ``keras_home``, TensorFlow's
    log level is left unset (so its start-up lines would show), and ``dropped`` variables go."""
    environment = {
        name: value for name, value in os.environ.items() if name not in ("TF_CPP_MIN_LOG_LEVEL", *dropped)
    }
    closed = "http://127.0.0.1:9"
    return environment | {
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "NO_PROXY": "",
        "KERAS_HOME": str(keras_home),
    }


def pytest_configure(config: pytest.Config) -> None:
    # Keras 3 on NumPy 2 warns on every predict (keras/src/backend/tensorflow/core.py).
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real photographs (``../shared/data``); the test is skipped when they are absent."""
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"The shared photographs are not at {root} (set COLORLIB_SHARED_DATA).")
    return root


@pytest.fixture(scope="session")
def small_colorizer():
    """A compiled colorizer for 64×64 images with random encoder weights, built once.

    Shared by every test of the session: use it for predictions, do not train it.
    """
    import keras

    from colorlib.archs import colorizer_arch, seed_arch

    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder(None, SMALL_IMAGE_SIZE)
    decoder = seed_arch.build_decoder(SMALL_IMAGE_SIZE)
    return colorizer_arch.build_colorizer(encoder, decoder)
