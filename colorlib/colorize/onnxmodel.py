"""Colorizers as ONNX files, run by ONNX Runtime (``colorlib export``, ``--runtime onnx``).

:func:`export_onnx` writes a Keras colorizer (the shipped one by default: the Lite0 encoder and
the decoder with its hint head, as one graph) to an ``.onnx`` file with Keras' own exporter
(``model.export(format="onnx")``, through tf2onnx), and beside it a record, ``NAME.onnx.json``,
holding the file's SHA-256 and what its inputs and output mean. The same description is written
into the file's metadata (``metadata_props``), for programs in other languages (``docs/onnx.md``).

:class:`OnnxColorizer` runs such a file on ONNX Runtime, after checking its SHA-256 against the
record. It answers what colorlib asks of a Keras colorizer (``input_shape``, ``output_shape``,
``predict_on_batch``), so ``colorize``, ``serve`` and videos run it unchanged.

The graph (all ``float32``, channels last, ``N`` free, ``S`` fixed by the model: 256 for the
shipped colorizer, since its hint head's blurs are sized for it):

- ``l_channel`` ``(N, S, S, 1)``: CIE L / 100, in [0, 1];
- ``hint_ab`` ``(N, S, S, 2)``: a hint's CIE a, b / 128, in [-1, 1], where the mask is 1, else 0;
- ``hint_mask`` ``(N, S, S, 1)``: 1 at hinted pixels, else 0 (no hints: all zeros);
- ``ab`` ``(N, S, S, 2)``: the predicted CIE a, b / 128, in [-1, 1].

A colorizer trained without hints has ``l_channel`` alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colorlib.core.config import AB_SCALE, HINT_AB, HINT_MASK, L_MAX, writable_dir
from colorlib.core.io import atomic_write, file_hash, read_json, write_json

#: The ONNX operator set written (ONNX Runtime 1.17 and later, onnxruntime-web, run it).
OPSET = 17
#: Names of the graph's inputs and output.
INPUT_L, OUTPUT_AB = "l_channel", "ab"
#: The record beside ``NAME.onnx``: ``NAME.onnx.json``.
RECORD_SUFFIX = ".json"
#: The runtimes ``colorize`` and ``serve`` choose between (``--runtime``). ``auto``, the default:
#: for photos, ONNX Runtime with the shipped colorizer and ``.onnx`` files, unless an option needs
#: Keras (a reference, ``--own-size``, ``--temperature``); Keras for a ``.keras`` model (exporting
#: one takes about 20 s), for videos and for ``serve``, where Keras is faster once started.
#: ONNX Runtime gives the same colours and starts without TensorFlow (docs/onnx.md).
AUTO_RUNTIME, KERAS_RUNTIME, ONNX_RUNTIME = "auto", "keras", "onnx"
RUNTIMES = (AUTO_RUNTIME, KERAS_RUNTIME, ONNX_RUNTIME)
#: What the record and the metadata say of each array.
MEANINGS = {
    INPUT_L: "CIE L / 100 in [0, 1] (L of the photo resized to S x S)",
    HINT_AB: "a hint's CIE (a, b) / 128 in [-1, 1] where hint_mask is 1, else 0",
    HINT_MASK: "1 at hinted pixels, else 0; all zeros for automatic colours",
    OUTPUT_AB: "predicted CIE (a, b) / 128 in [-1, 1]",
}


class OnnxFileError(ValueError):
    """An ONNX colorizer file that is missing its record, damaged, or not a colorizer."""


def record_path(path: Path | str) -> Path:
    """The record of ``path``: ``colorizer.onnx`` -> ``colorizer.onnx.json``."""
    path = Path(path)
    return path.with_name(path.name + RECORD_SUFFIX)


def onnx_cache_dir() -> Path:
    """Where the shipped colorizer's ONNX export is kept: ``$COLORLIB_CACHE/onnx`` or
    ``~/.cache/colorlib/onnx`` (the system's temporary folder when home cannot be written)."""
    root = Path(os.environ.get("COLORLIB_CACHE") or Path("~/.cache/colorlib").expanduser())
    return writable_dir(root, "colorlib") / "onnx"


@dataclass(frozen=True)
class OnnxRecord:
    """What ``NAME.onnx.json`` holds: the file's SHA-256 and size, its arrays and where it came from."""

    sha256: str
    bytes: int
    image_size: int
    inputs: dict[str, list]
    output: dict[str, list]
    source: str
    opset: int

    def description(self) -> dict[str, Any]:
        """What the arrays are: written into the file's metadata and into its record."""
        return {
            "inputs": self.inputs,
            "output": self.output,
            "meanings": {name: MEANINGS[name] for name in [*self.inputs, OUTPUT_AB]},
            "lab": f"L = {L_MAX:g} * l_channel; a, b = {AB_SCALE:g} * ab (CIE LAB, D65, sRGB)",
            "source": self.source,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "format": "onnx",
            "sha256": self.sha256,
            "bytes": self.bytes,
            "image_size": self.image_size,
            **self.description(),
            "layout": "float32, channels last (N, S, S, C); N is free, S fixed",
            "opset": self.opset,
        }


def _freeze_constants(model) -> list[tuple[Any, Any, Any]]:
    """Make the Normalization layers' mean and variance NumPy arrays, so that the exported graph
    holds them as constants (as tensors, tf2onnx leaves them as extra graph inputs); what to restore."""
    import keras

    changed = []
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Normalization) and layer.mean is not None:
            changed.append((layer, layer.mean, layer.variance))
            layer.mean = np.asarray(layer.mean)
            layer.variance = np.asarray(layer.variance)
    return changed


def _finish_graph(raw: Path, target: Path, input_names: Sequence[str], description: dict) -> None:
    """Rename the output to ``ab``, name the batch dimension ``N`` and write the description into
    the metadata; written atomically to ``target``."""
    import onnx

    graph_model = onnx.load(str(raw))
    graph = graph_model.graph
    if [item.name for item in graph.input] != list(input_names) or len(graph.output) != 1:
        raise OnnxFileError(
            f"The exported graph has inputs {[item.name for item in graph.input]} and "
            f"{len(graph.output)} outputs; expected {list(input_names)} and one (ab)."
        )
    old = graph.output[0].name
    for node in graph.node:
        node.output[:] = [OUTPUT_AB if name == old else name for name in node.output]
        node.input[:] = [OUTPUT_AB if name == old else name for name in node.input]
    graph.output[0].name = OUTPUT_AB
    for value in [*graph.input, *graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    del graph_model.metadata_props[:]
    for key, value in description.items():
        entry = graph_model.metadata_props.add()
        entry.key, entry.value = f"colorlib.{key}", value if isinstance(value, str) else json.dumps(value)
    graph_model.producer_name = "colorlib"
    onnx.checker.check_model(graph_model)
    with atomic_write(target, suffix=".onnx") as temporary:
        onnx.save(graph_model, str(temporary))


def export_onnx(model, path: Path | str, source: str, opset: int = OPSET) -> OnnxRecord:
    """Write the Keras colorizer ``model`` to ``path`` (``.onnx``) and its record beside it.

    ``source`` says which model it is (kept in the record and the metadata). The batch size stays
    free; the spatial size is the model's. Raises ValueError when ``path`` does not end in
    ``.onnx``, and :class:`OnnxFileError` when the graph does not come out with the expected arrays.
    """
    from colorlib.colorize.fullres import model_image_size, takes_hints

    path = Path(path).expanduser()
    if path.suffix != ".onnx":
        raise ValueError(f"The ONNX file's name must end in .onnx, got {path}.")
    size = model_image_size(model)
    names = [INPUT_L, HINT_AB, HINT_MASK] if takes_hints(model) else [INPUT_L]
    channels = {INPUT_L: 1, HINT_AB: 2, HINT_MASK: 1}
    inputs = {name: ["N", size, size, channels[name]] for name in names}
    output = {OUTPUT_AB: ["N", size, size, 2]}
    zeros = [np.zeros((1, size, size, channels[name]), np.float32) for name in names]
    model.predict_on_batch(zeros if len(zeros) > 1 else zeros[0])  # Keras exports called models only
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = _freeze_constants(model)
    try:
        with tempfile.TemporaryDirectory(prefix="colorlib-onnx-") as folder:
            raw = Path(folder) / "raw.onnx"
            with warnings.catch_warnings():  # Keras' tf2onnx shim probes np.object (a FutureWarning)
                warnings.simplefilter("ignore", FutureWarning)
                model.export(str(raw), format="onnx", verbose=False, opset_version=opset)
            described = OnnxRecord(
                sha256="", bytes=0, image_size=size, inputs=inputs, output=output, source=source, opset=opset
            )
            _finish_graph(raw, path, names, described.description())
    finally:
        for layer, mean, variance in changed:
            layer.mean, layer.variance = mean, variance
    record = dataclasses.replace(described, sha256=file_hash(path), bytes=path.stat().st_size)
    write_json(record_path(path), record.as_json())
    return record


def check_onnx_file(path: Path | str) -> dict[str, Any]:
    """The record of the ONNX colorizer ``path``, after checking the file's SHA-256 against it.

    Raises FileNotFoundError when the file or its record is missing, and :class:`OnnxFileError`
    naming both SHA-256 values when the file is damaged (or was changed after export).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"No ONNX colorizer at {path}; write one with `colorlib export --out {path}`."
        )
    record_file = record_path(path)
    if not record_file.is_file():
        raise FileNotFoundError(
            f"{path} has no record beside it ({record_file.name}, written by `colorlib export`), so its "
            "SHA-256 cannot be checked; export it again with `colorlib export`."
        )
    record = read_json(record_file)
    actual = file_hash(path)
    if actual != record.get("sha256"):
        raise OnnxFileError(
            f"The ONNX colorizer {path} is damaged or was changed: its SHA-256 is {actual}, but "
            f"{record_file.name} says {record.get('sha256')}. Export it again with `colorlib export`."
        )
    return record


class OnnxColorizer:
    """An ONNX colorizer file run by ONNX Runtime, checked by its SHA-256 first.

    It has what colorlib uses of a Keras colorizer: ``input_shape`` (a list of three shapes for a
    hint colorizer, as Keras gives), ``output_shape``, ``predict_on_batch`` and ``name``.
    ``threads``: ONNX Runtime's threads for one call (default: its own choice, the cores).
    """

    def __init__(self, path: Path | str, threads: int | None = None) -> None:
        import onnxruntime

        self.path = Path(path).expanduser()
        self.record = check_onnx_file(self.path)
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # ONNX Runtime raises its own kinds (InvalidGraph, Fail, ...)
            raise OnnxFileError(f"ONNX Runtime cannot load {self.path}: {error}") from None
        self.input_names = [item.name for item in self.session.get_inputs()]
        shapes = [
            tuple(None if isinstance(d, str) or d is None else int(d) for d in item.shape)
            for item in self.session.get_inputs()
        ]
        outputs = [item.name for item in self.session.get_outputs()]
        if self.input_names[0] != INPUT_L or outputs != [OUTPUT_AB]:
            raise OnnxFileError(
                f"{self.path} is not a colorlib colorizer: its inputs are {self.input_names} and its "
                f"outputs {outputs}; expected {INPUT_L} first, and {OUTPUT_AB}."
            )
        self.input_shape = shapes if len(shapes) > 1 else shapes[0]
        self.output_shape = tuple(
            None if isinstance(d, str) or d is None else int(d) for d in self.session.get_outputs()[0].shape
        )
        self.name = self.path.stem

    def predict_on_batch(self, batch) -> np.ndarray:
        """ab ``float32 (N, S, S, 2)`` for L ``(N, S, S, 1)``, or ``[L, hint_ab, hint_mask]``."""
        arrays = list(batch) if isinstance(batch, (list, tuple)) else [batch]
        if len(arrays) != len(self.input_names):
            raise ValueError(f"{self.path.name} takes {len(self.input_names)} arrays, got {len(arrays)}.")
        pairs = zip(self.input_names, arrays, strict=True)
        feeds = {name: np.asarray(array, dtype=np.float32) for name, array in pairs}
        return self.session.run([OUTPUT_AB], feeds)[0]

    def __repr__(self) -> str:
        return f"OnnxColorizer({str(self.path)!r})"


def _cached_export(path: Path, load_model, source: str, progress: bool) -> Path:
    """``path`` if it holds a sound export, else the model ``load_model()`` gives exported there.
    Processes that ask at once wait for one another (a lock file beside it), so one exports."""
    import fcntl
    import sys

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            try:
                check_onnx_file(path)
                return path
            except (OSError, ValueError) as error:
                print(f"Exporting again: {error}", file=sys.stderr)
        if progress:
            print(f"Exporting {source} to ONNX, once (about 20 s): {path}", file=sys.stderr)
        from colorlib.core import quiet

        quiet.import_tensorflow_quietly()  # the export runs Keras on TensorFlow: without its start-up lines
        export_onnx(load_model(), path, source=source)
    return path


def shipped_onnx(progress: bool = True) -> Path:
    """The shipped colorizer as ONNX: exported once into :func:`onnx_cache_dir` (named by its decoder's
    SHA-256 and colorlib's version, so a new colorizer or colorlib gets a new file) and reused while
    its own SHA-256 holds."""
    from colorlib import __version__
    from colorlib.colorize import pretrained

    sha256 = pretrained.read_manifest()["sha256"]
    path = onnx_cache_dir() / f"shipped-{sha256[:12]}-colorlib{__version__}.onnx"
    source = f"the shipped colorizer (decoder {sha256})"
    return _cached_export(path, pretrained.load_pretrained, source, progress)


def exported_model(model, model_file: Path | str, progress: bool = True) -> Path:
    """The Keras colorizer ``model``, loaded from ``model_file`` (``.keras``), as ONNX: exported once
    into :func:`onnx_cache_dir`, named by the file's SHA-256."""
    model_file = Path(model_file)
    sha256 = file_hash(model_file)
    path = onnx_cache_dir() / f"{model_file.stem}-{sha256[:12]}.onnx"
    return _cached_export(path, lambda: model, f"{model_file.name} (SHA-256 {sha256})", progress)


__all__ = [
    "AUTO_RUNTIME",
    "INPUT_L",
    "KERAS_RUNTIME",
    "ONNX_RUNTIME",
    "OPSET",
    "OUTPUT_AB",
    "RUNTIMES",
    "OnnxColorizer",
    "OnnxFileError",
    "OnnxRecord",
    "check_onnx_file",
    "export_onnx",
    "exported_model",
    "onnx_cache_dir",
    "record_path",
    "shipped_onnx",
]
