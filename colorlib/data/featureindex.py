"""The index of one split's cached features: which photos, views and shards, and how they were made."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from colorlib import __version__
from colorlib.archs import unet_arch
from colorlib.core.io import read_json, write_json
from colorlib.data.featurestore import FORMAT

#: Training splits get ``views`` views per image; the others only view 0.
AUGMENTED_SPLITS = ("train",)
#: What parts of one extraction share: parts that differ in these are never merged.
EXTRACTION_SETTINGS = (
    "image_size", "encoder", "views", "seed", "max_rotation", "colorlib_version", "paths_digest", "skips"
)  # fmt: skip
#: What a multiscale extraction stores besides the bottleneck and ab: the U-Net's skips and L.
EXTRA_ARRAYS = (*unet_arch.SKIPS, unet_arch.L_INPUT)


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
    #: Whether the entries hold the skip features and L (a multiscale encoder, decoder ``unet``).
    skips: bool = False

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def paths(self) -> list[str]:
        """The distinct source images, in order."""
        return list(dict.fromkeys(entry["path"] for entry in self.entries))

    def digest(self) -> str:
        """SHA-256 of the entries' cache keys in order: changes when any photo's features change."""
        return hashlib.sha256("\n".join(entry["key"] for entry in self.entries).encode()).hexdigest()

    def save(self, path: Path | str) -> Path:
        return write_json(path, {"format": FORMAT, **asdict(self)})

    @classmethod
    def load(cls, path: Path | str) -> FeatureIndex:
        values = read_json(path)
        values.pop("format", None)
        values["skipped"] = [tuple(item) for item in values.get("skipped", [])]
        values["part"] = tuple(values["part"]) if values.get("part") else None
        return cls(**values)


def merge_indexes(indexes: Sequence[FeatureIndex], cache_dir: Path | str | None = None) -> FeatureIndex:
    """Join the parts ``i/n`` of one extraction into the index a single extraction gives.

    All n parts must be present, made with the same settings and encoder. ``cache_dir``
    replaces their store (after :func:`colorlib.data.featurestore.merge_stores` copied separate stores
    into one).
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


def join_indexes(first: FeatureIndex, second: FeatureIndex) -> FeatureIndex:
    """One index listing the entries of ``first`` then ``second``: two splits of one run read as one.

    They may differ in views; they must share the store, image size, encoder and skips.
    """
    shared = ("cache_dir", "image_size", "encoder", "skips")
    differing = [name for name in shared if getattr(first, name) != getattr(second, name)]
    if differing:
        raise ValueError(
            f"The indexes differ in {', '.join(differing)}, so their entries cannot be read as one "
            "dataset; extract both splits with the same encoder into the same cache."
        )
    return dataclasses.replace(
        first,
        entries=[*first.entries, *second.entries],
        skipped=[*first.skipped, *second.skipped],
        stats={name: first.stats.get(name, 0) + second.stats.get(name, 0) for name in first.stats},
    )


def index_path(features_dir: Path | str, split: str, part: tuple[int, int] | None = None) -> Path:
    """``<features_dir>/<split>.json``, or ``<split>.part-i-of-n.json`` for a worker's part."""
    suffix = f".part-{part[0]}-of-{part[1]}" if part else ""
    return Path(features_dir) / f"{split}{suffix}.json"


def same_extraction(first: FeatureIndex, second: FeatureIndex) -> bool:
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
