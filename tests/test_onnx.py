"""The colorizer as an ONNX file, run by ONNX Runtime (issue 41): the export, the same colours as
Keras with and without hints, a damaged file refused by its SHA-256, and the commands."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from colorlib.cli import main
from colorlib.cli.commands import _runtime
from colorlib.colorize import onnxmodel
from colorlib.colorize.editing import PhotoEditor
from colorlib.colorize.fullres import colorize_array, model_image_size
from colorlib.colorize.pretrained import load_pretrained
from colorlib.data.hints import Hint, hint_planes

#: Five photos scikit-image ships (no download), of different kinds.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
HINTS = [Hint(40.0, 60.0, (0.45, 0.3)), Hint(150.0, 120.0, (-0.2, -0.45))]


@pytest.fixture(scope="module")
def shipped():
    """The shipped colorizer in Keras, and its ONNX export (made once into COLORLIB_CACHE)."""
    return load_pretrained(), onnxmodel.OnnxColorizer(onnxmodel.shipped_onnx(progress=False))


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    return [np.asarray(getattr(data, name)())[..., :3] for name in PHOTOS]


def test_the_export_describes_its_arrays(shipped, tmp_path):
    keras_model, _ = shipped
    path = tmp_path / "colorizer.onnx"
    record = onnxmodel.export_onnx(keras_model, path, source="a test")
    import onnx

    graph = onnx.load(str(path))
    metadata = {entry.key: entry.value for entry in graph.metadata_props}
    assert [item.name for item in graph.graph.input] == ["l_channel", "hint_ab", "hint_mask"]
    assert [item.name for item in graph.graph.output] == ["ab"]
    batch = [item.type.tensor_type.shape.dim[0].dim_param for item in graph.graph.input]
    assert batch == ["N", "N", "N"]  # the batch size stays free
    assert json.loads(metadata["colorlib.inputs"])["hint_ab"] == ["N", 256, 256, 2]
    assert "L = 100 * l_channel" in metadata["colorlib.lab"]
    saved = json.loads(onnxmodel.record_path(path).read_text())
    assert saved["sha256"] == record.sha256 and saved["bytes"] == path.stat().st_size
    assert onnxmodel.check_onnx_file(path)["image_size"] == 256


def test_onnx_runtime_gives_keras_colours_on_five_photos(shipped, photos):
    keras_model, onnx_model = shipped
    assert model_image_size(onnx_model) == model_image_size(keras_model) == 256
    for rgb in photos:
        by_keras = colorize_array(keras_model, rgb).astype(int)
        by_onnx = colorize_array(onnx_model, rgb).astype(int)
        assert by_onnx.shape == rgb.shape
        assert np.abs(by_keras - by_onnx).max() <= 1  # within 1/255 in RGB
        assert np.abs(by_onnx - by_onnx.mean(axis=2, keepdims=True)).mean() > 1  # and in colour


def test_onnx_runtime_gives_keras_colours_with_hints(shipped, photos):
    keras_model, onnx_model = shipped
    for rgb in photos:
        keras_editor, onnx_editor = PhotoEditor(keras_model, rgb), PhotoEditor(onnx_model, rgb)
        for hints in ([], HINTS):
            for vividness in (1.0, 1.4):
                by_keras = keras_editor.render(hints, vividness, full_resolution=True).astype(int)
                by_onnx = onnx_editor.render(hints, vividness, full_resolution=True).astype(int)
                assert np.abs(by_keras - by_onnx).max() <= 1
        # the hints do change the colours, on both
        assert np.abs(onnx_editor.ab(HINTS) - onnx_editor.ab([])).max() > 0.05
    size = model_image_size(keras_model)
    l_batch = np.linspace(0, 1, 2 * size * size, dtype=np.float32).reshape(2, size, size, 1)
    ab, mask = hint_planes(HINTS, (size, size), size)
    planes = [np.repeat(ab[None], 2, 0), np.repeat(mask[None], 2, 0)]
    by_keras = np.asarray(keras_model.predict_on_batch([l_batch, *planes]))
    assert np.abs(onnx_model.predict_on_batch([l_batch, *planes]) - by_keras).max() < 1e-4


def test_a_damaged_file_is_refused_by_its_sha256(shipped, tmp_path):
    source = onnxmodel.shipped_onnx(progress=False)
    path = tmp_path / "colorizer.onnx"
    shutil.copy(source, path)
    shutil.copy(onnxmodel.record_path(source), onnxmodel.record_path(path))
    onnxmodel.OnnxColorizer(path)  # sound
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(onnxmodel.OnnxFileError, match="damaged or was changed: its SHA-256 is"):
        onnxmodel.OnnxColorizer(path)
    onnxmodel.record_path(path).unlink()
    with pytest.raises(FileNotFoundError, match="has no record beside it"):
        onnxmodel.OnnxColorizer(path)
    with pytest.raises(FileNotFoundError, match="No ONNX colorizer"):
        onnxmodel.OnnxColorizer(tmp_path / "missing.onnx")


def test_a_damaged_cached_export_is_made_again(shipped, tmp_path, monkeypatch, capsys):
    source = onnxmodel.shipped_onnx(progress=False)
    monkeypatch.setenv("COLORLIB_CACHE", str(tmp_path))
    cached = tmp_path / "onnx" / source.name
    cached.parent.mkdir()
    shutil.copy(source, cached)
    shutil.copy(onnxmodel.record_path(source), onnxmodel.record_path(cached))
    assert onnxmodel.shipped_onnx() == cached  # sound: reused, not exported
    assert "Exporting" not in capsys.readouterr().err
    cached.write_bytes(cached.read_bytes()[:-10])  # truncated
    assert onnxmodel.shipped_onnx() == cached
    assert "Exporting again" in capsys.readouterr().err
    onnxmodel.OnnxColorizer(cached)  # sound again


def test_auto_runs_onnx_unless_keras_is_needed():
    def args(**given):
        defaults = {"runtime": "auto", "model": None, "temperature": None, "own_size": False, "reference": []}
        return argparse.Namespace(**(defaults | given))

    assert _runtime(args()) == "onnx"
    assert _runtime(args(model="run/colorizer.onnx")) == "onnx"
    assert _runtime(args(model="run/colorizer.keras")) == "keras"
    assert _runtime(args(reference=["street.jpg"])) == "keras"
    assert _runtime(args(own_size=True)) == "keras"
    assert _runtime(args(temperature=0.5)) == "keras"
    assert _runtime(args(runtime="keras")) == "keras"
    assert _runtime(args(command="serve")) == "keras"  # its edits are faster on Keras
    assert _runtime(args(command="serve", runtime="onnx")) == "onnx"
    assert _runtime(argparse.Namespace(model=None)) == "keras"  # commands without the flag


def test_colorize_a_folder_on_onnx_runtime(shipped, photos, tmp_path, capsys):
    folder = tmp_path / "old"
    (folder / "1950s").mkdir(parents=True)
    for index, rgb in enumerate(photos[:3]):
        gray = Image.fromarray(rgb).convert("L")
        gray.save(folder / ("1950s" if index else "") / f"photo{index}.jpg")
    out = tmp_path / "colorized"
    assert main(["colorize", str(folder), "--out", str(out), "--runtime", "onnx"]) == 0
    written = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.jpg"))
    assert written == ["1950s/photo1.jpg", "1950s/photo2.jpg", "photo0.jpg"]
    keras_out = tmp_path / "by-keras"
    assert main(["colorize", str(folder), "--out", str(keras_out), "--runtime", "keras"]) == 0
    for name in written:
        by_onnx = np.asarray(Image.open(out / name), dtype=int)
        by_keras = np.asarray(Image.open(keras_out / name), dtype=int)
        assert np.abs(by_onnx - by_keras).max() <= 3  # the same colours, then JPEG at quality 95
    assert "colorized 3 photos" in capsys.readouterr().out


def test_onnx_refuses_what_needs_keras(tmp_path):
    photo = tmp_path / "a.jpg"
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(photo)
    for extra, message in (
        (["--reference", str(photo)], "--reference reads the encoder's features"),
        (["--own-size"], "--own-size rebuilds the Keras model"),
        (["--temperature", "0.5"], "--temperature changes a Keras layer"),
    ):
        with pytest.raises(ValueError, match=message):
            from colorlib.cli import build_parser

            args = build_parser().parse_args(
                ["colorize", str(photo), "--out", str(tmp_path / "out"), "--runtime", "onnx", *extra]
            )
            args.handler(args)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_export_command_writes_a_checked_file(small_colorizer, tmp_path, capsys):
    model_file = tmp_path / "small.keras"
    small_colorizer.save(model_file)
    out = tmp_path / "exported" / "small.onnx"
    assert main(["export", "--model", str(model_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SHA-256" in printed and "against Keras on a test input" in printed
    exported = onnxmodel.OnnxColorizer(out)
    assert exported.input_shape == (None, 64, 64, 1)  # a colorizer without hints has L alone
    l_batch = np.random.default_rng(0).random((3, 64, 64, 1), dtype=np.float32)
    by_keras = np.asarray(small_colorizer.predict_on_batch(l_batch))
    assert np.abs(exported.predict_on_batch(l_batch) - by_keras).max() < 1e-4
    assert main(["export", "--out", str(tmp_path / "bad.txt")]) == 2  # not .onnx: refused
    assert "--out must end in .onnx" in capsys.readouterr().err


def test_the_page_on_onnx_takes_references_through_its_keras_twin(shipped, photos, tmp_path):
    from colorlib.cli.studio import RequestError, Studio

    keras_model, onnx_model = shipped
    gray = np.asarray(Image.fromarray(photos[1]).convert("L").convert("RGB"))
    alone = Studio(onnx_model, tmp_path / "a")
    opened = alone.open("coffee.png", gray)
    with pytest.raises(RequestError, match="restart colorlib serve with --runtime keras"):
        alone.reference_hints(opened["id"], photos[1])
    twinned = Studio(onnx_model, tmp_path / "b", keras_twin=lambda: keras_model)
    opened = twinned.open("coffee.png", gray)
    hints = twinned.reference_hints(opened["id"], photos[1])  # its own colour version
    assert len(hints) >= 5 and {"x", "y", "color"} <= set(hints[0])


def test_videos_run_on_keras_unless_told(monkeypatch, tmp_path):
    from colorlib.cli import build_parser, colorizecommands

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the model is asked for first")
    seen = []

    def stop(args):
        seen.append(args.runtime)
        raise RuntimeError("stop here")

    monkeypatch.setattr(colorizecommands, "_load_colorizer", stop)
    for flags in ([], ["--runtime", "onnx"]):
        args = build_parser().parse_args(["colorize", str(clip), "--out", str(tmp_path / "out"), *flags])
        with pytest.raises(RuntimeError, match="stop here"):
            args.handler(args)
    assert seen == ["keras", "onnx"]  # frames one at a time are faster on Keras once it has started
