"""Feature extraction: encoder features computed once per image and augmentation view.

The encoder is frozen, so its output for an image never changes: it is computed once,
stored as float16 in the shard store of :mod:`colorlib.data.featurestore`, and training reads
it back (:mod:`colorlib.data.featuredata`) instead of running VGG16 every epoch.

**Entries.** One entry is one view of one image: view 0 is the photo itself, views
1..K-1 are :func:`colorlib.data.augment.view_params` of the image's content hash. The
augmentation is applied to the resized RGB before :func:`colorlib.color.lab.split_lab`, so
the encoder input (L) and the target (ab) stay aligned. An entry's key
(:func:`colorlib.data.featurestore.entry_key`) is the SHA-256 of (image content hash, image
size, augmentation, encoder weights fingerprint, colorlib version): a changed image,
size, augmentation or encoder makes new keys, so exactly the entries that changed are
computed again and the rest are reused.

**Skip features.** A multiscale encoder (:func:`colorlib.archs.colorizer_arch.multiscale_encoder`, for
the U-Net decoder) also stores, per entry, the skip features ``stride16``, ``stride8``,
``stride4`` and the L channel (extra shard files, see :mod:`colorlib.data.featurestore`, with
the bytes per view); such entries have keys of their own and the index says ``skips``.

**Run indexes.** :class:`FeatureIndex` lists the entries of one split of a run, in order;
they are saved as ``data/runs/<run>/features/<split>.json`` (notebook 02) and read back
as :class:`colorlib.data.featuredata.FeatureDataset` (notebook 03).

**Several workers.** ``shard="i/n"`` makes worker i extract every n-th image (positions
i, i+n, ...) and save ``<split>.part-i-of-n.json``; the last worker to
finish joins the parts into ``<split>.json``. Workers with separate
stores copy theirs into one with :func:`colorlib.data.featurestore.merge_stores` first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tqdm import tqdm

from colorlib import __version__
from colorlib.archs import unet_arch
from colorlib.archs.colorizer_arch import weights_fingerprint
from colorlib.color.lab import split_lab
from colorlib.core.config import BATCH_SIZE, ROTATION_DEGREES, SEED
from colorlib.core.io import file_hash
from colorlib.data import augment
from colorlib.data.featureindex import (
    AUGMENTED_SPLITS,
    FeatureIndex,
    index_path,
    merge_indexes,
    parse_part,
    same_extraction,
)
from colorlib.data.featurestore import SHARD_ROWS, FeatureStore, entry_key
from colorlib.data.images import load_resized
from colorlib.data.inputs import LoadReport, map_images


def _encoder_image_size(encoder: keras.Model) -> int:
    shape = tuple(encoder.input_shape)
    if len(shape) != 4 or shape[-1] != 1 or shape[1] != shape[2] or shape[1] is None:
        raise ValueError(f"The encoder must take L images (S, S, 1); its input is {shape[1:]}.")
    return int(shape[1])


class _ShardWriter:
    """Collects computed rows and writes a shard every ``rows`` entries."""

    def __init__(self, store: FeatureStore, rows: int) -> None:
        self.store, self.rows = store, rows
        self.entries: list[dict[str, Any]] = []
        self.features: list[np.ndarray] = []
        self.ab: list[np.ndarray] = []
        self.extras: list[dict[str, np.ndarray]] = []
        self.located: dict[str, tuple[str, int]] = {}

    def add(
        self,
        entries: list[dict[str, Any]],
        features: np.ndarray,
        ab: np.ndarray,
        extras: dict[str, np.ndarray],
    ) -> None:
        self.entries += entries
        self.features.append(features)
        self.ab.append(ab)
        self.extras.append(extras)
        if len(self.entries) >= self.rows:
            self.flush()

    def flush(self) -> None:
        if not self.entries:
            return
        extras = {name: np.concatenate([part[name] for part in self.extras]) for name in self.extras[0]}
        shard_id = self.store.write(
            self.entries, np.concatenate(self.features), np.concatenate(self.ab), extras
        )
        self.located.update({e["key"]: (shard_id, row) for row, e in enumerate(self.entries)})
        self.entries, self.features, self.ab, self.extras = [], [], [], []


def _encode(encoder: keras.Model, l_batch: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """float16 ``(bottleneck features, extras)``; extras (skips and L) only for a multiscale encoder."""
    outputs = encoder.predict_on_batch(l_batch)
    if isinstance(outputs, dict):
        extras = {name: outputs[name] for name in unet_arch.SKIPS} | {unet_arch.L_INPUT: l_batch}
        outputs = outputs[unet_arch.BOTTLENECK]
    else:
        extras = {}
    features = np.asarray(outputs).astype(np.float16)
    extras = {name: np.asarray(value).astype(np.float16) for name, value in extras.items()}
    if not all(np.isfinite(array).all() for array in (features, *extras.values())):
        raise ValueError("The encoder's features exceed the float16 range of the cache.")
    return features, extras


def extract_features(
    paths: Sequence[Path | str],
    encoder: keras.Model,
    cache_dir: Path | str | None = None,
    views: int = 1,
    seed: int = SEED,
    max_rotation: float = ROTATION_DEGREES,
    batch_size: int = BATCH_SIZE,
    shard: str | tuple[int, int] | None = None,
    shard_rows: int = SHARD_ROWS,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "Extracting features",
) -> FeatureIndex:
    """Make sure the cache holds ``views`` views of every image; return their index.

    Entries already in the store (checksums verified) are reused; the rest are computed
    in batches of ``batch_size`` while the next images are decoded in parallel.
    Unreadable images are reported and listed in ``index.skipped``. ``shard="i/n"``
    handles only positions i, i+n, ... of ``paths`` (merge the parts with
    :func:`merge_indexes`). The image size is the encoder's input size. A multiscale
    encoder (:func:`colorlib.archs.colorizer_arch.multiscale_encoder`) also stores the skip features and L.
    """
    if views < 1:
        raise ValueError(f"views must be at least 1, got {views}.")
    image_size = _encoder_image_size(encoder)
    store = FeatureStore(cache_dir)
    encoder_id = weights_fingerprint(encoder)
    skips = isinstance(encoder.output, dict)
    part = parse_part(shard)
    positions = list(range(len(paths)))[part[0] :: part[1]] if part else list(range(len(paths)))
    report = LoadReport()
    mine = [Path(paths[p]) for p in positions]
    hashes = dict(map_images(file_hash, mine, workers, progress, "Hashing images", report))

    wanted: list[dict[str, Any]] = []
    for position, path in zip(positions, mine, strict=True):
        if path in hashes:
            for view in range(views):
                params = augment.view_params(hashes[path], view, seed, max_rotation)
                key = entry_key(hashes[path], image_size, params, encoder_id, skips)
                wanted.append(
                    {
                        "key": key,
                        "path": str(path),
                        "image_sha256": hashes[path],
                        "view": view,
                        "position": position,
                        "augment": params,
                    }
                )

    located = store.lookup()
    rebuilt = 0
    for shard_id in sorted({located[w["key"]][0] for w in wanted if w["key"] in located}):
        reason = store.verify(shard_id)
        if reason:
            tqdm.write(f"damaged shard {store.files(shard_id)[2]}: {reason}; extracting it again")
            store.remove(shard_id)
            located = {k: v for k, v in located.items() if v[0] != shard_id}
            rebuilt += 1

    todo: dict[Path, dict[str, augment.AugmentParams]] = {}
    for w in wanted:
        if w["key"] not in located:
            todo.setdefault(Path(w["path"]), {})[w["key"]] = w["augment"]

    def prepare(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
        rgb = load_resized(path, image_size)
        return [(key, *split_lab(augment.apply(rgb, p))) for key, p in todo[path].items()]

    writer = _ShardWriter(store, shard_rows)
    pending: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []
    computed = 0

    def run_encoder(count: int) -> None:
        nonlocal pending, computed
        batch, pending = pending[:count], pending[count:]
        features, extras = _encode(encoder, np.stack([item[1] for item in batch]))
        ab = np.stack([item[2] for item in batch]).astype(np.float16)
        writer.add([item[0] for item in batch], features, ab, extras)
        computed += len(batch)

    done: set[str] = set()
    for path, prepared in map_images(prepare, list(todo), workers, progress, desc, report, 2 * batch_size):
        for key, l_norm, ab in prepared:
            if key in done:
                continue
            done.add(key)
            params = todo[path][key]
            meta = {
                "key": key,
                "image_sha256": hashes[path],
                "image_size": image_size,
                "augment": params.as_dict(),
                "encoder": encoder_id,
                "colorlib_version": __version__,
                "source": str(path),
            }
            if skips:
                meta["skips"] = True
            pending.append((meta, l_norm, ab))
        while len(pending) >= batch_size:
            run_encoder(batch_size)
    if pending:
        run_encoder(len(pending))
    writer.flush()
    located.update(writer.located)

    entries = [
        {
            **{k: v for k, v in w.items() if k != "augment"},
            "shard": located[w["key"]][0],
            "row": located[w["key"]][1],
        }
        for w in wanted
        if w["key"] in located
    ]
    return FeatureIndex(
        cache_dir=str(store.root.resolve()),
        image_size=image_size,
        encoder=encoder_id,
        views=views,
        seed=seed,
        max_rotation=max_rotation,
        entries=entries,
        skipped=report.skipped,
        part=part,
        stats={"computed": computed, "reused": len(entries) - computed, "rebuilt_shards": rebuilt},
        paths_digest=hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest(),
        skips=skips,
    )


def _split_views(views: int | Mapping[str, int], split: str) -> int:
    if isinstance(views, Mapping):
        return int(views.get(split, 1))
    return views if split in AUGMENTED_SPLITS else 1


def extract_splits(
    splits: Mapping[str, Sequence[Path | str]],
    encoder: keras.Model,
    features_dir: Path | str,
    cache_dir: Path | str | None = None,
    views: int | Mapping[str, int] = 1,
    seed: int = SEED,
    max_rotation: float = ROTATION_DEGREES,
    batch_size: int = BATCH_SIZE,
    shard: str | tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, FeatureIndex]:
    """Extract each split (``views`` views for training, view 0 for the others); save the indexes.

    ``views`` may also be a mapping ``{split: views}``; splits it does not name get view 0 only.

    With ``shard="i/n"`` this worker saves its parts; when every part of a split is
    there, the last worker also saves the merged ``<split>.json``. Returns the indexes
    saved as ``<split>.json`` (merged ones), or this worker's parts when not yet merged.
    """
    part = parse_part(shard)
    result = {}
    for split, paths in splits.items():
        index = extract_features(
            paths,
            encoder,
            cache_dir,
            _split_views(views, split),
            seed,
            max_rotation,
            batch_size,
            part,
            workers=workers,
            progress=progress,
            desc=f"Extracting {split} features",
        )
        result[split] = index
        index.save(index_path(features_dir, split, part))
        if not part:
            continue
        merged_path = index_path(features_dir, split)
        if merged_path.is_file() and not same_extraction(FeatureIndex.load(merged_path), index):
            merged_path.unlink()  # made from other images or settings: not this run's index any more
        names = [index_path(features_dir, split, (i, part[1])) for i in range(part[1])]
        if all(path.is_file() for path in names):
            try:
                result[split] = merge_indexes([FeatureIndex.load(path) for path in names])
            except ValueError as error:
                tqdm.write(f"the parts of '{split}' were not merged: {error}")
                continue
            result[split].save(merged_path)
    return result
