"""TensorFlow's C++ start-up lines (and a kernel's shutdown noise) kept off the terminal; every other
line still prints."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
from typing import IO, TextIO

from colorlib.core.config import TF_STARTUP_NOISE

#: What a kernel logs when it is interrupted while handling a message. jupyter_client interrupts
#: every kernel it shuts down before asking it to stop, so after a notebook has finished this line
#: comes now and then and means nothing (an interrupted cell fails with its own error).
KERNEL_SHUTDOWN_NOISE = re.compile(r"\[IPKernelApp\] ERROR \| KeyboardInterrupt caught in kernel\.?\n?")


def quiet_tensorflow() -> None:
    """Hide TensorFlow's INFO and WARNING lines in this process and the ones it starts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tensorflow_backend() -> bool:
    """Whether Keras will run on TensorFlow: ``KERAS_BACKEND`` unset or ``tensorflow``, and
    TensorFlow installed."""
    chosen = os.environ.get("KERAS_BACKEND", "tensorflow").strip().lower()
    return chosen == "tensorflow" and importlib.util.find_spec("tensorflow") is not None


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices with its C++ start-up lines left out of stderr.

    Those lines (:data:`colorlib.core.config.TF_STARTUP_NOISE`) are written before TensorFlow's
    log level applies, so stderr (file descriptor 2) goes to a temporary file meanwhile;
    every other line written then is passed on, and stderr is restored before anything
    else runs, so later warnings and errors print as usual. ``TF_CPP_MIN_LOG_LEVEL=0``
    passes everything on.

    Does nothing when ``KERAS_BACKEND`` names another backend (JAX, PyTorch) or TensorFlow
    is not installed: Keras then never imports it, and a GPU machine without TensorFlow
    runs colorlib's commands all the same.
    """
    quiet_tensorflow()
    if "tensorflow" in sys.modules or not tensorflow_backend():
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to keep clean
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device probe writes the cuInit line
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
                text = TF_STARTUP_NOISE.sub("", text)
            sys.stderr.write(text)
            sys.stderr.flush()


def relay_without_startup_noise(stream: IO[bytes], out: TextIO | None = None) -> None:
    """Copy ``stream`` (a Jupyter kernel's stderr, bytes) line by line to ``out`` (stderr), without
    TensorFlow's start-up lines and the kernel's :data:`KERNEL_SHUTDOWN_NOISE`, until it closes.
    ``TF_CPP_MIN_LOG_LEVEL=0`` passes everything on."""
    keep_all = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace")
        if keep_all or not (TF_STARTUP_NOISE.fullmatch(line) or KERNEL_SHUTDOWN_NOISE.fullmatch(line)):
            target = out or sys.stderr
            target.write(line)
            target.flush()
