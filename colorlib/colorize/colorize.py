"""Colorizing files and folders of photos at their own full resolution (``colorlib colorize``).

Each photo is decoded once (Pillow, EXIF orientation applied); a copy resized to the model's
``S × S`` goes through the model, and the predicted ab joins the photo's own L at full
resolution (:mod:`colorlib.colorize.fullres`, the trick of richzhang/colorization).
:func:`colorize_files` decodes and writes on a small thread pool while the model runs, and
keeps the photos in flight under a pixel budget. :func:`load_colorizer` reads a saved model
and says what is wrong with a file that is not one.

Which photos are read and where each output goes: :mod:`colorlib.colorize.photofiles`; predicting at
each photo's own size instead of ``S × S``: :mod:`colorlib.colorize.ownsize`.
"""

from __future__ import annotations

import itertools
import os
import sys
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from colorlib.color.lab import check_vividness
from colorlib.colorize import ownsize
from colorlib.colorize.fullres import (
    combine_full_resolution,
    l_input_shape,
    model_image_size,
    model_input_l,
    predict_ab,
    takes_hints,
    write_photo,
)
from colorlib.colorize.photofiles import InputScan, LeftOut, plan_outputs, scan_inputs
from colorlib.core.config import BATCH_SIZE
from colorlib.data.images import ImageLoadError, open_image

#: Decoded photos waiting for the model, and photos in one model batch, stay under this
#: many pixels (a single larger photo still goes through, alone).
BATCH_PIXELS = 1 << 25
#: Threads that decode photos and threads that finish and write them.
IO_WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class ColorizeReport:
    """What :func:`colorize_files` did: files written, ``(input, reason)`` per failure, what was left out."""

    out_dir: Path
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    left_out: LeftOut = field(default_factory=LeftOut)

    def summary(self) -> str:
        """One line: ``colorized N photos into DIR; M failed``, then what was left out, if anything."""
        counts = [f"colorized {len(self.written)} photos into {self.out_dir}", f"{len(self.failed)} failed"]
        return "; ".join(counts + self.left_out.phrases())


@dataclass
class _Decoded:
    path: Path
    target: Path
    rgb: np.ndarray  # uint8 (H, W, 3), full resolution
    l_small: np.ndarray  # float32 (S, S, 1) in [0, 1]; (h, w, 1) at the photo's own size


def _not_a_model(path: Path, reason: str) -> str:
    return (
        f"{path} is not a colorlib model (a .keras file saved by `colorlib train` or notebook 03): "
        f"{reason}. Train one with `colorlib train`, or pass --model with the path of a run's "
        "model/colorizer.keras."
    )


def _shape_problem(model) -> str | None:
    """Why ``model`` is not a colorizer L ``(S, S, 1)`` -> ab ``(S, S, 2)``, or None when it is one."""
    inputs = l_input_shape(model) if getattr(model, "input_shape", None) else ()
    outputs = tuple(getattr(model, "output_shape", None) or ())
    size = inputs[1] if len(inputs) == 4 else None
    if not isinstance(size, int) or inputs[1:] != (size, size, 1):
        return f"its input has shape {inputs}, not L (None, S, S, 1)"
    if len(outputs) != 4 or outputs[1:] != (size, size, 2):
        return f"its output has shape {outputs}, not ab (None, {size}, {size}, 2)"
    return None


def load_colorizer(path: Path | str):
    """Load a colorizer saved by colorlib (``.keras``) and check that it maps L to ab.

    The model takes L ``float32 (N, S, S, 1)`` in [0, 1] and gives ab ``(N, S, S, 2)`` in
    [-1, 1]. Raises FileNotFoundError when there is no file at ``path``, and ValueError
    saying what is wrong when the file is not a Keras model (damaged, not a zip archive)
    or is a Keras model of other shapes.
    """
    from colorlib.archs import colorizer_arch

    path = Path(path).expanduser()
    try:
        model = colorizer_arch.load_model(path)
    except Exception as error:  # Keras raises many kinds (ValueError "File not found", KeyError, ...)
        if isinstance(error, FileNotFoundError) and not path.is_file():
            raise  # "No model at ...": the file is missing
        if zipfile.is_zipfile(path):
            problem = f"Keras could not load it ({type(error).__name__}: {error})"
        else:
            problem = "it is not a zip archive, as .keras files are (it is damaged, or of another kind)"
        raise ValueError(_not_a_model(path, problem)) from None
    problem = _shape_problem(model)
    if problem is not None:
        raise ValueError(_not_a_model(path, problem))
    return model


def _decode(path: Path, target: Path, size: int | None) -> _Decoded:
    """``size=None``: the model input at the photo's own size (:func:`colorlib.colorize.ownsize.own_size`)."""
    image = open_image(path)
    try:
        shape = ownsize.own_size(image.height, image.width) if size is None else size
        l_small = model_input_l(image, shape)
        rgb = np.asarray(image, dtype=np.uint8)
    finally:
        image.close()
    return _Decoded(path, target, rgb, l_small)


def _write(item: _Decoded, ab_small: np.ndarray, vividness: float = 1.0) -> Path:
    bgr = combine_full_resolution(item.rgb, ab_small, bgr=True, vividness=vividness)
    return write_photo(bgr, item.target)


def _header_pixels(path: Path) -> int:
    """Pixels of a photo from its header (0 when unreadable): the budget of decodes in flight."""
    try:
        with Image.open(path) as image:
            return image.width * image.height
    except Exception:
        return 0


def _plan_batches(pixels: Sequence[int], batch_size: int) -> list[range]:
    """Consecutive groups of at most ``batch_size`` photos and :data:`BATCH_PIXELS` pixels."""
    groups: list[range] = []
    start, total = 0, 0
    for index, count in enumerate(pixels):
        if index > start and (index - start >= batch_size or total + count > BATCH_PIXELS):
            groups.append(range(start, index))
            start, total = index, 0
        total += count
    if start < len(pixels):
        groups.append(range(start, len(pixels)))
    return groups


def _prefetch(
    pool: ThreadPoolExecutor,
    jobs: Sequence[tuple[Path, Path]],
    pixels: Sequence[int],
    size: int | None,
    max_items: int,
) -> Iterator[tuple[Path, _Decoded | str]]:
    """Decode ``jobs`` ahead on ``pool``, in order; yields ``(input, decoded or reason)``.

    At most ``max_items`` photos and :data:`BATCH_PIXELS` pixels (one photo when it is
    larger) are decoded ahead of the one the caller has.
    """
    window: deque[tuple[Path, Future, int]] = deque()
    ahead = 0

    def pop() -> tuple[Path, _Decoded | str]:
        nonlocal ahead
        path, future, count = window.popleft()
        ahead -= count
        try:
            return path, future.result()
        except ImageLoadError as error:
            return path, error.reason
        except Exception as error:
            return path, f"could not be read ({type(error).__name__}: {error})"

    for (path, target), count in zip(jobs, pixels, strict=True):
        while window and (len(window) >= max_items or ahead + count > BATCH_PIXELS):
            yield pop()
        window.append((path, pool.submit(_decode, path, target, size), count))
        ahead += count
    while window:
        yield pop()


def _predict_by_shape(sized: ownsize.SizedColorizers, l_images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """ab for each L image of any size, one model call per distinct size, in input order."""
    ab: list[np.ndarray | None] = [None] * len(l_images)
    shapes: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(l_images):
        shapes.setdefault(image.shape, []).append(index)
    for indexes in shapes.values():
        predictions = sized.predict(np.stack([l_images[i] for i in indexes]))
        for index, prediction in zip(indexes, predictions, strict=True):
            ab[index] = prediction
    return ab  # type: ignore[return-value]


def colorize_files(
    model,
    inputs: Sequence[str | Path] | InputScan,
    out_dir: Path | str,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    recursive: bool = True,
    own_size: bool = False,
    vividness: float = 1.0,
) -> ColorizeReport:
    """Colorize image files and folders of images into ``out_dir``, keeping names and layout.

    ``inputs``: files and folders (searched as :func:`scan_inputs` does, sub-folders
    included when ``recursive``), or the result of :func:`scan_inputs`. A file that cannot
    be read or written, and a folder that cannot be listed, is reported on stderr (one
    line: path and reason), listed in ``report.failed`` and skipped. Raises ValueError
    before any work when an output would go into an input folder or replace an input,
    FileNotFoundError for a missing input.

    ``own_size``: the model sees each photo at its own size rounded to multiples of 32
    (:mod:`colorlib.colorize.ownsize`) instead of the training size; photos of one size share a batch.
    ``vividness``: the predicted ab × this, fitted to the sRGB gamut at each pixel's L (1: as
    predicted; :func:`colorlib.color.lab.scale_chroma`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    check_vividness(vividness)  # before any work
    size = model_image_size(model)
    if own_size and takes_hints(model):
        raise ValueError(
            "--own-size cannot be used with a hint colorizer: its hint planes have the training size."
        )
    sized = ownsize.SizedColorizers(model) if own_size else None
    out_dir = Path(out_dir).expanduser()
    scan = inputs if isinstance(inputs, InputScan) else scan_inputs(inputs, recursive)
    plan = plan_outputs(scan, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ColorizeReport(out_dir=out_dir, left_out=scan.left_out)
    bar = tqdm(total=len(plan) + len(scan.errors), unit="photo", desc="colorizing", disable=not progress)

    def fail(path: Path, reason: str) -> None:
        report.failed.append((path, reason))
        tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)
        bar.update()

    def collect(futures: list[tuple[Path, Future]]) -> None:
        for path, future in futures:
            try:
                report.written.append(future.result())
                bar.update()
            except Exception as error:
                fail(path, f"could not be written ({type(error).__name__}: {error})")

    for folder, reason in scan.errors:
        fail(folder, reason)
    jobs = []
    for path, target, reason in plan:
        if reason is None:
            jobs.append((path, target))
        else:
            fail(path, reason)
    readers = ThreadPoolExecutor(IO_WORKERS, thread_name_prefix="colorize-read")
    writers = ThreadPoolExecutor(IO_WORKERS, thread_name_prefix="colorize-write")
    try:
        # Header sizes plan the batches, so no photo is decoded before its batch needs it.
        pixels = [_header_pixels(path) for path, _ in jobs]
        decoded = _prefetch(readers, jobs, pixels, None if own_size else size, max_items=batch_size)
        writing: list[tuple[Path, Future]] = []
        for group in _plan_batches(pixels, batch_size):
            batch = []
            for path, item in itertools.islice(decoded, len(group)):
                if isinstance(item, str):
                    fail(path, item)
                else:
                    batch.append(item)
            if not batch:
                continue
            if sized is None:
                ab = list(predict_ab(model, np.stack([item.l_small for item in batch]), batch_size))
            else:
                ab = _predict_by_shape(sized, [item.l_small for item in batch])
            collect(writing)  # the previous batch was written while the model ran
            writing = [
                (item.path, writers.submit(_write, item, ab[i], vividness)) for i, item in enumerate(batch)
            ]
            del batch
        collect(writing)
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        writers.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return report


@dataclass
class HintedPhoto:
    """One photo of ``colorlib colorize PHOTO --hints FILE``, read and checked, waiting for a model."""

    source: Path
    target: Path
    rgb: np.ndarray  # uint8 (H, W, 3), full resolution, upright
    hints: list  # colorlib.data.hints.Hint, in the photo's own pixels


def read_hinted_photo(path: Path | str, hints_file: Path | str, out_dir: Path | str) -> HintedPhoto:
    """Everything of ``colorize PHOTO --hints FILE`` that needs no model: the photo, its output and its
    hints, checked, so that a bad hints file is told at once, not after the model has loaded.

    Raises ValueError for more or less than one photo, an output that would replace an input, and a
    bad hints file (naming the entry); FileNotFoundError for a missing one.
    """
    from colorlib.colorize.hintfile import read_hints

    scan = scan_inputs([path], recursive=False)
    if len(scan.photos) != 1:
        raise ValueError(f"--hints takes one photo (its points are in that photo's pixels); got {path}.")
    [(source, target, reason)] = plan_outputs(scan, out_dir)
    if reason is not None:
        raise ValueError(f"{source}: {reason}")
    try:
        with open_image(source) as image:
            rgb = np.asarray(image, dtype=np.uint8)
    except ImageLoadError as error:
        raise ValueError(f"{source} could not be read: {error.reason}.") from None
    height, width = rgb.shape[:2]
    return HintedPhoto(source, target, rgb, read_hints(hints_file, (width, height)))


def colorize_hinted(model, photo: HintedPhoto, vividness: float = 1.0) -> Path:
    """The photo of :func:`read_hinted_photo` colorized with its hints and written; returns the path.

    ``model`` must be a hint colorizer (trained with ``hints: true``); raises ValueError saying so.
    """
    from colorlib.data.hints import hint_planes

    if not takes_hints(model):
        raise ValueError(
            "This colorizer was trained without hints, so it cannot take any. Give a hint colorizer with "
            "--model (one trained with hints: true), leave out --model for the shipped one (it takes "
            "hints), or leave out --hints."
        )
    check_vividness(vividness)
    size = model_image_size(model)
    item = _Decoded(photo.source, photo.target, photo.rgb, model_input_l(photo.rgb, size))
    height, width = photo.rgb.shape[:2]
    hint_ab, mask = hint_planes(photo.hints, (width, height), size)
    ab = predict_ab(model, item.l_small[None], hint_planes=(hint_ab[None], mask[None]))[0]
    photo.target.parent.mkdir(parents=True, exist_ok=True)
    return _write(item, ab, vividness)


def colorize_with_hints(
    model, path: Path | str, hints_file: Path | str, out_dir: Path | str, vividness: float = 1.0
) -> Path:
    """``colorlib colorize PHOTO --hints FILE``: one photo colorized with the colour hints of a file
    (:mod:`colorlib.colorize.hintfile`), written into ``out_dir`` under its own name.

    ``model`` must be a hint colorizer (trained with ``hints: true``); raises ValueError saying so
    otherwise, and for a bad hints file (naming the entry). Returns the written path.
    """
    check_vividness(vividness)
    return colorize_hinted(model, read_hinted_photo(path, hints_file, out_dir), vividness)
