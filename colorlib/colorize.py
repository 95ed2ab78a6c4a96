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

Output files keep their input's name and extension (JPEG at quality 95) and are
written atomically. Metadata (EXIF, ICC profile) is not copied; the pixels are
written upright. Two inputs with the same file name from different folders would
need the same output file: the first one is colorized and the later ones are
reported as failed, never silently overwritten.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from colorlib.config import AB_SCALE, BATCH_SIZE, IMAGE_EXTENSIONS, PIXEL_MAX, project_root
from colorlib.data import ImageLoadError, list_images, open_image, resize_rgb
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


@dataclass
class ColorizeReport:
    """What :func:`colorize_files` did: files written, and ``(input, reason)`` for each failure."""

    out_dir: Path
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line: ``colorized N photos into DIR; M failed``."""
        return f"colorized {len(self.written)} photos into {self.out_dir}; {len(self.failed)} failed"


@dataclass
class _Decoded:
    path: Path
    target: Path
    rgb: np.ndarray  # uint8 (H, W, 3), full resolution
    l_small: np.ndarray  # float32 (S, S, 1) in [0, 1]


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


def collect_inputs(inputs: Sequence[str | Path], recursive: bool = False) -> list[Path]:
    """Files as given, folders expanded to their images (sorted); the same file only once.

    Raises FileNotFoundError naming an input that does not exist, ValueError when
    there is nothing to colorize.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    paths: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"No file or folder at {path}; check the path.")
        found = list_images(path, recursive=recursive) if path.is_dir() else [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                paths.append(file)
    if not paths:
        raise ValueError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {', '.join(map(str, inputs))}; "
            "give image files or folders that hold some."
        )
    return paths


def plan_outputs(paths: Sequence[Path], out_dir: Path | str) -> list[tuple[Path, Path | None, str | None]]:
    """``(input, output, None)`` for each input, or ``(input, None, reason)`` when it is skipped.

    Raises ValueError when ``out_dir`` is a file or when an output would replace an input.
    """
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"The output path {out_dir} is a file; give a folder.")
    inputs = {}
    for path in paths:
        with contextlib.suppress(OSError):
            stat = path.stat()
            inputs[(stat.st_dev, stat.st_ino)] = path
    plan: list[tuple[Path, Path | None, str | None]] = []
    owners: dict[str, Path] = {}
    clashes: list[tuple[Path, Path]] = []
    for path in paths:
        target = out_dir / path.name
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            reason = f"unsupported extension '{path.suffix}' (use one of {', '.join(IMAGE_EXTENSIONS)})"
            plan.append((path, None, reason))
            continue
        if path.name in owners:
            reason = (
                f"another input with the same file name ({owners[path.name]}) is written to "
                f"{target}; colorize these folders into separate output folders"
            )
            plan.append((path, None, reason))
            continue
        owners[path.name] = path
        with contextlib.suppress(OSError):
            stat = target.stat()
            if (stat.st_dev, stat.st_ino) in inputs:
                clashes.append((target, inputs[(stat.st_dev, stat.st_ino)]))
        plan.append((path, target, None))
    if clashes:
        target, source = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ValueError(
            f"Refusing to write {target}: it is the input photo {source}{more}. Choose an output "
            "folder that holds none of the input photos."
        )
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


def _decode(path: Path, target: Path, size: int) -> _Decoded:
    image = open_image(path)
    try:
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
    size: int,
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


def colorize_files(
    model,
    inputs: Sequence[str | Path],
    out_dir: Path | str,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> ColorizeReport:
    """Colorize image files and folders of images into ``out_dir``, keeping file names.

    A file that cannot be read or written is reported on stderr (one line: path and
    reason), listed in ``report.failed`` and skipped. Raises ValueError before any work
    when an output would replace an input, FileNotFoundError for a missing input.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    size = model_image_size(model)
    out_dir = Path(out_dir).expanduser()
    plan = plan_outputs(collect_inputs(inputs), out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ColorizeReport(out_dir=out_dir)
    bar = tqdm(total=len(plan), unit="photo", desc="colorizing", disable=not progress)

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
        decoded = _prefetch(readers, jobs, pixels, size, max_items=batch_size)
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
            ab = predict_ab(model, np.stack([item.l_small for item in batch]), batch_size)
            collect(writing)  # the previous batch was written while the model ran
            writing = [(item.path, writers.submit(_write, item, ab[i])) for i, item in enumerate(batch)]
            del batch
        collect(writing)
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        writers.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return report
