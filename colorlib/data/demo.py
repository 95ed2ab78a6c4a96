"""The demo dataset: photographs that ship inside installed packages, in the original layout.

``class 0/`` holds colour photographs from scikit-image's data folder and scikit-learn's
sample images; ``class 1/`` holds grayscale photographs from scikit-image. Nothing is
downloaded: the files are copied from the installed packages (``skimage.data.data_dir``
and ``sklearn/datasets/images``), so the dataset builds offline and is the same on
every machine with the same package versions. The files keep their names and bytes.

The photos are named in the constants below. Left out on purpose: ``motorcycle_right``
(the stereo twin of ``motorcycle_left``: one scene would land in two splits),
``hubble_deep_field`` (mostly black sky, :func:`colorlib.data.images.is_grayscale` calls it gray),
``color`` (a colour chart), the chessboards, ``logo``, ``horse`` (a binary silhouette),
``phantom`` (synthetic), ``text`` and ``page`` (text), ``microaneurysms`` (a 102-pixel
crop), the multipage TIFFs and the GIF. A named file that some version lacks is skipped
with a message, and so is one whose content does not match its class.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from colorlib.core.config import COLOR_CLASS_DIR, GRAY_CLASS_DIR, project_root
from colorlib.core.io import atomic_write
from colorlib.data.images import ImageLoadError, is_grayscale, load_rgb

#: Where the demo dataset is built, relative to the project root.
DEMO_DIR = "data/demo"
#: Colour photographs in scikit-image's data folder (``skimage.data.data_dir``).
SKIMAGE_COLOR_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "retina.jpg",
    "ihc.png",
)
#: Colour photographs in scikit-learn's sample images (``sklearn/datasets/images``).
SKLEARN_COLOR_PHOTOS = ("china.jpg", "flower.jpg")
#: Grayscale photographs in scikit-image's data folder.
SKIMAGE_GRAY_PHOTOS = (
    "camera.png",
    "moon.png",
    "coins.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "clock_motion.png",
    "cell.png",
)
#: The file in the dataset folder that lists where each photo came from.
SOURCES_FILE = "sources.csv"


@dataclass(frozen=True)
class DemoPhoto:
    """One photo of the demo dataset: its file name, its class folder and where it comes from.

    ``origin`` is the file's path inside the installed package (``skimage/data/camera.png``);
    ``source`` is the installed file, None when the package is missing.
    """

    name: str
    class_dir: str
    package: str
    origin: str
    source: Path | None

    @property
    def wants_gray(self) -> bool:
        return self.class_dir == GRAY_CLASS_DIR


def _package_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _skimage_data_dir() -> Path | None:
    try:
        from skimage import data
    except ImportError:
        return None
    return Path(data.data_dir)


def _sklearn_images_dir() -> Path | None:
    spec = importlib.util.find_spec("sklearn")  # finds the folder without importing sklearn
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "images"


def demo_photos() -> list[DemoPhoto]:
    """The named photos with their installed source files (``source`` None: package missing)."""
    skimage_dir, sklearn_dir = _skimage_data_dir(), _sklearn_images_dir()
    groups = (
        (SKIMAGE_COLOR_PHOTOS, COLOR_CLASS_DIR, "scikit-image", "skimage/data", skimage_dir),
        (SKLEARN_COLOR_PHOTOS, COLOR_CLASS_DIR, "scikit-learn", "sklearn/datasets/images", sklearn_dir),
        (SKIMAGE_GRAY_PHOTOS, GRAY_CLASS_DIR, "scikit-image", "skimage/data", skimage_dir),
    )
    return [
        DemoPhoto(name, class_dir, package, f"{where}/{name}", None if folder is None else folder / name)
        for names, class_dir, package, where, folder in groups
        for name in names
    ]


def _fits_class(photo: DemoPhoto) -> str | None:
    """None when the source photo can be used, else the reason to skip it."""
    if photo.source is None or not photo.source.is_file():
        version = _package_version(photo.package)
        return f"not in {photo.package} {version} ({photo.origin})"
    try:
        gray = is_grayscale(load_rgb(photo.source))
    except ImageLoadError as error:
        return f"unreadable ({error.reason})"
    if gray != photo.wants_gray:
        return f"looks {'grayscale' if gray else 'colour'}, but belongs in '{photo.class_dir}'"
    return None


def _write_sources(path: Path, photos: list[DemoPhoto]) -> None:
    with atomic_write(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "package", "version", "origin"])
        for photo in photos:
            writer.writerow(
                [
                    f"{photo.class_dir}/{photo.name}",
                    photo.package,
                    _package_version(photo.package),
                    photo.origin,
                ]
            )


def build_demo_dataset(root: Path | str | None = None, overwrite: bool = False) -> Path:
    """Build the demo dataset in ``root`` (default ``data/demo``; relative paths are taken
    against the project root) and return its folder.

    Idempotent: photos already in the folder are reused, so a second call writes nothing;
    ``overwrite=True`` copies every photo again. Prints a one-line summary. Raises
    ``FileNotFoundError`` when no colour photo at all can be found in the installed packages.
    """
    root = Path(root if root is not None else DEMO_DIR).expanduser()
    root = root if root.is_absolute() else project_root() / root
    counts = {COLOR_CLASS_DIR: 0, GRAY_CLASS_DIR: 0}
    written = reused = 0
    used: list[DemoPhoto] = []
    for photo in demo_photos():
        target = root / photo.class_dir / photo.name
        if target.is_file() and not overwrite:
            reused += 1
        else:
            reason = _fits_class(photo)
            if reason is not None:
                print(f"Demo dataset: skipped {photo.name}: {reason}.")
                continue
            with atomic_write(target) as temporary:
                shutil.copyfile(photo.source, temporary)
            written += 1
        counts[photo.class_dir] += 1
        used.append(photo)
    if not counts[COLOR_CLASS_DIR]:
        raise FileNotFoundError(
            "None of the demo colour photos were found in the installed scikit-image and "
            "scikit-learn; install them (`pip install -e .`) or give a dataset folder instead."
        )
    if written or not (root / SOURCES_FILE).is_file():
        _write_sources(root / SOURCES_FILE, used)
    print(
        f"Demo dataset in {root}: {counts[COLOR_CLASS_DIR]} colour photos in "
        f"'{COLOR_CLASS_DIR}/', {counts[GRAY_CLASS_DIR]} grayscale photos in "
        f"'{GRAY_CLASS_DIR}/' ({written} written, {reused} already there)."
    )
    return root
