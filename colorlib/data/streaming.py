"""Training batches decoded from shards on the fly (:mod:`colorlib.data.shards`), with Grain.

:class:`StreamDataset` serves one split of a shard folder as a ``keras.utils.PyDataset`` of
``(L float32 (B, S, S, 1) in [0, 1], ab float32 (B, S, S, 2) in [-1, 1])`` batches (with
``hints``, the inputs are ``(L, hint_ab, hint_mask)``: a hint colorizer's), for one process of
``process_count``:

- **order**: epoch e visits the split's photos in a permutation drawn from (seed, e) with
  Grain's ``MapDataset.shuffle``: a global shuffle, the same on every process (in order for an
  unshuffled split such as validation);
- **slices**: global batch k is photos ``k·G … (k+1)·G − 1`` of that order, ``G = batch_size ×
  process_count``; process p reads its part ``k·G + p·B … k·G + (p+1)·B − 1``. So each photo is
  read by one process, at most once per epoch. With several processes an epoch has
  ``count // G`` global batches (the rest waits for another epoch's order, so that every
  process's batch has the same size, and so with ``drop_remainder``, for several devices); one
  process on one device also reads the last, shorter batch;
- **decoding**: each photo is decoded, resized to S × S, augmented (training only: a rotation in
  ±``max_rotation`` degrees and flips drawn from (seed, epoch, photo)) and split into L and ab,
  in ``workers`` Grain worker processes (in this process when 0);
- **resume**: :meth:`~StreamDataset.set_epoch` and :meth:`~StreamDataset.start_at`, as the feature
  cache's dataset has them (:class:`colorlib.data.featuredata.DatasetEpoch`): the order is a function
  of (seed, epoch), so the epoch and batch a backup records are the iterator's whole state, and a
  resumed run reads exactly the batches an unbroken one would.

Memory holds one epoch's order (8 bytes a photo) and the batches in flight, whatever the number of
photos.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from colorlib.core.config import BATCH_SIZE, IMAGE_SIZE, ROTATION_DEGREES, SEED
from colorlib.data import hints
from colorlib.data.epochs import EpochSchedule
from colorlib.data.shards import BatchReader, PhotoReader, ShardSet, stack_photos

#: Photos the U-Net's input statistics are computed from (the first ones of the split, in order).
STATS_PHOTOS = 256
#: Arrays smaller than this leave Grain's workers through pipes, not shared memory: all of them.
NO_SHARED_MEMORY = 2**62


class StreamDataset(EpochSchedule, keras.utils.PyDataset):
    """One split of a shard folder as training batches, decoded on the fly (see the module docstring)."""

    def __init__(
        self,
        shards: ShardSet,
        split: str,
        batch_size: int = BATCH_SIZE,
        image_size: int = IMAGE_SIZE,
        shuffle: bool = True,
        seed: int = SEED,
        max_rotation: float | None = ROTATION_DEGREES,
        hints: bool = False,
        process_index: int = 0,
        process_count: int = 1,
        workers: int = 0,
        steps_per_epoch: int | None = None,
        drop_remainder: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if not 0 <= process_index < process_count:
            raise ValueError(f"process_index must be in 0..{process_count - 1}, got {process_index}.")
        if steps_per_epoch is not None and steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be at least 1 (None: one pass), got {steps_per_epoch}.")
        self.count = shards.photos(split)
        self.global_batch = batch_size * process_count
        if self.count < self.global_batch and (process_count > 1 or drop_remainder):
            raise ValueError(
                f"The {split} split has {self.count} photos, fewer than one global batch of "
                f"{self.global_batch} ({process_count} processes × {batch_size}); use a smaller batch."
            )
        if not self.count:
            raise ValueError(f"The {split} split of the shards in {shards.root} holds no photos.")
        self.split, self.batch_size, self.image_size = split, batch_size, image_size
        self.shuffle, self.seed, self.hints = shuffle, seed, hints
        self.process_index, self.process_count, self.workers = process_index, process_count, workers
        self.steps_per_epoch = steps_per_epoch
        self.drop_remainder = drop_remainder or process_count > 1
        self.reader = PhotoReader(
            [str(path) for path in shards.files(split)], image_size, seed, max_rotation if shuffle else None
        )
        self.epoch, self.first_batch = 0, 0
        self._pass, self._order = -1, np.arange(0)
        self._iterator, self._next = None, None
        self._last: tuple[int, Any] | None = None

    @property
    def pass_length(self) -> int:
        """Batches in one pass over the photos (see the module docstring for the rest left over)."""
        if self.drop_remainder:
            return self.count // self.global_batch
        return -(-self.count // self.batch_size)

    def _restart(self) -> None:
        self.close()

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.close()

    def close(self) -> None:
        """Stop the decoding workers (they start again with the next batch asked for)."""
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()
        self._iterator, self._last = None, None

    def order(self, pass_index: int) -> np.ndarray:
        """The photos' positions in pass ``pass_index``: Grain's shuffle from (seed, pass), or in order."""
        if pass_index != self._pass:
            import grain

            positions = grain.MapDataset.range(self.count)
            if self.shuffle:
                positions = positions.shuffle(
                    seed=int(np.random.default_rng([self.seed, pass_index]).integers(2**31))
                )
            self._pass, self._order = (
                pass_index,
                np.fromiter(iter(positions), dtype=np.int64, count=self.count),
            )
        return self._order

    def positions(self, index: int) -> tuple[np.ndarray, int]:
        """This process's photo positions of batch ``index`` served in the current epoch, and the pass
        they are drawn from (``steps_per_epoch`` cuts the passes into epochs, as the cache does)."""
        pass_index, batch = self.pass_and_batch(index)
        start = batch * self.global_batch + self.process_index * self.batch_size
        return self.order(pass_index)[start : start + self.batch_size], pass_index

    def _batches(self, first: int):
        """An iterator over the batches ``first …`` of the current epoch, decoded by Grain."""
        import grain

        items = [self.positions(index) for index in range(first, len(self))]
        work = grain.MapDataset.source(items).map(BatchReader(self.reader))
        if self.workers <= 0:
            return iter(work)
        _allow_grain_workers()
        # Batches come back through pipes, not shared memory: Grain frees shared memory on a thread of
        # its own, which a process that ends right after its last batch leaves to the resource tracker.
        options = grain.experimental.DatasetOptions(min_shm_size=NO_SHARED_MEMORY)
        work = grain.experimental.WithOptionsIterDataset(work.to_iter_dataset(), options)
        return iter(work.mp_prefetch(grain.MultiprocessingOptions(num_workers=self.workers)))

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} is outside 0..{len(self) - 1}.")
        if self._last is not None and self._last[0] == (self.epoch, index):
            l_norm, ab = self._last[1]
        else:
            if self._iterator is None or self._next != index:
                self.close()
                self._iterator, self._next = self._batches(index), index
            l_norm, ab = next(self._iterator)
            self._next += 1
            self._last = ((self.epoch, index), (l_norm, ab))
        if not self.hints:
            return l_norm, ab
        rng = np.random.default_rng([self.seed, self.epoch if self.shuffle else 0, index + self.first_batch])
        planes = hints.with_simulated_hints({}, ab, rng)
        return (l_norm, planes[hints.HINT_AB], planes[hints.HINT_MASK]), ab

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_iterator": None, "_last": None}


def _allow_grain_workers() -> None:
    """Grain 0.2.18's workers read absl's flags, which only absl's own ``app.run`` marks as parsed
    (google/grain#1355); colorlib has no absl flags of its own."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def encoded_stats(dataset: StreamDataset, encoder, photos: int = STATS_PHOTOS) -> dict[str, tuple]:
    """Per-channel ``(mean, variance)`` (float64) of each feature a multiscale ``encoder`` gives for
    the first ``photos`` photos of ``dataset``'s split, in order: what the U-Net standardizes its
    inputs with when it trains from shards (the feature cache computes them from its entries)."""
    from colorlib.archs import unet_arch

    count = min(photos, dataset.count)
    sums: dict[str, np.ndarray] = {}
    squares: dict[str, np.ndarray] = {}
    reader = PhotoReader(dataset.reader.files, dataset.image_size, dataset.seed, None)
    pixels: dict[str, int] = {}
    for start in range(0, count, dataset.batch_size):
        l_norm, _ = stack_photos(
            [reader((position, 0)) for position in range(start, min(start + dataset.batch_size, count))]
        )
        features = encoder.predict_on_batch(l_norm)
        for name in unet_arch.FEATURE_INPUTS:
            values = np.asarray(features[name], np.float64)
            flat = values.reshape(-1, values.shape[-1])
            sums[name] = sums.get(name, 0.0) + flat.sum(axis=0)
            squares[name] = squares.get(name, 0.0) + np.square(flat).sum(axis=0)
            pixels[name] = pixels.get(name, 0) + flat.shape[0]
    stats = {}
    for name in unet_arch.FEATURE_INPUTS:
        mean = sums[name] / pixels[name]
        stats[name] = (mean, np.maximum(squares[name] / pixels[name] - np.square(mean), 0.0))
    return stats


__all__ = ["PhotoReader", "StreamDataset", "encoded_stats"]
