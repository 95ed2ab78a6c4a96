"""The feature cache: encoder features computed once per image and augmentation view.

The encoder is frozen, so its output for an image never changes: it is computed once,
stored as float16, and training reads it back instead of running VGG16 every epoch.

**Entries.** One entry is one view of one image: view 0 is the photo itself, views
1..K-1 are :func:`colorlib.augment.view_params` of the image's content hash. The
augmentation is applied to the resized RGB before :func:`colorlib.lab.split_lab`, so
the encoder input (L) and the target (ab) stay aligned. An entry's key is the SHA-256
of (image content hash, image size, augmentation, encoder weights fingerprint, colorlib
version): a changed image, size, augmentation or encoder makes new keys, so exactly the
entries that changed are computed again and the rest are reused.

**The store** (default ``data/cache/features/``) is content-addressed and shared by runs::

    shards/<id>.features.npy   float16 (N, S/32, S/32, 512)   encoder features
    shards/<id>.ab.npy         float16 (N, S, S, 2)            ab targets in [-1, 1]
    shards/<id>.json           the shard's manifest: per entry its key, image SHA-256, image
                               size, augmentation, encoder fingerprint, colorlib version and
                               source path; per file its SHA-256, shape and dtype

Every file is written atomically and the manifest last, so it commits the shard. A
shard whose files fail their checksum (damaged, truncated) is reported in one line and
extracted again; it is never read silently. Workers never write the same file, so
several may extract into one store at once.

**Run indexes.** :class:`FeatureIndex` lists the entries of one split of a run, in order;
they are saved as ``data/runs/<run>/features/<split>.json`` (notebook 02) and read back
as :class:`FeatureDataset`, a ``keras.utils.PyDataset`` streaming ``(features, ab)``
batches with positional reads, so memory does not grow with the dataset (notebook 03).

**Several workers.** ``shard="i/n"`` makes worker i extract every n-th image (positions
i, i+n, ...) and save ``<split>.part-i-of-n.json``; :func:`merge_run_indexes` joins the
parts into ``<split>.json`` (the last worker to finish does it). Workers with separate
stores copy theirs into one with :func:`merge_stores` first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tqdm import tqdm

from colorlib import __version__, augment
from colorlib.config import (
    BATCH_SIZE,
    ENCODER_CHANNELS,
    ENCODER_STRIDE,
    ROTATION_DEGREES,
    SEED,
    project_root,
)
from colorlib.data import file_hash, load_resized
from colorlib.inputs import LoadReport, NpyRows, map_images
from colorlib.io import atomic_write, read_json, write_json
from colorlib.lab import split_lab
from colorlib.models import weights_fingerprint

#: Entries per shard file (at 256×256 a row is 64 KiB of features plus 256 KiB of ab).
SHARD_ROWS = 128
#: Version of the shard manifest and index formats.
FORMAT = 1
#: Training splits get ``views`` views per image; the others only view 0.
AUGMENTED_SPLITS = ("train",)
#: What parts of one extraction share: parts that differ in these are never merged.
EXTRACTION_SETTINGS = (
    "image_size", "encoder", "views", "seed", "max_rotation", "colorlib_version", "paths_digest"
)  # fmt: skip

_verified: dict[tuple[str, int, int, int], str] = {}


def default_cache_dir(data_dir: Path | str = "data") -> Path:
    """The shared store ``<data_dir>/cache/features`` (``data_dir`` relative to the project)."""
    data_dir = Path(data_dir).expanduser()
    return (data_dir if data_dir.is_absolute() else project_root() / data_dir) / "cache" / "features"


def entry_key(image_sha256: str, image_size: int, params: augment.AugmentParams, encoder_id: str) -> str:
    """The content address of one entry (see the module docstring)."""
    identity = {
        "image_sha256": image_sha256,
        "image_size": int(image_size),
        "augment": params.as_dict(),
        "encoder": encoder_id,
        "colorlib_version": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def parse_part(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"i/n"`` (0 <= i < n) -> ``(i, n)``; None stays None."""
    if shard is None:
        return None
    if isinstance(shard, str):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard)
        if not match:
            raise ValueError(f"--shard must look like I/N, such as 0/4, got {shard!r}.")
        shard = (int(match[1]), int(match[2]))
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"Shard {index}/{count} does not exist: I must be 0 to N-1 and N >= 1.")
    return index, count


def _sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime, inode) within this process."""
    stat = path.stat()
    token = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if token not in _verified:
        _verified[token] = file_hash(path)
    return _verified[token]


class FeatureStore:
    """The content-addressed shard store in ``root`` (see the module docstring)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.shards_dir = self.root / "shards"

    def files(self, shard_id: str) -> tuple[Path, Path, Path]:
        """``(features .npy, ab .npy, manifest .json)`` of a shard."""
        base = self.shards_dir / shard_id
        return Path(f"{base}.features.npy"), Path(f"{base}.ab.npy"), Path(f"{base}.json")

    def shard_ids(self) -> list[str]:
        """Every committed shard (one with a manifest), sorted."""
        if not self.shards_dir.is_dir():
            return []
        return sorted(p.stem for p in self.shards_dir.glob("*.json") if not p.name.startswith("."))

    def shard_manifest(self, shard_id: str) -> dict[str, Any]:
        return read_json(self.files(shard_id)[2])

    def verify(self, shard_id: str) -> str | None:
        """None when the shard's files match their checksums, else the reason they do not."""
        try:
            manifest = self.shard_manifest(shard_id)
            described = manifest["files"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            return f"its manifest cannot be read ({error})"
        for name, path in zip(("features", "ab"), self.files(shard_id)[:2], strict=True):
            if not path.is_file():
                return f"the {name} file is missing"
            if _sha256(path) != described[name]["sha256"]:
                return f"the {name} file fails its SHA-256 checksum (damaged or truncated)"
        return None

    def remove(self, shard_id: str) -> None:
        for path in self.files(shard_id):
            path.unlink(missing_ok=True)

    def lookup(self) -> dict[str, tuple[str, int]]:
        """``{entry key: (shard id, row)}`` over the whole store."""
        found: dict[str, tuple[str, int]] = {}
        for shard_id in self.shard_ids():
            try:
                entries = self.shard_manifest(shard_id)["entries"]
            except (OSError, ValueError, KeyError, TypeError) as error:
                tqdm.write(f"damaged shard {shard_id}: its manifest cannot be read ({error}); removed")
                self.remove(shard_id)
                continue
            for row, entry in enumerate(entries):
                found.setdefault(entry["key"], (shard_id, row))
        return found

    def manifest(self) -> dict[str, Any]:
        """The whole store as one mapping: ``{"shards": {id: manifest}, "entries": {key: entry}}``."""
        shards = {shard_id: self.shard_manifest(shard_id) for shard_id in self.shard_ids()}
        entries = {
            entry["key"]: {**entry, "shard": shard_id, "row": row}
            for shard_id, shard in shards.items()
            for row, entry in enumerate(shard["entries"])
        }
        return {"format": FORMAT, "root": str(self.root), "shards": shards, "entries": entries}

    def write(self, entries: list[dict[str, Any]], features: np.ndarray, ab: np.ndarray) -> str:
        """Store one shard (float16 arrays, one row per entry); returns its id."""
        if not len(entries) == len(features) == len(ab):
            raise ValueError("A shard needs as many feature and ab rows as entries.")
        shard_id = hashlib.sha256("".join(e["key"] for e in entries).encode()).hexdigest()[:32]
        features_path, ab_path, manifest_path = self.files(shard_id)
        described = {}
        for name, path, array in (("features", features_path, features), ("ab", ab_path, ab)):
            with atomic_write(path) as temporary:
                np.save(temporary, np.ascontiguousarray(array, dtype=np.float16))
            described[name] = {
                "file": path.name,
                "sha256": _sha256(path),
                "shape": list(array.shape),
                "dtype": "float16",
            }
        write_json(
            manifest_path,
            {"format": FORMAT, "id": shard_id, "rows": len(entries), "files": described, "entries": entries},
        )
        return shard_id


@dataclass
class FeatureIndex:
    """The cache entries that make up one split of a run, in order.

    Each entry: ``key``, ``shard``, ``row``, ``path`` (source image), ``image_sha256``,
    ``view`` and ``position`` (the image's place in the list given to the extraction).
    """

    cache_dir: str
    image_size: int
    encoder: str
    views: int
    seed: int
    max_rotation: float
    entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: ``(i, n)`` when this is worker i's part of n, else None.
    part: tuple[int, int] | None = None
    colorlib_version: str = __version__
    #: What the extraction did: ``computed``, ``reused`` and ``rebuilt_shards`` counts.
    stats: dict[str, int] = field(default_factory=dict)
    #: SHA-256 of the whole list of paths given to the extraction, so parts of different
    #: lists are never merged.
    paths_digest: str = ""

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def paths(self) -> list[str]:
        """The distinct source images, in order."""
        return list(dict.fromkeys(entry["path"] for entry in self.entries))

    def save(self, path: Path | str) -> Path:
        return write_json(path, {"format": FORMAT, **asdict(self)})

    @classmethod
    def load(cls, path: Path | str) -> FeatureIndex:
        values = read_json(path)
        values.pop("format", None)
        values["skipped"] = [tuple(item) for item in values.get("skipped", [])]
        values["part"] = tuple(values["part"]) if values.get("part") else None
        return cls(**values)


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
        self.located: dict[str, tuple[str, int]] = {}

    def add(self, entries: list[dict[str, Any]], features: np.ndarray, ab: np.ndarray) -> None:
        self.entries += entries
        self.features.append(features)
        self.ab.append(ab)
        if len(self.entries) >= self.rows:
            self.flush()

    def flush(self) -> None:
        if not self.entries:
            return
        shard_id = self.store.write(self.entries, np.concatenate(self.features), np.concatenate(self.ab))
        self.located.update({e["key"]: (shard_id, row) for row, e in enumerate(self.entries)})
        self.entries, self.features, self.ab = [], [], []


def _encode(encoder: keras.Model, l_batch: np.ndarray) -> np.ndarray:
    features = np.asarray(encoder.predict_on_batch(l_batch)).astype(np.float16)
    if not np.isfinite(features).all():
        raise ValueError("The encoder's features exceed the float16 range of the cache.")
    return features


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
    :func:`merge_indexes`). The image size is the encoder's input size.
    """
    if views < 1:
        raise ValueError(f"views must be at least 1, got {views}.")
    image_size = _encoder_image_size(encoder)
    store = FeatureStore(cache_dir)
    encoder_id = weights_fingerprint(encoder)
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
                key = entry_key(hashes[path], image_size, params, encoder_id)
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
        features = _encode(encoder, np.stack([item[1] for item in batch]))
        ab = np.stack([item[2] for item in batch]).astype(np.float16)
        writer.add([item[0] for item in batch], features, ab)
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
    )


def merge_indexes(indexes: Sequence[FeatureIndex], cache_dir: Path | str | None = None) -> FeatureIndex:
    """Join the parts ``i/n`` of one extraction into the index a single extraction gives.

    All n parts must be present, made with the same settings and encoder. ``cache_dir``
    replaces their store (after :func:`merge_stores` copied separate stores into one).
    """
    if not indexes:
        raise ValueError("merge_indexes needs at least one index.")
    first = indexes[0]
    for index in indexes[1:]:
        differing = [name for name in EXTRACTION_SETTINGS if getattr(index, name) != getattr(first, name)]
        if differing:
            raise ValueError(
                f"The parts differ in {', '.join(differing)}; every worker must extract the "
                "same list of images with the same settings."
            )
    parts = {index.part for index in indexes}
    count = first.part[1] if first.part else 1
    missing = sorted({(i, count) for i in range(count)} - parts)
    if None in parts or len(parts) != len(indexes) or missing:
        raise ValueError(
            "merge_indexes needs each part i/n of one extraction exactly once; "
            f"got {sorted(map(str, parts))}, missing {[f'{i}/{n}' for i, n in missing]}."
        )
    stores = {index.cache_dir for index in indexes}
    if cache_dir is None and len(stores) > 1:
        raise ValueError(
            f"The parts are in different stores {sorted(stores)}; copy them into one with "
            "merge_stores() and pass its folder as cache_dir."
        )
    entries = sorted(
        (entry for index in indexes for entry in index.entries),
        key=lambda entry: (entry["position"], entry["view"]),
    )
    stats = {name: sum(index.stats.get(name, 0) for index in indexes) for name in first.stats}
    return dataclasses.replace(
        first,
        cache_dir=str(Path(cache_dir).resolve()) if cache_dir else first.cache_dir,
        entries=entries,
        skipped=[item for index in indexes for item in index.skipped],
        part=None,
        stats=stats,
    )


def merge_stores(sources: Sequence[Path | str], destination: Path | str) -> int:
    """Copy the verified shards of other stores into ``destination``; returns how many were new."""
    target = FeatureStore(destination)
    target.shards_dir.mkdir(parents=True, exist_ok=True)
    copied = 0
    for source in map(FeatureStore, sources):
        for shard_id in source.shard_ids():
            if shard_id in target.shard_ids() and target.verify(shard_id) is None:
                continue
            reason = source.verify(shard_id)
            if reason:
                tqdm.write(f"damaged shard {source.files(shard_id)[2]}: {reason}; not copied")
                continue
            for origin, goal in zip(source.files(shard_id), target.files(shard_id), strict=True):
                with atomic_write(goal) as temporary:
                    shutil.copyfile(origin, temporary)
            copied += 1
    return copied


def index_path(features_dir: Path | str, split: str, part: tuple[int, int] | None = None) -> Path:
    """``<features_dir>/<split>.json``, or ``<split>.part-i-of-n.json`` for a worker's part."""
    suffix = f".part-{part[0]}-of-{part[1]}" if part else ""
    return Path(features_dir) / f"{split}{suffix}.json"


def merge_run_indexes(
    features_dir: Path | str, splits: Sequence[str] = ("train", "validation")
) -> dict[str, FeatureIndex]:
    """Join every split's worker parts ``<split>.part-i-of-n.json`` into ``<split>.json``."""
    merged = {}
    for split in splits:
        parts = sorted(Path(features_dir).glob(f"{split}.part-*-of-*.json"))
        counts = {path.stem.rsplit("-of-", 1)[1] for path in parts}
        if len(counts) != 1:
            raise ValueError(
                f"Found {len(counts)} sets of worker parts of '{split}' in {features_dir} "
                f"({', '.join(sorted(counts)) or 'none'} workers); run `colorlib extract --shard I/N` "
                "on every worker of one set and remove the parts of other sets."
            )
        merged[split] = merge_indexes([FeatureIndex.load(path) for path in parts])
        merged[split].save(index_path(features_dir, split))
    return merged


def extract_splits(
    splits: Mapping[str, Sequence[Path | str]],
    encoder: keras.Model,
    features_dir: Path | str,
    cache_dir: Path | str | None = None,
    views: int = 1,
    seed: int = SEED,
    max_rotation: float = ROTATION_DEGREES,
    batch_size: int = BATCH_SIZE,
    shard: str | tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, FeatureIndex]:
    """Extract each split (``views`` views for training, view 0 for the others); save the indexes.

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
            views if split in AUGMENTED_SPLITS else 1,
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
        if merged_path.is_file() and not _same_extraction(FeatureIndex.load(merged_path), index):
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


def _same_extraction(first: FeatureIndex, second: FeatureIndex) -> bool:
    return all(getattr(first, name) == getattr(second, name) for name in EXTRACTION_SETTINGS)


def load_run_indexes(
    features_dir: Path | str, splits: Sequence[str] = ("train", "validation")
) -> dict[str, FeatureIndex]:
    """The saved indexes of a run's splits (notebook 02 writes them)."""
    indexes = {}
    for split in splits:
        path = index_path(features_dir, split)
        if not path.is_file():
            raise FileNotFoundError(
                f"No feature index at {path}. Extract the features first (notebook 02 or "
                "`colorlib extract`); with --shard workers, merge their parts."
            )
        indexes[split] = FeatureIndex.load(path)
    return indexes


class FeatureDataset(keras.utils.PyDataset):
    """Cached batches ``(features float32 (B, S/32, S/32, 512), ab float32 (B, S, S, 2))``.

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
        side = index.image_size // ENCODER_STRIDE
        self.feature_shape = (side, side, ENCODER_CHANNELS)
        self.ab_shape = (index.image_size, index.image_size, 2)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.epoch = 0
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self._row))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self._row))

    @property
    def num_entries(self) -> int:
        return len(self._row)

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
