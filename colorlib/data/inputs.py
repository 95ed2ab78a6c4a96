"""The input pipeline: parallel image decoding, batching, prefetch, and positional row reads.

Decoding runs in a thread pool (Pillow, OpenCV, NumPy and hashlib release the GIL), so
it overlaps with the model on any Keras backend; this is colorlib's equal of ``tf.data``.
Results come back in input order, a bounded number of items ahead of the consumer.

A file that cannot be read is reported in one line, ``skipped PATH: reason``, collected
in a :class:`LoadReport`, and left out; it never stops the run.

:class:`NpyRows` reads rows of a ``.npy`` file with ``os.preadv`` straight into the
caller's buffer, so reading a dataset far larger than memory keeps resident memory flat
(a memory map would keep the pages it touched resident).
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import keras
import numpy as np
from tqdm import tqdm

from colorlib.color.lab import split_lab
from colorlib.core.config import BATCH_SIZE, IMAGE_SIZE, SEED
from colorlib.data.images import GRAY_TEST_SIZE, ImageLoadError, is_grayscale, load_resized

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Batches decoded ahead of the one being consumed.
PREFETCH_BATCHES = 2


def default_workers() -> int:
    """Decoding threads: the CPUs this process may use, at least 2 and at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 2
    return max(2, min(8, cpus))


@dataclass
class LoadReport:
    """What loading left out: unreadable files ``(path, reason)`` and grayscale photos."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    grayscale: list[str] = field(default_factory=list)
    loaded: int = 0

    def skip(self, path: Path | str, reason: str) -> None:
        """Record an unreadable file and print ``skipped PATH: reason`` (above any progress bar)."""
        self.skipped.append((str(path), reason))
        tqdm.write(f"skipped {path}: {reason}")

    def summary(self) -> str:
        """One line with the counts."""
        return (
            f"{self.loaded} images read, {len(self.skipped)} unreadable skipped, "
            f"{len(self.grayscale)} grayscale"
        )


def parallel_map(
    fn: Callable[[Item], Result],
    items: Iterable[Item],
    workers: int | None = None,
    ahead: int = 64,
) -> Iterator[tuple[Item, Future]]:
    """Run ``fn`` on ``items`` in a thread pool; yield ``(item, finished future)`` in input order.

    At most ``ahead`` items are in flight, so memory stays bounded. The caller calls
    ``future.result()`` and handles its errors; leaving the loop early cancels the rest.
    """
    pool = ThreadPoolExecutor(max_workers=workers or default_workers())
    pending: deque[tuple[Item, Future]] = deque()
    iterator = iter(items)
    done = object()
    try:
        for item in iterator:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= ahead:
                break
        while pending:
            item, future = pending.popleft()
            following = next(iterator, done)
            if following is not done:
                pending.append((following, pool.submit(fn, following)))
            future.exception()  # waits
            yield item, future
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def map_images(
    fn: Callable[[Path], Result],
    paths: Sequence[Path | str],
    workers: int | None = None,
    progress: bool = True,
    desc: str = "Loading images",
    report: LoadReport | None = None,
    ahead: int = 64,
) -> Iterator[tuple[Path, Result]]:
    """``(path, fn(path))`` for every readable file, in order, decoded in parallel.

    ``fn`` raising :class:`~colorlib.data.images.ImageLoadError` (or ``OSError``) marks the file
    unreadable: it is reported through ``report`` and skipped.
    """
    report = report if report is not None else LoadReport()
    bar = tqdm(total=len(paths), desc=desc, unit="img", disable=not progress, leave=False)
    try:
        for path, future in parallel_map(fn, (Path(p) for p in paths), workers, ahead):
            bar.update(1)
            try:
                result = future.result()
            except ImageLoadError as error:
                report.skip(path, error.reason)
                continue
            except OSError as error:
                report.skip(path, f"could not be read ({error})")
                continue
            report.loaded += 1
            yield path, result
    finally:
        bar.close()


def iter_image_batches(
    paths: Sequence[Path | str],
    image_size: int = IMAGE_SIZE,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "Loading images",
    report: LoadReport | None = None,
) -> Iterator[tuple[list[Path], np.ndarray]]:
    """Batches ``(paths, rgb)``: the readable files and ``float32 (B, S, S, 3)`` in [0, 1].

    Images are decoded in parallel (JPEG draft mode) and resized to ``image_size``;
    unreadable files are reported, recorded in ``report`` and left out, so a batch
    may hold fewer than ``batch_size`` images only when it is the last one.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    batch_paths: list[Path] = []
    batch: list[np.ndarray] = []
    for path, rgb in map_images(
        lambda p: load_resized(p, image_size),
        paths,
        workers=workers,
        progress=progress,
        desc=desc,
        report=report,
        ahead=batch_size * PREFETCH_BATCHES,
    ):
        batch_paths.append(path)
        batch.append(rgb)
        if len(batch) == batch_size:
            yield batch_paths, np.stack(batch)
            batch_paths, batch = [], []
    if batch:
        yield batch_paths, np.stack(batch)


def scan_images(
    paths: Sequence[Path | str],
    workers: int | None = None,
    progress: bool = True,
    desc: str = "Checking images",
) -> tuple[list[Path], LoadReport]:
    """Read every file once (small, with JPEG draft mode): ``(colour files, report)``.

    The report lists the unreadable files with their reasons and the grayscale ones
    (:func:`colorlib.data.images.is_grayscale`); the returned list holds the readable colour
    photos, in input order, which is what training may use.
    """
    report = LoadReport()
    colour: list[Path] = []
    for path, gray in map_images(
        lambda p: is_grayscale(load_resized(p, GRAY_TEST_SIZE)),
        paths,
        workers=workers,
        progress=progress,
        desc=desc,
        report=report,
    ):
        if gray:
            report.grayscale.append(str(path))
        else:
            colour.append(path)
    return colour, report


class NpyRows:
    """Positional reads of rows of a C-ordered ``.npy`` array file ``(N, ...)``.

    The file is opened per read and no memory map is made, so reading many large
    files does not grow resident memory.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(handle)
            self.offset = handle.tell()
        if fortran or dtype.hasobject or not shape:
            raise ValueError(f"{self.path} is not a C-ordered numeric array of rows.")
        self.shape: tuple[int, ...] = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.row_bytes = int(math.prod(self.shape[1:])) * self.dtype.itemsize
        expected = self.offset + self.row_bytes * self.shape[0]
        size = self.path.stat().st_size
        if size != expected:
            raise ValueError(
                f"{self.path} holds {size} bytes but its header needs {expected}: the file is "
                "truncated or damaged."
            )

    def __len__(self) -> int:
        return self.shape[0]

    def read_into(self, rows: Sequence[int], out: np.ndarray) -> None:
        """Read ``rows`` into ``out`` (``(len(rows), ...)``, this file's dtype, C-contiguous)."""
        if out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous {self.dtype}, got {out.dtype}.")
        view = memoryview(out.reshape(len(rows), -1).view(np.uint8)).cast("B")
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            for position, row in enumerate(rows):
                if not 0 <= row < self.shape[0]:
                    raise IndexError(f"Row {row} is outside {self.path} ({self.shape[0]} rows).")
                start = position * self.row_bytes
                target = view[start : start + self.row_bytes]
                got = os.preadv(descriptor, [target], self.offset + row * self.row_bytes)
                if got != self.row_bytes:
                    raise ValueError(f"{self.path} ended early while reading row {row}.")
        finally:
            os.close(descriptor)

    def read(self, rows: Sequence[int]) -> np.ndarray:
        """Rows ``rows`` as a new array ``(len(rows), ...)`` of this file's dtype."""
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        self.read_into(rows, out)
        return out


def epoch_order(count: int, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    """The order of ``count`` items in an epoch: in order, or a permutation drawn from (seed, epoch)."""
    if not shuffle:
        return np.arange(count)
    return np.random.default_rng([seed, epoch]).permutation(count)


class LabImageDataset(keras.utils.PyDataset):
    """Images loaded and converted every epoch: batches ``(l_norm (B, S, S, 1), ab (B, S, S, 2))``.

    The original project's input path (no cache), for training a model that includes
    the encoder. Unreadable files are reported and left out of their batch.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        image_size: int = IMAGE_SIZE,
        batch_size: int = BATCH_SIZE,
        shuffle: bool = True,
        seed: int = SEED,
        threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not paths:
            raise ValueError("LabImageDataset needs at least one image file.")
        self.paths = [Path(p) for p in paths]
        self.image_size, self.batch_size = image_size, batch_size
        self.shuffle, self.seed, self.threads = shuffle, seed, threads
        self.report = LoadReport()
        self.epoch = 0
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        return epoch_order(len(self.paths), self.shuffle, self.seed, self.epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        batches = iter_image_batches(
            [self.paths[i] for i in chosen],
            self.image_size,
            len(chosen),
            workers=self.threads,
            progress=False,
            report=self.report,
        )
        _, rgb = next(batches, (None, None))
        if rgb is None:
            raise ValueError(f"No image of batch {index} could be read; see the lines above.")
        return split_lab(rgb)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._permutation()
