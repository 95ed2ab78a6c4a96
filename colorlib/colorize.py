"""Colorizing photos at their own full resolution.

The model sees a small square L image; the photo keeps its own size (the trick of
richzhang/colorization):

1. decode the photo once (Pillow, EXIF orientation applied) and resize a copy to
   ``S × S`` (``S`` from ``model.input_shape``); its L goes through the model;
2. the predicted ab ``(S, S, 2)`` is upscaled bilinearly to the photo's size;
3. it is joined with the photo's own full-resolution L and converted back to RGB.

Step 3 runs in horizontal strips of about :data:`STRIP_PIXELS` pixels, in float32
with OpenCV, so a 24-megapixel photo needs a few tens of MB of temporaries on top
of its 8-bit input and output. :func:`colorize_files` decodes and writes on a small
thread pool while the model runs, and keeps the photos in flight under a pixel budget.

Inputs: files given by name are always tried; folders are searched, sub-folders
included unless ``recursive=False``, for files in any format Pillow reads (JPEG, PNG,
TIFF, WebP, BMP, GIF, ...; an animated GIF gives its first frame). Hidden files and
folders (name starting with '.') are left out. Nothing is skipped in silence: the
summary line counts the files that are not images, the hidden ones, and the
sub-folders not searched, and each photo that fails has its own stderr line.

Outputs keep the layout of the input folder (``in/1950s/a.jpg`` -> ``out/1950s/a.jpg``;
a file given by name goes to ``out/NAME``) and are written atomically. JPEG, PNG, TIFF,
WebP and BMP photos (:data:`colorlib.config.IMAGE_EXTENSIONS`) are written in their own
format under their own name (JPEG and WebP at quality 95); every other format is written
as PNG with the same stem (``a.gif`` -> ``a.png``; GIF holds only 256 colours). Metadata
(EXIF, ICC profile) is not copied; the pixels are written upright. Two inputs that
would need the same output file (the same name in two folders given separately, or
``a.gif`` beside ``a.png``): the first one is colorized and the later ones are reported
as failed, never silently overwritten. No output is ever written into a folder that is
searched for inputs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from colorlib import ownsize
from colorlib.config import (
    AB_SCALE,
    BATCH_SIZE,
    FALLBACK_EXTENSION,
    IMAGE_EXTENSIONS,
    PIXEL_MAX,
    project_root,
)
from colorlib.data import FolderScan, ImageLoadError, open_image, resize_rgb, scan_folder
from colorlib.io import atomic_write
from colorlib.lab import lab_to_rgb_fast, normalize_l, rgb_to_lab, rgb_to_lab_fast

#: Where ``colorlib colorize`` looks for a model when none is given (relative to the project).
DEFAULT_MODEL = Path("data/runs/default/model/colorizer.keras")
#: Pixels per strip of the full-resolution step (rows = STRIP_PIXELS // width).
STRIP_PIXELS = 1 << 19
#: Decoded photos waiting for the model, and photos in one model batch, stay under this
#: many pixels (a single larger photo still goes through, alone).
BATCH_PIXELS = 1 << 25
#: Threads that decode photos and threads that finish and write them.
IO_WORKERS = max(1, min(4, os.cpu_count() or 1))
#: JPEG and WebP quality of the written photos.
JPEG_QUALITY = 95
#: A summary line names this many of the files it counts, then says "and N more".
SUMMARY_NAMES = 5


def _named(count: int, one: str, many: str, paths: Sequence[Path]) -> str:
    """``"2 files were not images: a.txt, b.csv"``: the count, then at most :data:`SUMMARY_NAMES` names."""
    names = [path.name for path in paths[:SUMMARY_NAMES]]
    if count > SUMMARY_NAMES:
        names.append(f"and {count - SUMMARY_NAMES} more")
    return f"{count} {one if count == 1 else many}: {', '.join(names)}"


@dataclass
class LeftOut:
    """What a search of the input folders left out, on purpose: no photo is skipped in silence."""

    not_images: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)
    not_searched: list[Path] = field(default_factory=list)

    def add(self, found: FolderScan) -> None:
        """Add what one folder search left out."""
        self.not_images += found.not_images
        self.hidden += found.hidden
        self.not_searched += found.not_searched

    def phrases(self) -> list[str]:
        """One phrase per kind of file left out, e.g. ``2 files were not images: notes.txt, data.csv``."""
        kinds = (
            (self.not_images, "file was not an image", "files were not images"),
            (self.hidden, "hidden file or folder skipped", "hidden files or folders skipped"),
            (
                self.not_searched,
                "sub-folder not searched (--no-recursive)",
                "sub-folders not searched (--no-recursive)",
            ),
        )
        return [_named(len(paths), one, many, paths) for paths, one, many in kinds if paths]


@dataclass
class InputScan:
    """The inputs of a colorize run, from :func:`scan_inputs`.

    ``photos``: ``(file, relative)`` for each file to colorize; ``relative`` is its path
    below the input folder it was found in (its name, for a file given by name), which
    the output keeps. ``roots``: ``(folder, recursive)`` for each folder searched and the
    folder of each file given by name; no output is written into them. ``errors``:
    ``(folder, reason)`` for each folder that could not be listed.
    """

    photos: list[tuple[Path, Path]] = field(default_factory=list)
    roots: list[tuple[Path, bool]] = field(default_factory=list)
    left_out: LeftOut = field(default_factory=LeftOut)
    errors: list[tuple[Path, str]] = field(default_factory=list)


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


def default_model_path() -> Path:
    """``data/runs/default/model/colorizer.keras`` under the project root."""
    return project_root() / DEFAULT_MODEL


def model_image_size(model) -> int:
    """``S`` of a colorizer whose input is L ``(S, S, 1)``."""
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1 or shape[1] is None:
        raise ValueError(
            f"Expected a colorizer with input L (S, S, 1), got input shape {shape}; give a model "
            "made by colorlib.models.build_colorizer."
        )
    return int(shape[1])


def _not_a_model(path: Path, reason: str) -> str:
    return (
        f"{path} is not a colorlib model (a .keras file saved by `colorlib train` or notebook 03): "
        f"{reason}. Train one with `colorlib train`, or pass --model with the path of a run's "
        "model/colorizer.keras."
    )


def _shape_problem(model) -> str | None:
    """Why ``model`` is not a colorizer L ``(S, S, 1)`` -> ab ``(S, S, 2)``, or None when it is one."""
    inputs = tuple(getattr(model, "input_shape", None) or ())
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
    from colorlib import models

    path = Path(path).expanduser()
    try:
        model = models.load_model(path)
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


def scan_inputs(inputs: Sequence[str | Path] | str | Path, recursive: bool = True) -> InputScan:
    """Files as given, folders searched for their photos (sub-folders too when ``recursive``).

    Photos are sorted within each folder; the same file is taken once. Raises
    FileNotFoundError naming an input that does not exist, and ValueError, with what was
    left out, when there is nothing to colorize.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    scan = InputScan()
    seen: set[Path] = set()
    for item in inputs:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"No file or folder at {path}; check the path.")
        if path.is_dir():
            found = scan_folder(path, recursive=recursive)
            scan.roots.append((path, recursive))
            scan.left_out.add(found)
            scan.errors += found.errors
            files = [(file, file.relative_to(path)) for file in found.images]
        else:
            scan.roots.append((path.parent, False))
            files = [(path, Path(path.name))]
        for file, relative in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                scan.photos.append((file, relative))
    if not scan.photos:
        left_out = [*scan.left_out.phrases(), *(f"{folder} {reason}" for folder, reason in scan.errors)]
        details = f" ({'; '.join(left_out)})" if left_out else ""
        raise ValueError(
            f"No photos in {', '.join(map(str, inputs))}{details}; give image files, or "
            "folders that hold some, in a format Pillow reads (JPEG, PNG, TIFF, WebP, BMP, GIF, ...)."
        )
    return scan


def collect_inputs(inputs: Sequence[str | Path] | str | Path, recursive: bool = False) -> list[Path]:
    """The photos of :func:`scan_inputs` (files as given, folders expanded), without their layout."""
    return [path for path, _ in scan_inputs(inputs, recursive).photos]


def output_name(relative: Path | str) -> Path:
    """Where a photo goes below the output folder, from its path ``relative`` below the input folder.

    A JPEG, PNG, TIFF, WebP or BMP photo keeps its path; any other gets the extension
    ``.png`` (``1950s/a.gif`` -> ``1950s/a.png``).
    """
    relative = Path(relative)
    if relative.suffix.lower() in IMAGE_EXTENSIONS:
        return relative
    return relative.with_suffix(FALLBACK_EXTENSION)


def _input_folder_holding(folder: Path, roots: Sequence[tuple[Path, bool]]) -> Path | None:
    """The input folder of ``roots`` that is ``folder`` or, searched recursively, holds it; else None."""
    folder = folder.resolve()
    for root, recursive in roots:
        resolved = root.resolve()
        if folder == resolved or (recursive and folder.is_relative_to(resolved)):
            return root
    return None


def plan_outputs(scan: InputScan, out_dir: Path | str) -> list[tuple[Path, Path | None, str | None]]:
    """``(input, output, None)`` for each photo of ``scan``, or ``(input, None, reason)`` when it is skipped.

    Raises ValueError when ``out_dir`` is a file, or when an output would go into a folder
    searched for inputs or replace an input.
    """
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"The output path {out_dir} is a file; give a folder.")
    inputs = {}
    for path, _ in scan.photos:
        with contextlib.suppress(OSError):
            stat = path.stat()
            inputs[(stat.st_dev, stat.st_ino)] = path
    holders: dict[Path, Path | None] = {}
    plan: list[tuple[Path, Path | None, str | None]] = []
    owners: dict[Path, Path] = {}
    for path, relative in scan.photos:
        target = out_dir / output_name(relative)
        if target in owners:
            reason = (
                f"{owners[target]} has the same output file name, {target}; rename one of them or "
                "colorize them into separate output folders"
            )
            plan.append((path, None, reason))
            continue
        owners[target] = path
        if target.parent not in holders:
            holders[target.parent] = _input_folder_holding(target.parent, scan.roots)
        holder = holders[target.parent]
        if holder is not None:
            raise ValueError(
                f"Refusing to write {target}: {target.parent} is, or is inside, the input folder "
                f"{holder}. Choose an output folder outside the folders that hold the inputs."
            )
        source = None
        with contextlib.suppress(OSError):
            stat = target.stat()
            source = inputs.get((stat.st_dev, stat.st_ino))
        if source is not None:
            raise ValueError(
                f"Refusing to write {target}: it is the input photo {source}. Choose an output "
                "folder that holds none of the input photos."
            )
        plan.append((path, target, None))
    return plan


def model_input_l(image: Image.Image | np.ndarray, size: int) -> np.ndarray:
    """A photo (Pillow RGB, or uint8 ``(H, W, 3)``) -> the model input L ``(size, size, 1)`` in [0, 1].

    Resized as in training (:func:`colorlib.data.resize_rgb`), converted with scikit-image.
    """
    small = resize_rgb(image, size)
    return normalize_l(rgb_to_lab(small)[..., :1])


def predict_ab(model, l_norm: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """L ``float32 (N, S, S, 1)`` in [0, 1] -> ab ``float32 (N, S, S, 2)`` in [-1, 1].

    Runs the model ``batch_size`` images at a time.
    """
    size = model_image_size(model)
    l_norm = np.asarray(l_norm, dtype=np.float32)
    if l_norm.ndim != 4 or l_norm.shape[1:] != (size, size, 1):
        raise ValueError(f"Expected L of shape (N, {size}, {size}, 1), got {l_norm.shape}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    parts = [
        np.asarray(model.predict_on_batch(l_norm[start : start + batch_size]), dtype=np.float32)
        for start in range(0, len(l_norm), batch_size)
    ]
    if not parts:
        return np.zeros((0, size, size, 2), dtype=np.float32)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def combine_full_resolution(
    rgb: np.ndarray, ab_small: np.ndarray, bgr: bool = False, strip_pixels: int = STRIP_PIXELS
) -> np.ndarray:
    """The photo's own L plus ``ab_small`` upscaled to its size -> ``uint8 (H, W, 3)``.

    ``rgb``: ``uint8 (H, W, 3)``; ``ab_small``: ``float32 (s, s, 2)`` in [-1, 1]. The
    upscaling is bilinear with OpenCV's pixel-centre convention (as ``cv2.resize``):
    the horizontal pass runs once on the small ab, the vertical one per strip. With
    ``bgr=True`` the result is in OpenCV's BGR order, ready for ``cv2.imencode``.
    """
    height, width = rgb.shape[:2]
    rows_small = ab_small.shape[0]
    ab_rows = cv2.resize(
        np.ascontiguousarray(ab_small, dtype=np.float32) * np.float32(AB_SCALE),
        (width, rows_small),
        interpolation=cv2.INTER_LINEAR,
    ).reshape(rows_small, width, 2)
    out = np.empty((height, width, 3), dtype=np.uint8)
    strip_rows = max(1, min(height, strip_pixels // max(width, 1)))
    lower_ab = np.empty((strip_rows, width, 2), dtype=np.float32)
    ab = np.empty_like(lower_ab)
    scale = rows_small / height
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        rows = bottom - top
        # Source row of each output row (index vectors only, so float64 costs nothing).
        source = np.clip((np.arange(top, bottom) + 0.5) * scale - 0.5, 0, rows_small - 1)
        lower = np.floor(source).astype(np.intp)
        weight = (source - lower).astype(np.float32)[:, None, None]
        np.take(ab_rows, lower, axis=0, out=lower_ab[:rows], mode="clip")
        np.take(ab_rows, np.minimum(lower + 1, rows_small - 1), axis=0, out=ab[:rows], mode="clip")
        np.subtract(ab[:rows], lower_ab[:rows], out=ab[:rows])
        np.multiply(ab[:rows], weight, out=ab[:rows])
        np.add(ab[:rows], lower_ab[:rows], out=ab[:rows])
        lab = rgb_to_lab_fast(np.multiply(rgb[top:bottom], np.float32(1.0 / PIXEL_MAX), dtype=np.float32))
        cv2.mixChannels([ab[:rows]], [lab], [0, 1, 1, 2])  # lab[..., 1:] = ab, in place
        colour = out[top:bottom]
        cv2.convertScaleAbs(lab_to_rgb_fast(lab), dst=colour, alpha=PIXEL_MAX)  # clipped >= 0
        if bgr:
            cv2.cvtColor(colour, cv2.COLOR_RGB2BGR, dst=colour)
    return out


def _as_uint8_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"Expected an 8-bit image (uint8), got dtype {image.dtype}.")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an image (H, W, 3) or (H, W), got shape {image.shape}.")
    return image


def colorize_array(model, rgb_uint8: np.ndarray) -> np.ndarray:
    """One photo ``uint8 (H, W, 3)`` (colour or gray; ``(H, W)`` also taken) -> ``uint8 (H, W, 3)``.

    Only the photo's L is used; the output has the same size and the same L.
    """
    rgb = _as_uint8_rgb(rgb_uint8)
    ab = predict_ab(model, model_input_l(rgb, model_image_size(model))[None])[0]
    return combine_full_resolution(rgb, ab)


def _decode(path: Path, target: Path, size: int | None) -> _Decoded:
    """``size=None``: the model input at the photo's own size (:func:`colorlib.ownsize.own_size`)."""
    image = open_image(path)
    try:
        if size is None:
            small = ownsize.resize_to(image, *ownsize.own_size(image.height, image.width))
            l_small = normalize_l(rgb_to_lab(small)[..., :1])
        else:
            l_small = model_input_l(image, size)
        rgb = np.asarray(image, dtype=np.uint8)
    finally:
        image.close()
    return _Decoded(path, target, rgb, l_small)


def _write(item: _Decoded, ab_small: np.ndarray) -> Path:
    bgr = combine_full_resolution(item.rgb, ab_small, bgr=True)
    suffix = item.target.suffix.lower()
    options = {
        ".jpg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".webp": [cv2.IMWRITE_WEBP_QUALITY, JPEG_QUALITY],
    }.get(suffix, [])
    ok, encoded = cv2.imencode(suffix, bgr, options)
    if not ok:
        raise OSError(f"OpenCV could not encode a {suffix} image")
    with atomic_write(item.target) as temporary:
        temporary.write_bytes(encoded.tobytes())
    return item.target


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
) -> ColorizeReport:
    """Colorize image files and folders of images into ``out_dir``, keeping names and layout.

    ``inputs``: files and folders (searched as :func:`scan_inputs` does, sub-folders
    included when ``recursive``), or the result of :func:`scan_inputs`. A file that cannot
    be read or written, and a folder that cannot be listed, is reported on stderr (one
    line: path and reason), listed in ``report.failed`` and skipped. Raises ValueError
    before any work when an output would go into an input folder or replace an input,
    FileNotFoundError for a missing input.

    ``own_size``: the model sees each photo at its own size rounded to multiples of 32
    (:mod:`colorlib.ownsize`) instead of the training size; photos of one size share a batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    size = model_image_size(model)
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
            writing = [(item.path, writers.submit(_write, item, ab[i])) for i, item in enumerate(batch)]
            del batch
        collect(writing)
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        writers.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return report
