"""Which photos a colorize run reads, and where each output goes.

Inputs: files given by name are always tried; folders are searched, sub-folders
included unless ``recursive=False``, for files in any format Pillow reads (JPEG, PNG,
TIFF, WebP, BMP, GIF, ...; an animated GIF gives its first frame). Hidden files and
folders (name starting with '.') are left out. Nothing is skipped in silence: the
summary line counts the files that are not images, the hidden ones, and the
sub-folders not searched, and each photo that fails has its own stderr line.

Outputs keep the layout of the input folder (``in/1950s/a.jpg`` -> ``out/1950s/a.jpg``;
a file given by name goes to ``out/NAME``) and are written atomically. JPEG, PNG, TIFF,
WebP and BMP photos (:data:`colorlib.core.config.IMAGE_EXTENSIONS`) are written in their own
format under their own name (JPEG and WebP at quality 95); every other format is written
as PNG with the same stem (``a.gif`` -> ``a.png``; GIF holds only 256 colours). Metadata
(EXIF, ICC profile) is not copied; the pixels are written upright. Two inputs that
would need the same output file (the same name in two folders given separately, or
``a.gif`` beside ``a.png``): the first one is colorized and the later ones are reported
as failed, never silently overwritten. No output is ever written into a folder that is
searched for inputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colorlib.core.config import FALLBACK_EXTENSION, IMAGE_EXTENSIONS
from colorlib.data.images import FolderScan, scan_folder

#: A summary line names this many of the files it counts, then says "and N more".
SUMMARY_NAMES = 5


def _named(count: int, one: str, many: str, paths: Sequence[Path]) -> str:
    """``"2 files were not images: a.txt, b.csv"``: the count, then at most :data:`SUMMARY_NAMES` names."""
    names = [path.name for path in paths[:SUMMARY_NAMES]]
    if count > SUMMARY_NAMES:
        names.append(f"and {count - SUMMARY_NAMES} more")
    return f"{count} {one if count == 1 else many}: {', '.join(names)}"


@dataclass
class LeftOut:
    """What a search of the input folders left out, on purpose: no photo is skipped in silence."""

    not_images: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)
    not_searched: list[Path] = field(default_factory=list)

    def add(self, found: FolderScan) -> None:
        """Add what one folder search left out."""
        self.not_images += found.not_images
        self.hidden += found.hidden
        self.not_searched += found.not_searched

    def phrases(self) -> list[str]:
        """One phrase per kind of file left out, e.g. ``2 files were not images: notes.txt, data.csv``."""
        kinds = (
            (self.not_images, "file was not an image", "files were not images"),
            (self.hidden, "hidden file or folder skipped", "hidden files or folders skipped"),
            (
                self.not_searched,
                "sub-folder not searched (--no-recursive)",
                "sub-folders not searched (--no-recursive)",
            ),
        )
        return [_named(len(paths), one, many, paths) for paths, one, many in kinds if paths]


@dataclass
class InputScan:
    """The inputs of a colorize run, from :func:`scan_inputs`.

    ``photos``: ``(file, relative)`` for each file to colorize; ``relative`` is its path
    below the input folder it was found in (its name, for a file given by name), which
    the output keeps. ``roots``: ``(folder, recursive)`` for each folder searched and the
    folder of each file given by name; no output is written into them. ``errors``:
    ``(folder, reason)`` for each folder that could not be listed.
    """

    photos: list[tuple[Path, Path]] = field(default_factory=list)
    roots: list[tuple[Path, bool]] = field(default_factory=list)
    left_out: LeftOut = field(default_factory=LeftOut)
    errors: list[tuple[Path, str]] = field(default_factory=list)


def scan_inputs(inputs: Sequence[str | Path] | str | Path, recursive: bool = True) -> InputScan:
    """Files as given, folders searched for their photos (sub-folders too when ``recursive``).

    Photos are sorted within each folder; the same file is taken once. Raises
    FileNotFoundError naming an input that does not exist, and ValueError, with what was
    left out, when there is nothing to colorize.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    scan = InputScan()
    seen: set[Path] = set()
    for item in inputs:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"No file or folder at {path}; check the path.")
        if path.is_dir():
            found = scan_folder(path, recursive=recursive)
            scan.roots.append((path, recursive))
            scan.left_out.add(found)
            scan.errors += found.errors
            files = [(file, file.relative_to(path)) for file in found.images]
        else:
            scan.roots.append((path.parent, False))
            files = [(path, Path(path.name))]
        for file, relative in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                scan.photos.append((file, relative))
    if not scan.photos:
        left_out = [*scan.left_out.phrases(), *(f"{folder} {reason}" for folder, reason in scan.errors)]
        details = f" ({'; '.join(left_out)})" if left_out else ""
        raise ValueError(
            f"No photos in {', '.join(map(str, inputs))}{details}; give image files, or "
            "folders that hold some, in a format Pillow reads (JPEG, PNG, TIFF, WebP, BMP, GIF, ...)."
        )
    return scan


def collect_inputs(inputs: Sequence[str | Path] | str | Path, recursive: bool = False) -> list[Path]:
    """The photos of :func:`scan_inputs` (files as given, folders expanded), without their layout."""
    return [path for path, _ in scan_inputs(inputs, recursive).photos]


def output_name(relative: Path | str) -> Path:
    """Where a photo goes below the output folder, from its path ``relative`` below the input folder.

    A JPEG, PNG, TIFF, WebP or BMP photo keeps its path; any other gets the extension
    ``.png`` (``1950s/a.gif`` -> ``1950s/a.png``).
    """
    relative = Path(relative)
    if relative.suffix.lower() in IMAGE_EXTENSIONS:
        return relative
    return relative.with_suffix(FALLBACK_EXTENSION)


def _input_folder_holding(folder: Path, roots: Sequence[tuple[Path, bool]]) -> Path | None:
    """The input folder of ``roots`` that is ``folder`` or, searched recursively, holds it; else None."""
    folder = folder.resolve()
    for root, recursive in roots:
        resolved = root.resolve()
        if folder == resolved or (recursive and folder.is_relative_to(resolved)):
            return root
    return None


def plan_outputs(scan: InputScan, out_dir: Path | str) -> list[tuple[Path, Path | None, str | None]]:
    """``(input, output, None)`` for each photo of ``scan``, or ``(input, None, reason)`` when it is skipped.

    Raises ValueError when ``out_dir`` is a file, or when an output would go into a folder
    searched for inputs or replace an input.
    """
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"The output path {out_dir} is a file; give a folder.")
    inputs = {}
    for path, _ in scan.photos:
        with contextlib.suppress(OSError):
            stat = path.stat()
            inputs[(stat.st_dev, stat.st_ino)] = path
    holders: dict[Path, Path | None] = {}
    plan: list[tuple[Path, Path | None, str | None]] = []
    owners: dict[Path, Path] = {}
    for path, relative in scan.photos:
        target = out_dir / output_name(relative)
        if target in owners:
            reason = (
                f"{owners[target]} has the same output file name, {target}; rename one of them or "
                "colorize them into separate output folders"
            )
            plan.append((path, None, reason))
            continue
        owners[target] = path
        if target.parent not in holders:
            holders[target.parent] = _input_folder_holding(target.parent, scan.roots)
        holder = holders[target.parent]
        if holder is not None:
            raise ValueError(
                f"Refusing to write {target}: {target.parent} is, or is inside, the input folder "
                f"{holder}. Choose an output folder outside the folders that hold the inputs."
            )
        source = None
        with contextlib.suppress(OSError):
            stat = target.stat()
            source = inputs.get((stat.st_dev, stat.st_ino))
        if source is not None:
            raise ValueError(
                f"Refusing to write {target}: it is the input photo {source}. Choose an output "
                "folder that holds none of the input photos."
            )
        plan.append((path, target, None))
    return plan
