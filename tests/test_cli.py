"""The ``colorlib`` command, driven the way a user drives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import offline_environment
from PIL import Image

from colorlib import cli
from colorlib.core.config import COLOR_CLASS_DIR, GRAY_CLASS_DIR

SUBCOMMANDS = (
    "demo-data",
    "train",
    "extract",
    "colorize",
    "evaluate",
    "baseline",
    "pipeline",
    "variants",
    "compare",
)
#: What TensorFlow's C++ runtime prints when it starts, none of which the command may show.
TENSORFLOW_NOISE = ("absl::InitializeLog", "cudart_stub", "cuInit", "port.cc", "oneDNN")


def test_help_of_every_subcommand_answers_without_loading_tensorflow() -> None:
    code = (
        "import sys, colorlib.cli as c\n"
        "for a in sys.argv[1:]:\n"
        "    try: c.main([a, '--help'])\n"
        "    except SystemExit: pass\n"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *SUBCOMMANDS], capture_output=True, text=True, check=True
    )
    for name in SUBCOMMANDS:
        assert f"usage: colorlib {name}" in result.stdout
    assert result.stdout.strip().endswith("False")


def _photos(folder: Path, count: int, seed: int, gray: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        base = rng.integers(0, 256, size=(1, 1, 3))
        ramp = np.linspace(0, 1, 48)[None, :, None]
        pixels = np.clip(base * (0.5 + ramp) + rng.normal(0, 8, (40, 48, 3)), 0, 255).astype(np.uint8)
        if gray:
            pixels = np.repeat(pixels.mean(axis=-1, keepdims=True), 3, axis=-1).astype(np.uint8)
        paths.append(folder / f"photo_{index:02d}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def _tiny_model(path: Path, input_channels: int = 1, output_channels: int = 2) -> Path:
    """A Keras model of 64×64 images, saved as .keras: with the defaults, a (poor) colorizer."""
    import keras

    model = keras.Sequential(
        [keras.Input((64, 64, input_channels)), keras.layers.Conv2D(output_channels, 1, activation="tanh")]
    )
    model.save(path)
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: path.write_bytes(np.random.default_rng(0).bytes(4096)), "it is not a zip archive"),
        (lambda path: _tiny_model(path, input_channels=3), r"its input has shape (None, 64, 64, 3)"),
        (lambda path: _tiny_model(path, output_channels=3), r"its output has shape (None, 64, 64, 3)"),
    ],
    ids=["random bytes", "colour input", "three outputs"],
)
def test_a_model_file_that_is_not_a_colorizer_is_a_clear_error(tmp_path: Path, capsys, make, problem) -> None:
    _photos(tmp_path / "in", 1, seed=5)
    model = tmp_path / "model.keras"
    make(model)
    arguments = [str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(model)]
    assert cli.main(["colorize", *arguments]) == 2
    error = capsys.readouterr().err
    assert f"{model} is not a colorlib model (a .keras file saved by `colorlib train`" in error
    assert problem in error and "Train one with `colorlib train`" in error
    assert "File not found" not in error and not (tmp_path / "out").exists()


def test_the_command_shows_none_of_tensorflows_start_up_lines(tmp_path: Path) -> None:
    model = _tiny_model(tmp_path / "model.keras")
    _photos(tmp_path / "in", 1, seed=6)
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    colorize = ["colorize", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(model)]
    for arguments in (["--help"], colorize):
        result = subprocess.run(
            [sys.executable, "-m", "colorlib.cli", *arguments],
            capture_output=True,
            text=True,
            env=environment,
        )
        assert result.returncode == 0, result.stderr
        for noise in TENSORFLOW_NOISE:
            assert noise not in result.stderr, result.stderr
    assert "colorized 1 photos" in result.stdout and (tmp_path / "out" / "photo_00.png").is_file()


def test_variants_shows_none_of_tensorflows_start_up_lines(tmp_path: Path) -> None:
    """``colorlib variants`` checks each variant's encoder weights in its own process (TensorFlow starts
    there too). Here the check fails at once, offline: VGG16's ImageNet weights cannot be fetched."""
    params = tmp_path / "params"
    params.mkdir()
    (params / "vgg.yaml").write_text(
        f"run_name: vgg\nencoder: vgg16\nencoder_weights: imagenet\ndata_dir: {tmp_path / 'data'}\n"
    )
    environment = offline_environment(tmp_path / "keras")
    arguments = ["variants", "--params-dir", str(params), "--out", str(tmp_path / "compare")]
    result = subprocess.run(
        [sys.executable, "-m", "colorlib.cli", *arguments], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "vgg: FAILED" in result.stdout, result.stdout
    for noise in TENSORFLOW_NOISE:
        assert noise not in result.stdout + result.stderr, result.stdout + result.stderr


#: A stand-in for ``import tensorflow``: TensorFlow's start-up noise, and lines that must still print.
FAKE_TENSORFLOW = r"""
import os, types, warnings

os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
os.write(2, b"I0000 00:00:1795698672.675519   21011 port.cc:153] oneDNN custom operations are on.\n")
os.write(2, b"E0000 00:00:1795698672.675600   21011 loader.cc:7] a real error\n")
warnings.warn("a real warning")


def probe():
    os.write(2, b"E0000 00:00:1795698674.085534   21011 cuda_platform.cc:52] failed call to cuInit: 303\n")
    return []


config = types.SimpleNamespace(list_physical_devices=probe)
"""


def test_other_lines_written_while_tensorflow_starts_still_print(tmp_path: Path) -> None:
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    code = (
        "import sys, colorlib.core.quiet as q; q.import_tensorflow_quietly(); print('later', file=sys.stderr)"
    )
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")
    }
    environment["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].endswith("loader.cc:7] a real error") and "UserWarning: a real warning" in lines[1]
    assert lines[-1] == "later"
    for noise in TENSORFLOW_NOISE:
        assert noise not in result.stderr, result.stderr


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_commands_leave_tensorflow_alone_on_another_keras_backend(tmp_path: Path, backend: str) -> None:
    """A GPU machine with JAX or PyTorch and no TensorFlow runs colorlib's commands: the quiet
    import must not import TensorFlow there (this one fails loudly if it is imported)."""
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text("raise ImportError('TensorFlow was imported')\n")
    code = (
        "import sys, colorlib.core.quiet as q; q.import_tensorflow_quietly(); "
        "print('tensorflow' in sys.modules)"
    )
    environment = {**os.environ, "PYTHONPATH": str(tmp_path), "KERAS_BACKEND": backend}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_tensorflow_is_the_backend_only_when_chosen_and_installed(monkeypatch) -> None:
    from colorlib.core import quiet

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert quiet.tensorflow_backend()  # the default, and installed here
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert not quiet.tensorflow_backend()
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(quiet.importlib.util, "find_spec", lambda name: None)
    assert not quiet.tensorflow_backend()


def test_a_kernels_stderr_is_relayed_without_tensorflows_start_up_lines_or_its_shutdown_noise(
    monkeypatch,
) -> None:
    import io

    from colorlib.core import quiet

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    kernel_stderr = io.BytesIO(
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1795924613.7 6900 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
        b"E0000 00:00:1795924613.78 6900 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"
        b"UserWarning: a real warning stays\n"
        b"[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\n"  # an interrupt at shutdown
    )
    relayed = io.StringIO()
    quiet.relay_without_startup_noise(kernel_stderr, relayed)
    assert relayed.getvalue() == "UserWarning: a real warning stays\n"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    kernel_stderr.seek(0)
    everything = io.StringIO()
    quiet.relay_without_startup_noise(kernel_stderr, everything)
    assert everything.getvalue().count("\n") == 5


def test_baseline_then_evaluate_prints_the_gray_baseline(tmp_path: Path, capsys) -> None:
    _photos(tmp_path / "truth", 4, seed=0)
    assert cli.main(["baseline", "gray", str(tmp_path / "truth"), "--out", str(tmp_path / "gray")]) == 0
    assert sorted(path.name for path in (tmp_path / "gray").iterdir()) == [
        f"photo_{i:02d}.png" for i in range(4)
    ]
    capsys.readouterr()
    assert (
        cli.main(["evaluate", str(tmp_path / "truth"), str(tmp_path / "gray"), "--json", "--size", "32"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 4 and summary["colorfulness"] == 0.0 and summary["colorfulness_truth"] > 0


def test_mean_ab_baseline_needs_training_photos(tmp_path: Path, capsys) -> None:
    _photos(tmp_path / "truth", 2, seed=0)
    assert cli.main(["baseline", "mean-ab", str(tmp_path / "truth"), "--out", str(tmp_path / "m")]) == 2
    assert "--train" in capsys.readouterr().err


def test_missing_dataset_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "No dataset at" in error and "colorlib demo-data" in error


@pytest.mark.slow
def test_train_then_colorize_on_a_small_dataset(tmp_path: Path, capsys) -> None:
    dataset = tmp_path / "photos"
    _photos(dataset / COLOR_CLASS_DIR, 8, seed=1)
    gray = _photos(dataset / GRAY_CLASS_DIR, 2, seed=2, gray=True)
    run = tmp_path / "run"
    args = ["train", str(dataset), "--out", str(run), "--image-size", "64", "--epochs", "2"]
    args += ["--batch-size", "4", "--encoder-weights", "none"]
    assert cli.main(args) == 0
    assert "Trained 2 epochs; the model has epoch 2's weights (validation loss 0." in capsys.readouterr().out
    model = run / "model" / "colorizer.keras"
    assert model.is_file() and json.loads((run / "split.json").read_text())["gray"] == [str(p) for p in gray]

    assert cli.main([*args[:-4], "--epochs", "3", "--batch-size", "4", "--encoder-weights", "none"]) == 0
    printed = capsys.readouterr().out
    assert "Resuming from the backup after epoch 2 of 3" in printed and "Trained 3 epochs" in printed

    out = tmp_path / "colorized"
    assert cli.main(["colorize", str(dataset), "--out", str(out), "--model", str(model)]) == 0
    assert f"colorized 10 photos into {out}; 0 failed" in capsys.readouterr().out
    assert sorted(path.relative_to(out) for path in out.rglob("*.png")) == [
        *(Path(COLOR_CLASS_DIR) / f"photo_{index:02d}.png" for index in range(8)),
        *(Path(GRAY_CLASS_DIR) / f"photo_{index:02d}.png" for index in range(2)),
    ]
    assert Image.open(out / GRAY_CLASS_DIR / "photo_00.png").size == (48, 40)
