"""Finding datasets and loading images robustly.

Conversion rule for every file the loader accepts (applied in this order):

1. The EXIF orientation tag is applied, so the photo is upright as a viewer shows it.
2. 16-bit and 32-bit single-channel images are scaled to 8 bits by dividing by 257
   (65535 -> 255); float images are taken as 0-255 and clipped. 16-bit colour images
   keep their high byte (Pillow's decoder), which can be one level below value / 257.
3. Images with transparency (RGBA, LA, palette with a transparent colour) are
   composited over white.
4. Palette, grayscale and CMYK images are converted to RGB by Pillow's standard
   conversion. The result is always 8-bit RGB, ``uint8 (H, W, 3)``.

A file that cannot be read (zero bytes, truncated, corrupt, not an image) raises
:class:`ImageLoadError`, a ``ValueError`` whose message names the file and the reason.
Nothing here ever writes to or deletes a user's file.

In a folder, a file is taken as an image when its extension is one of a format Pillow
reads (:func:`image_extensions`: JPEG, PNG, TIFF, WebP, BMP, GIF, and the others);
:func:`scan_folder` also returns what it left out: other files, hidden files and
folders (name starting with '.'), and sub-folders when it does not recurse.
"""

from __future__ import annotations

import functools
import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from colorlib.core.config import (
    COLOR_CLASS_DIR,
    GRAY_CLASS_DIR,
    IMAGE_SIZE,
    PIXEL_MAX,
    SEED,
    TEST_FRACTION,
    VALIDATION_FRACTION,
)

#: An image whose mean CIE chroma sqrt(a² + b²) is below this is treated as grayscale.
GRAY_CHROMA_THRESHOLD = 2.0
#: Side of the thumbnail the grayscale test looks at, in pixels.
GRAY_TEST_SIZE = 64
#: 16-bit values are divided by this to give 8-bit values (65535 -> 255).
SIXTEEN_TO_EIGHT_BIT = 257.0
#: Photos with more pixels than this are refused as likely decompression bombs.
MAX_IMAGE_PIXELS = 200_000_000

#: Formats whose extensions Pillow knows but whose files it cannot decode here: stubs that need an
#: outside handler (BUFR, GRIB, HDF5, WMF/EMF), MPEG (identified only) and the write-only PDF and Palm.
UNREADABLE_FORMATS = frozenset({"BUFR", "GRIB", "HDF5", "WMF", "MPEG", "PDF", "PALM"})
#: Files and folders whose name starts with this are hidden, and never searched.
HIDDEN_PREFIX = "."

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageLoadError(ValueError):
    """A file could not be read as an image; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class Dataset:
    """The image files of a dataset folder.

    ``color_files`` are candidates for training (``class 0/``, or every image of a
    flat folder); ``gray_files`` are the real black-and-white photos of ``class 1/``,
    which have no colour ground truth and are only colorized.
    """

    root: Path
    layout: str
    color_files: list[Path] = field(default_factory=list)
    gray_files: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        """One line with the folder, its layout and the counts."""
        return (
            f"{self.root} ({self.layout} layout): {len(self.color_files)} colour photos, "
            f"{len(self.gray_files)} grayscale photos"
        )


@dataclass
class FolderScan:
    """What :func:`scan_folder` found in a folder; every list is sorted by path.

    ``images`` are the files with an image extension; ``not_images`` the other files;
    ``hidden`` the hidden files and folders left out; ``not_searched`` the sub-folders
    left out because the search was not recursive; ``folders`` the folders searched;
    ``errors`` a ``(folder, reason)`` for each folder that could not be listed.
    """

    folder: Path
    images: list[Path] = field(default_factory=list)
    not_images: list[Path] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)
    not_searched: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


@functools.cache
def image_extensions() -> frozenset[str]:
    """Extensions (lower case, with the dot) of every format Pillow can read, GIF and TIFF included."""
    return frozenset(
        extension
        for extension, image_format in Image.registered_extensions().items()
        if image_format not in UNREADABLE_FORMATS
    )


def scan_folder(folder: Path | str, recursive: bool = False) -> FolderScan:
    """Sort the files of ``folder`` (and of its sub-folders when ``recursive``) into images and the rest.

    Hidden files and folders are left out (and listed); links to folders are followed, each
    folder searched once. Raises FileNotFoundError when ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder at {folder}; check the path.")
    scan = FolderScan(folder)
    extensions = image_extensions()
    searched: set[tuple[int, int]] = set()

    def unreadable(error: OSError) -> None:
        scan.errors.append((Path(error.filename), f"could not be listed ({error.strerror or error})"))

    for top, folder_names, file_names in os.walk(folder, onerror=unreadable, followlinks=True):
        here = Path(top)
        stat = here.stat()
        if (stat.st_dev, stat.st_ino) in searched:  # a link back to a folder already searched
            folder_names.clear()
            continue
        searched.add((stat.st_dev, stat.st_ino))
        scan.folders.append(here)
        visible = [name for name in folder_names if not name.startswith(HIDDEN_PREFIX)]
        scan.hidden += [here / name for name in folder_names if name.startswith(HIDDEN_PREFIX)]
        if not recursive:
            scan.not_searched += [here / name for name in visible]
        folder_names[:] = sorted(visible) if recursive else []
        for name in file_names:
            path = here / name
            if name.startswith(HIDDEN_PREFIX):
                scan.hidden.append(path)
            elif path.suffix.lower() in extensions:
                scan.images.append(path)
            else:
                scan.not_images.append(path)
    for found in (scan.images, scan.not_images, scan.hidden, scan.not_searched):
        found.sort()
    return scan


def list_images(folder: Path | str, recursive: bool = False) -> list[Path]:
    """The image files in ``folder`` (any format Pillow reads, by extension), sorted by path.

    Hidden files and folders are left out.
    """
    return scan_folder(folder, recursive).images


def find_dataset(root: Path | str) -> Dataset:
    """Find the photos under ``root``.

    Two layouts are understood: the original project's ``root/class 0`` (colour) plus
    ``root/class 1`` (grayscale, optional), or a flat folder of images (sub-folders
    included), all taken as colour candidates.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"No dataset at {root}. Give a folder with '{COLOR_CLASS_DIR}/' and "
            f"'{GRAY_CLASS_DIR}/' sub-folders or a flat folder of images, "
            "or run `colorlib demo-data` to build the demo dataset."
        )
    if not root.is_dir():
        raise ValueError(f"The dataset path {root} is a file; give the folder that holds the images.")
    color_dir, gray_dir = root / COLOR_CLASS_DIR, root / GRAY_CLASS_DIR
    if color_dir.is_dir():
        dataset = Dataset(root=root, layout="class folders", color_files=list_images(color_dir))
        if gray_dir.is_dir():
            dataset.gray_files = list_images(gray_dir)
    else:
        dataset = Dataset(root=root, layout="flat", color_files=list_images(root, recursive=True))
    if not dataset.color_files and not dataset.gray_files:
        raise ValueError(f"No images (in a format Pillow reads) were found in {root}; check the folder.")
    return dataset


def _to_8bit(image: Image.Image) -> Image.Image:
    """High bit-depth integer or float single-channel images -> mode 'L'."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64) / SIXTEEN_TO_EIGHT_BIT
        return Image.fromarray(np.clip(np.rint(values), 0, PIXEL_MAX).astype(np.uint8), mode="L")
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(values), 0, PIXEL_MAX).astype(np.uint8), mode="L")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow image -> 8-bit RGB by the rule in the module docstring."""
    image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image if image.mode == "RGB" else image.convert("RGB")


def _open_with_opencv(path: Path) -> np.ndarray | None:
    """Fallback for files Pillow cannot decode (16-bit colour TIFF, for one): uint8 RGB or None."""
    import cv2

    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        return None
    if pixels.dtype == np.uint16:
        pixels = np.clip(np.rint(pixels / SIXTEEN_TO_EIGHT_BIT), 0, PIXEL_MAX).astype(np.uint8)
    elif pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(pixels.astype(np.float64)), 0, PIXEL_MAX).astype(np.uint8)
    if pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=-1)
    if pixels.shape[-1] == 4:
        alpha = pixels[..., 3:].astype(np.float32) / PIXEL_MAX
        bgr = pixels[..., :3].astype(np.float32) * alpha + PIXEL_MAX * (1.0 - alpha)
        pixels = np.clip(np.rint(bgr), 0, PIXEL_MAX).astype(np.uint8)
    return np.ascontiguousarray(pixels[..., 2::-1])


def open_image(path: Path | str, draft_size: int | None = None) -> Image.Image:
    """Open an image file as an upright 8-bit RGB Pillow image.

    ``draft_size`` lets the JPEG decoder scale down by a power of two while decoding,
    never below that size; it makes loading large photos for 256×256 much faster.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(path, "no such file")
    if path.stat().st_size == 0:
        raise ImageLoadError(path, "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if draft_size is not None and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                return _to_rgb(image)
    except Image.UnidentifiedImageError:
        raise ImageLoadError(path, "not an image file, or a format Pillow cannot read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageLoadError(path, f"too many pixels ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        # A truncated file stays an error: OpenCV would decode the part that is there and
        # fill the rest with gray, without a word.
        fallback = None if "truncated" in str(error) else _open_with_opencv(path)
        if fallback is None:
            raise ImageLoadError(path, f"corrupt or truncated image ({error})") from None
        return Image.fromarray(fallback, mode="RGB")


def decode_image(data: bytes, name: str, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Image file bytes (an upload) -> an upright 8-bit RGB Pillow image, by the module's rule.

    ``name`` is what error messages call the file. The pixel count is read from the header and
    checked against ``max_pixels`` before anything is decoded, so a decompression bomb (a small
    file that claims a huge image) never expands. Raises :class:`ImageLoadError` for empty data,
    data Pillow cannot identify, too many pixels, and corrupt or truncated data.
    """
    if not data:
        raise ImageLoadError(name, "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageLoadError(
                        name,
                        f"too many pixels ({width} × {height} = {width * height:,}; at most {max_pixels:,})",
                    )
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                return _to_rgb(image)
    except ImageLoadError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageLoadError(name, "not an image file, or a format Pillow cannot read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses before it gives the size; its message names the pixels and its own limit.
        claimed = re.search(r"\((\d+) pixels\)", str(error))
        pixels = f"{int(claimed[1]):,}" if claimed else "more than Pillow opens"
        raise ImageLoadError(name, f"too many pixels ({pixels}; at most {max_pixels:,})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(name, f"corrupt or truncated image ({error})") from None


def load_rgb(path: Path | str) -> np.ndarray:
    """Read an image file at full resolution: ``uint8 (H, W, 3)`` RGB."""
    return np.asarray(open_image(path), dtype=np.uint8)


def resize_rgb(image: Image.Image | np.ndarray, size: int | tuple[int, int] = IMAGE_SIZE) -> np.ndarray:
    """Resize to ``size × size`` (aspect not kept, as in the original project), or to ``(height,
    width)`` when ``size`` is a pair: ``float32 (height, width, 3)`` in [0, 1]."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    height, width = (size, size) if isinstance(size, int) else size
    resized = image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(resized, dtype=np.float32) / PIXEL_MAX


def load_resized(path: Path | str, size: int = IMAGE_SIZE) -> np.ndarray:
    """Read an image file and resize it to ``size × size``: ``float32 (size, size, 3)`` in [0, 1]."""
    return resize_rgb(open_image(path, draft_size=size), size)


def is_grayscale(rgb: np.ndarray) -> bool:
    """True when an RGB image (uint8, or float in [0, 1]) carries no real colour.

    The test is the mean CIE chroma of a small thumbnail, below
    :data:`GRAY_CHROMA_THRESHOLD`, so JPEG noise in a gray photo saved as RGB
    does not count as colour.
    """
    from colorlib.color.lab import rgb_to_lab

    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        rgb = rgb.astype(np.float32) / PIXEL_MAX
    thumbnail = resize_rgb((np.clip(rgb, 0, 1) * PIXEL_MAX).astype(np.uint8), GRAY_TEST_SIZE)
    ab = rgb_to_lab(thumbnail)[..., 1:]
    return float(np.mean(np.hypot(ab[..., 0], ab[..., 1]))) < GRAY_CHROMA_THRESHOLD


def split_files(
    files: Sequence[Path | str],
    validation_fraction: float = VALIDATION_FRACTION,
    test_fraction: float = TEST_FRACTION,
    seed: int = SEED,
) -> dict[str, list[str]]:
    """Shuffle ``files`` with ``seed`` and split them into ``train``, ``validation`` and ``test``.

    Each of validation and test gets at least one file when there are three or more.
    The same files and seed always give the same split.
    """
    for name, fraction in (("validation", validation_fraction), ("test", test_fraction)):
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"The {name} fraction must be in [0, 1), got {fraction}.")
    if validation_fraction + test_fraction >= 1.0:
        raise ValueError("The validation and test fractions together must leave some training data.")
    ordered = sorted(str(path) for path in files)
    order = np.random.default_rng(seed).permutation(len(ordered))
    shuffled = [ordered[index] for index in order]
    count = len(shuffled)
    n_val = round(count * validation_fraction)
    n_test = round(count * test_fraction)
    if count >= 3:
        n_val = max(n_val, 1 if validation_fraction > 0 else 0)
        n_test = max(n_test, 1 if test_fraction > 0 else 0)
    return {
        "test": shuffled[:n_test],
        "validation": shuffled[n_test : n_test + n_val],
        "train": shuffled[n_test + n_val :],
    }
