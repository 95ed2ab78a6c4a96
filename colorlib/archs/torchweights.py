"""Read PyTorch state dicts saved in the legacy (non-zip) format, safely and without PyTorch.

The legacy format (``torch.save`` before 1.6, or with ``_use_new_zipfile_serialization=False``)
is five pickles back to back: the magic number, the protocol version, a dict about the
writing system (``little_endian``, type sizes), the saved object and the list of its
storage keys. Then come the storages' bytes, in that order, each after its element count
as a little-endian int64. In the object, a tensor is a call of
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` and a storage is a
persistent id ``('storage', type, key, location, element count, None)``.

Unpickling runs whatever code a pickle names, so :func:`read_torch_state_dict` checks the
file's SHA-256 before unpickling a byte of it, and its unpickler resolves only the four
globals a state dict needs, to harmless stand-ins. This module does not import Keras.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import struct
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

#: First record of PyTorch's legacy serialization, and the protocol version after it.
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001


class WeightsFileError(ValueError):
    """A weights file is not the expected one, is malformed, or asks for something forbidden."""


class _StorageType(NamedTuple):
    """Stand-in for ``torch.FloatStorage`` and the like: the element type of a storage."""

    name: str
    dtype: np.dtype


class _Storage(NamedTuple):
    """A storage named by the pickle; its bytes follow the pickles in the file."""

    key: str
    type: _StorageType
    numel: int


class _TensorRef(NamedTuple):
    """What ``torch._utils._rebuild_tensor_v2`` would build: a strided view of a storage."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _is_int_tuple(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(item, int) and item >= 0 for item in value)


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_ignored: Any) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``; the rest (requires_grad, hooks) is dropped."""
    if not (
        isinstance(storage, _Storage)
        and isinstance(offset, int)
        and offset >= 0
        and _is_int_tuple(size)
        and _is_int_tuple(stride)
        and len(size) == len(stride)
    ):
        raise WeightsFileError(
            "The weights file describes a tensor with invalid storage, offset, size or stride."
        )
    return _TensorRef(storage, offset, size, stride)


#: The only globals the restricted unpickler resolves, each to a harmless stand-in.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch", "FloatStorage"): _StorageType("FloatStorage", np.dtype("<f4")),
    ("torch", "LongStorage"): _StorageType("LongStorage", np.dtype("<i8")),
}


def _with_remedy(message: str, remedy: str) -> str:
    return f"{message} {remedy}" if remedy else message


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles PyTorch's legacy state dicts and nothing else: no other global can be loaded."""

    def __init__(self, stream: io.BytesIO, remedy: str) -> None:
        super().__init__(stream)
        self.remedy = remedy
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            message = (
                f"The weights file asks to load the Python object '{module}.{name}', which a PyTorch "
                "state dict never needs; refusing to read it (it may run code)."
            )
            raise WeightsFileError(_with_remedy(message, self.remedy)) from None

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage type, key, location, number of elements, view metadata)
        if not (
            isinstance(pid, tuple)
            and len(pid) == 6
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
            and isinstance(pid[2], str)
            and isinstance(pid[4], int)
            and pid[4] >= 0
            and pid[5] is None
        ):
            raise WeightsFileError(f"The weights file has an unsupported storage record {pid!r}.")
        storage = _Storage(pid[2], pid[1], pid[4])
        if self.storages.setdefault(storage.key, storage) != storage:
            raise WeightsFileError(f"The weights file describes storage {storage.key} twice, differently.")
        return storage


def _load_pickle(stream: io.BytesIO, remedy: str) -> tuple[Any, dict[str, _Storage]]:
    unpickler = _RestrictedUnpickler(stream, remedy)
    try:
        value = unpickler.load()
    except WeightsFileError:
        raise
    except Exception as error:
        raise WeightsFileError(f"The weights file is not a readable PyTorch legacy file ({error}).") from None
    return value, unpickler.storages


def _tensor_values(tensor: _TensorRef, data: np.ndarray) -> np.ndarray:
    """The elements of a strided view, copied into a C-ordered array, with bounds checked."""
    index = np.asarray(tensor.offset, dtype=np.int64)
    for length, step in zip(tensor.size, tensor.stride, strict=True):
        index = index[..., np.newaxis] + np.arange(length, dtype=np.int64) * step
    if index.size and index.max() >= data.size:
        raise WeightsFileError(
            f"A tensor of the weights file reaches past the end of its storage {tensor.storage.key}."
        )
    return np.asarray(data[index])


def _parse_legacy_torch_file(content: bytes, remedy: str) -> dict[str, np.ndarray]:
    stream = io.BytesIO(content)
    magic, _ = _load_pickle(stream, remedy)
    if magic != LEGACY_MAGIC_NUMBER:
        raise WeightsFileError(
            "The weights file is not in PyTorch's legacy serialization (wrong magic number); "
            "only that format is supported."
        )
    version, _ = _load_pickle(stream, remedy)
    system, _ = _load_pickle(stream, remedy)
    if version != LEGACY_PROTOCOL_VERSION or not isinstance(system, dict) or not system.get("little_endian"):
        raise WeightsFileError(
            f"The weights file has protocol version {version!r} or is big-endian; only version "
            f"{LEGACY_PROTOCOL_VERSION}, little-endian, is supported."
        )
    state, storages = _load_pickle(stream, remedy)
    keys, _ = _load_pickle(stream, remedy)
    if not isinstance(state, dict) or not isinstance(keys, list) or set(keys) != set(storages):
        raise WeightsFileError("The weights file does not hold a state dict with its list of storages.")
    arrays = {}
    for key in keys:
        storage = storages[key]
        header = stream.read(8)
        numel = struct.unpack("<q", header)[0] if len(header) == 8 else -1
        if numel != storage.numel:
            raise WeightsFileError(
                f"Storage {key} of the weights file has {numel} elements, its tensors say {storage.numel}."
            )
        raw = stream.read(numel * storage.type.dtype.itemsize)
        if len(raw) != numel * storage.type.dtype.itemsize:
            raise WeightsFileError(f"The weights file ends inside storage {key}: it is truncated.")
        arrays[key] = np.frombuffer(raw, dtype=storage.type.dtype)
    if stream.read(1):
        raise WeightsFileError("The weights file has unexpected bytes after its last storage.")
    tensors = {}
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, _TensorRef):
            raise WeightsFileError(f"The state dict entry {name!r} of the weights file is not a tensor.")
        tensors[name] = _tensor_values(tensor, arrays[tensor.storage.key]).astype(
            tensor.storage.type.dtype.newbyteorder("="), copy=False
        )
    return tensors


def _check_sha256(path: Path, content: bytes, expected: str, remedy: str) -> None:
    """:class:`WeightsFileError` unless the SHA-256 of ``content`` (the bytes of ``path``) is ``expected``."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        message = (
            f"The weights file {path} is not the expected one: its SHA-256 is {actual}, expected "
            f"{expected}. It is damaged or was replaced."
        )
        raise WeightsFileError(_with_remedy(message, remedy))


def read_torch_state_dict(path: Path | str, sha256: str | None, remedy: str = "") -> dict[str, np.ndarray]:
    """Read a PyTorch legacy-format state dict without PyTorch: ``{name: numpy array}``.

    The file is read once into memory; when ``sha256`` is given its SHA-256 must match
    before a byte of it is unpickled, else :class:`WeightsFileError`. ``sha256=None``
    skips that check, so it must be passed explicitly. Either way the pickle is read with
    a restricted unpickler that resolves only ``collections.OrderedDict``,
    ``torch._utils._rebuild_tensor_v2`` and the Float and Long storage types, to
    stand-ins; any other global raises :class:`WeightsFileError`. ``remedy``, a sentence
    saying how to get the right file, ends the message of a wrong hash or a forbidden global.
    Arrays are float32 (parameters, running statistics) or int64 (``num_batches_tracked``),
    in PyTorch layout.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    content = path.read_bytes()
    if sha256 is not None:
        _check_sha256(path, content, sha256, remedy)
    return _parse_legacy_torch_file(content, remedy)
