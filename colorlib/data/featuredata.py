"""Cached features for training: a run's feature indexes streamed as Keras datasets.

:class:`FeatureDataset` reads the entries a :class:`colorlib.data.featureindex.FeatureIndex` lists
from the shard store (:mod:`colorlib.data.featurestore`) as a ``keras.utils.PyDataset``
streaming ``(features, ab)`` batches with positional reads, so memory does not grow with
the dataset (notebook 03). :func:`run_datasets` makes the training and validation
datasets of a run from its saved indexes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from colorlib.archs import unet_arch
from colorlib.core.config import BATCH_SIZE, EXTRA_TRAIN_SPLIT, SEED
from colorlib.data import hints
from colorlib.data.epochs import EpochSchedule
from colorlib.data.featureindex import (
    AUGMENTED_SPLITS,
    EXTRA_ARRAYS,
    FeatureIndex,
    index_path,
    join_indexes,
    load_run_indexes,
)
from colorlib.data.featurestore import FeatureStore
from colorlib.data.inputs import NpyRows, epoch_order

#: Entries the U-Net's standardization statistics are computed from (the first ones of the index).
STATS_ROWS = 256


class FeatureDataset(EpochSchedule, keras.utils.PyDataset):
    """Cached batches ``(features float32 (B, S/32, S/32, C), ab float32 (B, S, S, 2))``, C 512 or 1280.

    For an index with skip features (``index.skips``, a multiscale extraction for the U-Net)
    the inputs are a dict instead: ``"bottleneck"`` (the features above), ``"stride16"``,
    ``"stride8"``, ``"stride4"`` ``(B, S/k, S/k, C_k)`` and ``"l"`` ``(B, S, S, 1)`` in [0, 1],
    all float32: the inputs of :func:`colorlib.archs.unet_arch.build_unet`.

    Rows are read with positional reads for each batch, so resident memory stays
    flat however many entries the index holds. With ``shuffle`` the order is a new
    permutation every epoch, drawn from ``seed`` and the epoch number. With
    ``verify``, every shard's checksums are checked once when the dataset is made.
    """

    def __init__(
        self,
        index: FeatureIndex,
        batch_size: int = BATCH_SIZE,
        shuffle: bool = True,
        seed: int = SEED,
        verify: bool = True,
        steps_per_epoch: int | None = None,
        hints: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not len(index):
            raise ValueError("The feature index has no entries; extract features first.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if steps_per_epoch is not None and steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be at least 1 (None: one pass), got {steps_per_epoch}.")
        store = FeatureStore(index.cache_dir)
        shard_ids = sorted({entry["shard"] for entry in index.entries})
        number = {shard_id: n for n, shard_id in enumerate(shard_ids)}
        self._shard = np.array([number[entry["shard"]] for entry in index.entries], dtype=np.int32)
        self._row = np.array([entry["row"] for entry in index.entries], dtype=np.int64)
        keys = [entry["key"] for entry in index.entries]
        self._features: list[NpyRows] = []
        self._ab: list[NpyRows] = []
        self._extras: list[dict[str, NpyRows]] = []
        self.skips = bool(getattr(index, "skips", False))
        for n, shard_id in enumerate(shard_ids):
            problem = store.verify(shard_id) if verify else None
            try:
                stored = [entry["key"] for entry in store.shard_manifest(shard_id)["entries"]]
            except FileNotFoundError:
                problem = "it is missing"
            if not problem:
                rows = np.flatnonzero(self._shard == n)
                if any(self._row[i] >= len(stored) or stored[self._row[i]] != keys[i] for i in rows):
                    problem = "it holds other entries than the index says"
            if problem:
                raise ValueError(
                    f"Shard {shard_id} of the feature cache in {store.root} cannot be used: "
                    f"{problem}. Run the extraction again (notebook 02 or `colorlib extract`) to "
                    "rebuild it."
                )
            features_path, ab_path, _ = store.files(shard_id)
            self._features.append(NpyRows(features_path))
            self._ab.append(NpyRows(ab_path))
            if self.skips:
                extra = store.extra_files(shard_id)
                if set(extra) != set(EXTRA_ARRAYS):
                    raise ValueError(
                        f"Shard {shard_id} of the feature cache in {store.root} holds no skip "
                        "features, though the index says it does. Run the extraction again."
                    )
                self._extras.append({name: NpyRows(path) for name, path in extra.items()})
        self.feature_shape = self._features[0].shape[1:]  # (S/32, S/32, C): C depends on the encoder
        self.ab_shape = (index.image_size, index.image_size, 2)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.steps_per_epoch = steps_per_epoch
        if hints and not self.skips:
            raise ValueError("hints=True needs an index with skip features (a U-Net's cache).")
        self.hints = hints
        self.epoch = 0
        #: Batches of the current epoch already trained before an interruption: not served again.
        self.first_batch = 0
        self._pass, self._order = 0, self._permutation(0)

    def _permutation(self, pass_index: int) -> np.ndarray:
        return epoch_order(len(self._row), self.shuffle, self.seed, pass_index)

    @property
    def pass_length(self) -> int:
        """Batches in one pass over every entry."""
        return -(-len(self._row) // self.batch_size)

    def positions(self, index: int) -> np.ndarray:
        """The index positions of the ``index``-th batch served in the current epoch (batch
        ``first_batch + index`` of the epoch).

        One pass over the entries is a permutation drawn from (seed, pass number). With
        ``steps_per_epoch`` the passes are cut into epochs of that many batches, one after
        the other: epoch e serves batches ``e·steps … (e+1)·steps − 1`` of that stream.
        """
        pass_index, batch = self.pass_and_batch(index)
        if pass_index != self._pass:
            self._pass, self._order = pass_index, self._permutation(pass_index)
        return self._order[batch * self.batch_size : (batch + 1) * self.batch_size]

    def _read(self, chosen: np.ndarray) -> tuple[np.ndarray | dict[str, np.ndarray], np.ndarray]:
        """Inputs and ab (float32) of the entries at positions ``chosen`` of the index."""
        shards, rows = self._shard[chosen], self._row[chosen]
        sources = {unet_arch.BOTTLENECK: self._features, "ab": self._ab}
        if self.skips:
            sources |= {name: [extra[name] for extra in self._extras] for name in EXTRA_ARRAYS}
        arrays = {
            name: np.empty((len(chosen), *files[0].shape[1:]), dtype=np.float16)
            for name, files in sources.items()
        }
        for shard in np.unique(shards):
            where = np.flatnonzero(shards == shard)
            for name, files in sources.items():
                arrays[name][where] = files[shard].read(rows[where])
        arrays = {name: array.astype(np.float32) for name, array in arrays.items()}
        ab = arrays.pop("ab")
        return (arrays if self.skips else arrays[unet_arch.BOTTLENECK]), ab

    def __getitem__(self, index: int) -> tuple[np.ndarray | dict[str, np.ndarray], np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} is outside 0..{len(self) - 1}.")
        inputs, ab = self._read(self.positions(index))
        if self.hints:
            # Drawn from (seed, epoch, batch): a shuffled split gets new hints every epoch, and an
            # unshuffled one (validation) the same hints every time.
            batch = index + self.first_batch
            rng = np.random.default_rng([self.seed, self.epoch if self.shuffle else 0, batch])
            inputs = hints.with_simulated_hints(inputs, ab, rng)
        return inputs, ab

    def channel_stats(self, rows: int = STATS_ROWS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-channel ``(mean, variance)`` (float64) of each feature input over the first ``rows`` entries.

        In index order, so the same cache gives the same numbers; what the U-Net standardizes
        its inputs with (:func:`colorlib.archs.unet_arch.build_unet`). Only for an index with skips.
        """
        if not self.skips:
            raise ValueError("channel_stats needs an index with skip features (a multiscale extraction).")
        sums: dict[str, np.ndarray] = {}
        squares: dict[str, np.ndarray] = {}
        count = min(rows, len(self._row))
        for start in range(0, count, self.batch_size):
            inputs, _ = self._read(np.arange(start, min(start + self.batch_size, count)))
            for name in unet_arch.FEATURE_INPUTS:
                values = inputs[name].reshape(-1, inputs[name].shape[-1]).astype(np.float64)
                sums[name] = sums.get(name, 0.0) + values.sum(axis=0)
                squares[name] = squares.get(name, 0.0) + np.square(values).sum(axis=0)
        stats = {}
        for name in unet_arch.FEATURE_INPUTS:
            pixels = count * int(np.prod(self._spatial(name)))
            mean = sums[name] / pixels
            stats[name] = (mean, np.maximum(squares[name] / pixels - np.square(mean), 0.0))
        return stats

    def _spatial(self, name: str) -> tuple[int, int]:
        files = self._features if name == unet_arch.BOTTLENECK else [extra[name] for extra in self._extras]
        return files[0].shape[1:3]

    def on_epoch_end(self) -> None:
        self.epoch += 1


class DatasetEpoch(keras.callbacks.Callback):
    """Tells a :class:`FeatureDataset` which epoch begins, so that a fit resumed at epoch E
    reads the batches of epoch E, not those of epoch 0.

    Keras' own ``on_epoch_end`` calls cannot say it: it also calls one before the first epoch,
    after peeking at the first batches, and knows nothing of a restored backup. It reads an
    epoch's batches after the callbacks' ``on_epoch_begin``, so this sets the epoch there.
    """

    def __init__(self, dataset: FeatureDataset) -> None:
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.dataset.set_epoch(epoch)


def run_datasets(
    features_dir: Path | str,
    batch_size: int = BATCH_SIZE,
    seed: int = SEED,
    steps_per_epoch: int | None = None,
    hints: bool = False,
    **kwargs: Any,
) -> dict[str, FeatureDataset]:
    """``{"train": shuffled FeatureDataset, "validation": in order}`` from a run's saved indexes.

    A run with extra folders also has an ``extra-train`` index; its entries join the training ones.
    ``hints``: the inputs also hold hints simulated from each batch's true ab
    (:mod:`colorlib.data.hints`), for a hint-aware U-Net. ``steps_per_epoch`` cuts the training
    passes into epochs of that many batches; fit with
    :class:`DatasetEpoch` so that each epoch reads its own batches, a resumed one too.
    """
    indexes = load_run_indexes(features_dir)
    extra_path = index_path(features_dir, EXTRA_TRAIN_SPLIT)
    if extra_path.is_file():
        indexes["train"] = join_indexes(indexes["train"], FeatureIndex.load(extra_path))
    datasets = {
        split: FeatureDataset(
            index,
            batch_size,
            shuffle=split in AUGMENTED_SPLITS,
            seed=seed,
            steps_per_epoch=steps_per_epoch if split in AUGMENTED_SPLITS else None,
            hints=hints,
            **kwargs,
        )
        for split, index in indexes.items()
    }
    return datasets
