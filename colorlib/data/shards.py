"""Photos packed into record shards, read back in any order: the input of streamed training.

``colorlib shard PHOTOS --out SHARDS/`` packs a run's split (notebook 01's) into a folder that
holds, for each split, ArrayRecord files of at most :data:`PHOTOS_PER_SHARD` photos each
(``train-00000-of-00012.array_record``, ...), and :data:`SHARDS_FILE`, which lists them with their
photo counts and SHA-256 and says how the split was drawn. ArrayRecord (google/array_record) gives
random access to every record, so Grain (google/grain) can draw a global shuffle per epoch and
decode in worker processes (:mod:`colorlib.data.streaming`); memory does not grow with the number of
photos, and a folder of shards can be copied to any machine or mounted from a network folder.

Each record is one photo: a JSON header (``{"name": ..., "split": ...}``, UTF-8), a newline, then
the photo's file bytes: as they are for a JPEG or PNG, re-encoded as PNG for any other format
(:func:`encode_record`, :func:`decode_record`). Packing is resumable: each finished shard is
recorded beside it as it is written, and packing again skips the shards whose files are still whole.
A photo that cannot be read is reported and left out; it never stops the packing.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from colorlib.color.lab import split_lab
from colorlib.core.config import PHOTOS_PER_SHARD
from colorlib.core.io import atomic_write, file_hash, read_json, write_json
from colorlib.data import augment
from colorlib.data.images import ImageLoadError, decode_image, open_image, resize_rgb

#: The index of a shard folder, written when packing ends.
SHARDS_FILE = "shards.json"
#: Beside each shard while packing runs: what it holds, so that packing again can skip it.
RECORD_SUFFIX = ".json"
#: File formats whose bytes are stored as they are; any other is re-encoded as PNG.
STORED_SUFFIXES = (".jpg", ".jpeg", ".png")
#: Between a record's JSON header and its photo bytes.
HEADER_END = b"\n"
#: ArrayRecord's writer options: one record per chunk, for reads of single photos.
WRITER_OPTIONS = "group_size:1"
#: What the shard files are called.
SHARD_PATTERN = "{split}-{index:05d}-of-{count:05d}.array_record"


def encode_record(name: str, split: str, data: bytes) -> bytes:
    """One photo's record: its header (name and split) and its file bytes."""
    header = json.dumps({"name": name, "split": split}, ensure_ascii=False).encode()
    return header + HEADER_END + data


def decode_record(record: bytes) -> tuple[dict[str, Any], bytes]:
    """A record -> ``(header, photo file bytes)``; ValueError for bytes that are not one."""
    header, separator, data = bytes(record).partition(HEADER_END)
    try:
        parsed = json.loads(header) if separator else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or "name" not in parsed:
        raise ValueError("This record is not a photo of a colorlib shard (no header); pack the photos again.")
    return parsed, data


def photo_bytes(path: Path) -> bytes:
    """A photo file's bytes to store: as they are for JPEG and PNG, else re-encoded as PNG.

    Raises :class:`colorlib.data.images.ImageLoadError` for a file that is not a readable photo.
    """
    path = Path(path)
    image = open_image(path)  # checks it: a truncated or unreadable file is refused here
    if path.suffix.lower() in STORED_SUFFIXES:
        image.close()
        return path.read_bytes()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    image.close()
    return buffer.getvalue()


@dataclass
class ShardSet:
    """A folder of shards: ``splits`` maps a split to its shard files (relative names) and their
    photo counts; ``settings`` says how the photos were split; ``digests`` holds each file's SHA-256."""

    root: Path
    splits: dict[str, list[dict[str, Any]]]
    settings: dict[str, Any] = field(default_factory=dict)

    def files(self, split: str) -> list[Path]:
        """The shard files of ``split``, in order."""
        if split not in self.splits:
            raise ValueError(
                f"The shards in {self.root} hold no {split!r} split (they hold {', '.join(self.splits)})."
            )
        return [self.root / shard["file"] for shard in self.splits[split]]

    def photos(self, split: str) -> int:
        """How many photos ``split`` holds."""
        return sum(int(shard["photos"]) for shard in self.splits.get(split, []))

    def source(self, split: str):
        """Grain's random-access source of ``split``'s records (each a record of :func:`encode_record`)."""
        import grain

        return grain.sources.ArrayRecordDataSource([str(path) for path in self.files(split)])

    def digest(self) -> dict[str, list[str]]:
        """What the shards hold, by content: each split's files' SHA-256 (a step key's input)."""
        return {split: [shard["sha256"] for shard in shards] for split, shards in self.splits.items()}


def open_shards(folder: Path | str) -> ShardSet:
    """The shards packed into ``folder``; FileNotFoundError or ValueError saying what to do."""
    folder = Path(folder).expanduser()
    index = folder / SHARDS_FILE
    if not index.is_file():
        unfinished = any(folder.glob(f"*.array_record{RECORD_SUFFIX}"))
        raise FileNotFoundError(
            f"No shards in {folder}: {SHARDS_FILE} is missing; "
            + (
                "packing did not finish: run `colorlib shard` again to finish it."
                if unfinished
                else "pack photos with `colorlib shard`."
            )
        )
    content = read_json(index)
    shards = ShardSet(folder, content["splits"], content.get("settings", {}))
    for split in shards.splits:
        for path, shard in zip(shards.files(split), shards.splits[split], strict=True):
            if not path.is_file() or path.stat().st_size != shard["bytes"]:
                raise ValueError(
                    f"The shard {path} is missing or not the size {SHARDS_FILE} gives "
                    f"({shard['bytes']:,} bytes); copy it again, or pack the photos again (colorlib shard)."
                )
    return shards


def _write_shard(path: Path, records: Sequence[bytes]) -> None:
    from array_record.python import array_record_module

    with atomic_write(path, suffix=".array_record") as temporary:
        writer = array_record_module.ArrayRecordWriter(str(temporary), WRITER_OPTIONS)
        for record in records:
            writer.write(record)
        writer.close()


def pack(
    split: Mapping[str, Sequence[Path | str]],
    out_dir: Path | str,
    name_of: Callable[[Path], str] = lambda path: Path(path).name,
    photos_per_shard: int = PHOTOS_PER_SHARD,
    settings: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> tuple[ShardSet, list[tuple[Path, str]]]:
    """Pack the photos of each split (``{"train": [paths], ...}``) into shards in ``out_dir``.

    Shard ``k`` of a split holds its photos ``k·photos_per_shard`` to ``(k+1)·photos_per_shard − 1``,
    in the order given, so packing again writes the same shards and skips those already whole whose
    photos have not changed (names, sizes, modification times).
    ``name_of`` gives a photo's name in its record (its path below the dataset folder).
    Returns the shards and ``(path, reason)`` for each photo left out because it could not be read.
    """
    if photos_per_shard < 1:
        raise ValueError(f"photos_per_shard must be at least 1, got {photos_per_shard}.")
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file; give a folder for the shards.")
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = {}  # a finished packing's shards: packed again, the whole ones are kept
    if (out_dir / SHARDS_FILE).is_file():
        listed = read_json(out_dir / SHARDS_FILE).get("splits", {})
        earlier = {shard["file"]: shard for shards in listed.values() for shard in shards}
    index: dict[str, list[dict[str, Any]]] = {}
    skipped: list[tuple[Path, str]] = []
    total = sum(len(paths) for paths in split.values())
    with tqdm(total=total, desc="Packing photos", unit="photo", disable=not progress) as bar:
        for split_name, paths in split.items():
            count = -(-len(paths) // photos_per_shard)
            index[split_name] = []
            for number in range(count):
                chosen = [Path(p) for p in paths[number * photos_per_shard : (number + 1) * photos_per_shard]]
                file_name = SHARD_PATTERN.format(split=split_name, index=number, count=count)
                target, sidecar = out_dir / file_name, out_dir / (file_name + RECORD_SUFFIX)
                names = [name_of(path) for path in chosen]
                names_digest = _stamps_digest(chosen, names)
                record = read_json(sidecar) if sidecar.is_file() else earlier.get(file_name)
                if (
                    record
                    and record.get("names_sha256") == names_digest
                    and target.is_file()
                    and target.stat().st_size == record["bytes"]
                ):  # written whole before: skip it
                    bar.update(len(chosen))
                else:
                    record = _pack_shard(split_name, chosen, names, target, bar)
                    record["names_sha256"] = names_digest
                    write_json(sidecar, record)
                index[split_name].append(record)
                skipped += [(Path(path), reason) for path, reason in record["skipped"]]
    keys = ("file", "photos", "bytes", "sha256", "names_sha256", "skipped")
    listed = {name: [{key: shard[key] for key in keys} for shard in shards] for name, shards in index.items()}
    write_json(out_dir / SHARDS_FILE, {"splits": listed, "settings": dict(settings or {})})
    for sidecar in out_dir.glob(f"*.array_record{RECORD_SUFFIX}"):
        sidecar.unlink()
    return ShardSet(out_dir, listed, dict(settings or {})), skipped


def _stamps_digest(paths: Sequence[Path], names: Sequence[str]) -> str:
    """What a shard's photos are, cheaply: their names, sizes and modification times (a photo edited
    since packing gets its shard packed again)."""
    stamps = []
    for path, name in zip(paths, names, strict=True):
        try:
            stat = path.stat()
            stamps.append([name, stat.st_size, stat.st_mtime_ns])
        except OSError:
            stamps.append([name, -1, 0])
    return hashlib.sha256(json.dumps(stamps).encode()).hexdigest()


def _pack_shard(split: str, paths: Sequence[Path], names: Sequence[str], target: Path, bar) -> dict[str, Any]:
    """Write one shard of these photos; its record: file, photos, bytes, SHA-256, the photos left out."""
    records, left_out = [], []
    for path, name in zip(paths, names, strict=True):
        try:
            records.append(encode_record(name, split, photo_bytes(path)))
        except (ImageLoadError, OSError) as error:
            reason = getattr(error, "reason", str(error))
            tqdm.write(f"left out {path}: {reason}")
            left_out.append((str(path), reason))
        bar.update(1)
    _write_shard(target, records)
    return {
        "file": target.name,
        "photos": len(records),
        "bytes": target.stat().st_size,
        "sha256": file_hash(target),
        "skipped": left_out,
    }


class PhotoReader:
    """Reads and decodes photos of shard files by position: what each Grain worker runs.

    Picklable (it opens the shard files in the process that reads), and light to import: no Keras.
    ``__call__((position, epoch))`` -> ``(l (S, S, 1), ab (S, S, 2))`` float32.
    """

    def __init__(self, files: Sequence[str], image_size: int, seed: int, max_rotation: float | None) -> None:
        self.files, self.image_size, self.seed = list(files), image_size, seed
        self.max_rotation = max_rotation  # None: no augmentation
        self._source = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_source": None}

    def record(self, position: int) -> bytes:
        if self._source is None:
            import grain

            self._source = grain.sources.ArrayRecordDataSource(self.files)
        return self._source[int(position)]

    def __call__(self, item: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        position, epoch = int(item[0]), int(item[1])
        header, data = decode_record(self.record(position))
        with decode_image(data, header["name"]) as image:
            rgb = resize_rgb(image, self.image_size)
        if self.max_rotation is not None:
            rng = np.random.default_rng([self.seed, epoch, position])
            rgb = augment.apply(rgb, augment.sample_params(rng, self.max_rotation))
        l_norm, ab = split_lab(rgb)
        return l_norm.astype(np.float32), ab.astype(np.float32)


def stack_photos(items: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([item[0] for item in items]), np.stack([item[1] for item in items])


class BatchReader:
    """A batch of photos of shard files by position:
    ``((positions, epoch)) -> (l (B, S, S, 1), ab (B, S, S, 2))``, float32."""

    def __init__(self, reader: PhotoReader) -> None:
        self.reader = reader

    def __call__(self, item: tuple[np.ndarray, int]) -> tuple[np.ndarray, np.ndarray]:
        positions, epoch = item
        return stack_photos([self.reader((position, epoch)) for position in positions])


__all__ = [
    "PHOTOS_PER_SHARD",
    "SHARDS_FILE",
    "BatchReader",
    "PhotoReader",
    "ShardSet",
    "decode_record",
    "encode_record",
    "open_shards",
    "pack",
    "photo_bytes",
    "stack_photos",
]
