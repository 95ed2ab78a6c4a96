"""The feature store: content-addressed float16 shards of encoder features, shared by runs.

An entry (one augmentation view of one image, see :mod:`colorlib.data.features`) is stored
under its key, :func:`entry_key`: the SHA-256 of (image content hash, image size,
augmentation, encoder weights fingerprint, colorlib version). A changed image, size,
augmentation or encoder makes new keys, so nothing stale is ever read back.

**The store** (default ``data/cache/features/``) is content-addressed and shared by runs::

    shards/<id>.features.npy   float16 (N, S/32, S/32, 512)   encoder features
    shards/<id>.ab.npy         float16 (N, S, S, 2)            ab targets in [-1, 1]
    shards/<id>.<name>.npy     float16, only when the extraction was multiscale (decoder
                               ``unet``): the skip features ``stride16``, ``stride8``,
                               ``stride4`` (N, S/k, S/k, C) and the L channel ``l`` (N, S, S, 1)
    shards/<id>.json           the shard's manifest: per entry its key, image SHA-256, image
                               size, augmentation, encoder fingerprint, colorlib version and
                               source path; per file its SHA-256, shape and dtype

An entry with skip features has its own key (``skips`` is part of it), so a U-Net
never reads an entry without them, and the seed decoder's entries and keys are as before.
Bytes per view at 256×256 (float16): the seed decoder's entries hold the bottleneck and
ab, 65,536 + 262,144 = 327,680 B with VGG16 and 163,840 + 262,144 = 425,984 B with Lite0.
A U-Net's entries add L (131,072 B) and the skips: with Lite0 stride16 57,344 + stride8
81,920 + stride4 196,608, so 892,928 B (0.89 MB) per view; with VGG16 262,144 + 524,288 +
1,048,576, so 2,293,760 B (2.3 MB) per view (VGG16's early layers are wide).

Every file is written atomically and the manifest last, so it commits the shard. A
shard whose files fail their checksum (damaged, truncated) is reported in one line and
extracted again; it is never read silently. Workers never write the same file, so
several may extract into one store at once; workers with separate stores copy theirs
into one with :func:`merge_stores`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from colorlib import __version__
from colorlib.core.config import project_root
from colorlib.core.io import atomic_write, read_json, remembered_file_hash, write_json
from colorlib.data import augment

#: Entries per shard file (at 256×256 a row is 64 KiB of features plus 256 KiB of ab).
SHARD_ROWS = 128
#: The two arrays every shard has; others (skip features, L) are extras named in its manifest.
BASE_FILES = ("features", "ab")
#: Version of the shard manifest and index formats.
FORMAT = 1


def default_cache_dir(data_dir: Path | str = "data") -> Path:
    """The shared store ``<data_dir>/cache/features`` (``data_dir`` relative to the project)."""
    data_dir = Path(data_dir).expanduser()
    return (data_dir if data_dir.is_absolute() else project_root() / data_dir) / "cache" / "features"


def entry_key(
    image_sha256: str, image_size: int, params: augment.AugmentParams, encoder_id: str, skips: bool = False
) -> str:
    """The content address of one entry (see the module docstring); ``skips``: with skip features."""
    identity = {
        "image_sha256": image_sha256,
        "image_size": int(image_size),
        "augment": params.as_dict(),
        "encoder": encoder_id,
        "colorlib_version": __version__,
    }
    if skips:
        identity["skips"] = True  # absent otherwise, so the seed decoder's keys stay as they were
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class FeatureStore:
    """The content-addressed shard store in ``root`` (see the module docstring)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.shards_dir = self.root / "shards"

    def files(self, shard_id: str) -> tuple[Path, Path, Path]:
        """``(features .npy, ab .npy, manifest .json)`` of a shard."""
        base = self.shards_dir / shard_id
        return Path(f"{base}.features.npy"), Path(f"{base}.ab.npy"), Path(f"{base}.json")

    def extra_files(self, shard_id: str) -> dict[str, Path]:
        """``{name: .npy path}`` of a shard's skip-feature and L files (none for a seed shard)."""
        try:
            described = self.shard_manifest(shard_id)["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        return {
            name: self.shards_dir / f"{shard_id}.{name}.npy" for name in described if name not in BASE_FILES
        }

    def all_files(self, shard_id: str) -> list[Path]:
        """Every file of a shard: its extra arrays, then features, ab and the manifest (last)."""
        return [*self.extra_files(shard_id).values(), *self.files(shard_id)]

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
        paths = dict(zip(BASE_FILES, self.files(shard_id)[:2], strict=True)) | self.extra_files(shard_id)
        for name, path in paths.items():
            if name not in described:
                return f"its manifest does not describe the {name} file"
            if not path.is_file():
                return f"the {name} file is missing"
            if remembered_file_hash(path) != described[name]["sha256"]:
                return f"the {name} file fails its SHA-256 checksum (damaged or truncated)"
        return None

    def remove(self, shard_id: str) -> None:
        for path in self.all_files(shard_id):
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

    def write(
        self,
        entries: list[dict[str, Any]],
        features: np.ndarray,
        ab: np.ndarray,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> str:
        """Store one shard (float16 arrays, one row per entry); returns its id.

        ``extras``: further arrays by name (the skip features and L of a multiscale
        extraction), saved as ``<id>.<name>.npy`` and listed in the manifest.
        """
        extras = dict(extras or {})
        if not all(len(array) == len(entries) for array in (features, ab, *extras.values())):
            raise ValueError("A shard needs as many feature, ab and extra rows as entries.")
        if set(extras) & {*BASE_FILES, "json"} or not all(name.isidentifier() for name in extras):
            raise ValueError(f"Extra arrays need plain names other than {BASE_FILES}; got {sorted(extras)}.")
        shard_id = hashlib.sha256("".join(e["key"] for e in entries).encode()).hexdigest()[:32]
        features_path, ab_path, manifest_path = self.files(shard_id)
        arrays = [("features", features_path, features), ("ab", ab_path, ab)]
        arrays += [
            (name, self.shards_dir / f"{shard_id}.{name}.npy", array) for name, array in extras.items()
        ]
        described = {}
        for name, path, array in arrays:
            with atomic_write(path) as temporary:
                np.save(temporary, np.ascontiguousarray(array, dtype=np.float16))
            described[name] = {
                "file": path.name,
                "sha256": remembered_file_hash(path),
                "shape": list(array.shape),
                "dtype": "float16",
            }
        write_json(
            manifest_path,
            {"format": FORMAT, "id": shard_id, "rows": len(entries), "files": described, "entries": entries},
        )
        return shard_id


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
            for origin in source.all_files(shard_id):
                with atomic_write(target.shards_dir / origin.name) as temporary:
                    shutil.copyfile(origin, temporary)
            copied += 1
    return copied
