"""Cached features for training: a run's feature indexes streamed as Keras datasets.

:class:`FeatureDataset` reads the entries a :class:`colorlib.features.FeatureIndex` lists
from the shard store (:mod:`colorlib.featurestore`) as a ``keras.utils.PyDataset``
streaming ``(features, ab)`` batches with positional reads, so memory does not grow with
the dataset (notebook 03). :func:`run_datasets` makes the training and validation
datasets of a run from its saved indexes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from colorlib.config import BATCH_SIZE, SEED
from colorlib.features import AUGMENTED_SPLITS, FeatureIndex, load_run_indexes
from colorlib.featurestore import FeatureStore
from colorlib.inputs import NpyRows, epoch_order


class FeatureDataset(keras.utils.PyDataset):
    """Cached batches ``(features float32 (B, S/32, S/32, C), ab float32 (B, S, S, 2))``, C 512 or 1280.

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not len(index):
            raise ValueError("The feature index has no entries; extract features first.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        store = FeatureStore(index.cache_dir)
        shard_ids = sorted({entry["shard"] for entry in index.entries})
        number = {shard_id: n for n, shard_id in enumerate(shard_ids)}
        self._shard = np.array([number[entry["shard"]] for entry in index.entries], dtype=np.int32)
        self._row = np.array([entry["row"] for entry in index.entries], dtype=np.int64)
        keys = [entry["key"] for entry in index.entries]
        self._features: list[NpyRows] = []
        self._ab: list[NpyRows] = []
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
        self.feature_shape = self._features[0].shape[1:]  # (S/32, S/32, C): C depends on the encoder
        self.ab_shape = (index.image_size, index.image_size, 2)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.epoch = 0
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        return epoch_order(len(self._row), self.shuffle, self.seed, self.epoch)

    def __len__(self) -> int:
        return -(-len(self._row) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} is outside 0..{len(self) - 1}.")
        chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        shards, rows = self._shard[chosen], self._row[chosen]
        features = np.empty((len(chosen), *self.feature_shape), dtype=np.float16)
        ab = np.empty((len(chosen), *self.ab_shape), dtype=np.float16)
        for shard in np.unique(shards):
            where = np.flatnonzero(shards == shard)
            features[where] = self._features[shard].read(rows[where])
            ab[where] = self._ab[shard].read(rows[where])
        return features.astype(np.float32), ab.astype(np.float32)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._permutation()


def run_datasets(
    features_dir: Path | str, batch_size: int = BATCH_SIZE, seed: int = SEED, **kwargs: Any
) -> dict[str, FeatureDataset]:
    """``{"train": shuffled FeatureDataset, "validation": in order}`` from a run's saved indexes."""
    indexes = load_run_indexes(features_dir)
    return {
        split: FeatureDataset(index, batch_size, shuffle=split in AUGMENTED_SPLITS, seed=seed, **kwargs)
        for split, index in indexes.items()
    }
