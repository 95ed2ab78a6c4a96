"""colorlib.data.images: loading every odd format, refusing bad files, finding and splitting datasets."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colorlib.core import io
from colorlib.core.config import COLOR_CLASS_DIR, GRAY_CLASS_DIR
from colorlib.data import images
from colorlib.data.images import ImageLoadError

RED, BLUE, GREEN, YELLOW = (220, 30, 40), (20, 40, 200), (30, 180, 60), (240, 220, 20)


def quadrants(height: int = 24, width: int = 32) -> np.ndarray:
    """uint8 (H, W, 3): four flat colours, easy to check after lossy compression."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:] = RED, BLUE, GREEN, YELLOW
    return image


def block_centres(image: np.ndarray) -> np.ndarray:
    """The centre pixel of each quadrant, (4, 3) int."""
    height, width = image.shape[:2]
    rows, cols = (height // 4, 3 * height // 4), (width // 4, 3 * width // 4)
    return np.array([image[r, c] for r in rows for c in cols], dtype=int)


def check_rgb(loaded: np.ndarray, shape: tuple[int, int]) -> None:
    assert loaded.dtype == np.uint8
    assert loaded.shape == (*shape, 3)


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "options", "tolerance"),
    [
        (".png", {}, 0),
        (".bmp", {}, 0),
        (".tif", {}, 0),
        (".tiff", {"compression": "tiff_lzw"}, 0),
        (".webp", {"lossless": True}, 0),
        (".webp", {"quality": 90}, 12),
        (".jpg", {"quality": 95}, 12),
        (".JPEG", {"quality": 95}, 12),
    ],
)
def test_common_formats_load_as_uint8_rgb(tmp_path, suffix, options, tolerance) -> None:
    image = quadrants()
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(image).save(path, **options)
    loaded = images.load_rgb(path)
    check_rgb(loaded, image.shape[:2])
    if tolerance == 0:
        np.testing.assert_array_equal(loaded, image)
    else:
        assert np.abs(block_centres(loaded) - block_centres(image)).max() <= tolerance


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored 20 rows × 40 columns, red top-left corner; orientation 6 = rotate 90° clockwise.
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:] = BLUE
    stored[:10, :10] = RED
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    loaded = images.load_rgb(path)
    check_rgb(loaded, (40, 20))
    assert np.abs(loaded[4, -5].astype(int) - RED).max() <= 12  # top-left went top-right
    assert np.abs(loaded[-5, 4].astype(int) - BLUE).max() <= 12


def test_grayscale_l_gives_three_equal_channels(tmp_path: Path) -> None:
    gray = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (5, 1))
    path = tmp_path / "gray.png"
    Image.fromarray(gray, mode="L").save(path)
    loaded = images.load_rgb(path)
    check_rgb(loaded, gray.shape)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], gray)


def palette_image(indices: np.ndarray) -> Image.Image:
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette([*RED, *BLUE, *GREEN, *YELLOW] + [0, 0, 0] * 252)
    return image


def test_palette_image_gives_its_colours(tmp_path: Path) -> None:
    indices = np.array([[0, 1], [2, 3]])
    path = tmp_path / "palette.png"
    palette_image(indices).save(path)
    assert Image.open(path).mode == "P"
    np.testing.assert_array_equal(images.load_rgb(path), [[RED, BLUE], [GREEN, YELLOW]])


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_transparent_palette_colour_becomes_white(tmp_path: Path, suffix: str) -> None:
    indices = np.array([[0, 1], [2, 3]])
    path = tmp_path / f"palette{suffix}"
    palette_image(indices).save(path, transparency=1)
    assert "transparency" in Image.open(path).info
    np.testing.assert_array_equal(images.load_rgb(path), [[RED, (255, 255, 255)], [GREEN, YELLOW]])


def test_rgba_is_composited_over_white(tmp_path: Path) -> None:
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, :, :3] = RED
    rgba[0, :, 3] = (0, 255, 128)
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    loaded = images.load_rgb(path).astype(int)
    half = np.array(RED) * 128 / 255 + 255 * (1 - 128 / 255)
    np.testing.assert_array_equal(loaded[0, 0], (255, 255, 255))
    np.testing.assert_array_equal(loaded[0, 1], RED)
    assert np.abs(loaded[0, 2] - half).max() <= 1


def test_gray_with_alpha_is_composited_over_white(tmp_path: Path) -> None:
    la = np.array([[[40, 0], [40, 255]]], dtype=np.uint8)
    path = tmp_path / "la.png"
    Image.fromarray(la, mode="LA").save(path)
    np.testing.assert_array_equal(images.load_rgb(path)[0], [[255] * 3, [40] * 3])


def test_16bit_gray_png_is_divided_by_257(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 100, 65535, 1000, 128]], dtype=np.uint16)
    path = tmp_path / "gray16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    loaded = images.load_rgb(path)
    check_rgb(loaded, values.shape)
    expected = np.rint(values / 257).astype(np.uint8)  # [0, 100, 255, 4, 0]
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_rgb_becomes_8bit(tmp_path: Path, suffix: str) -> None:
    rgb16 = np.zeros((2, 3, 3), dtype=np.uint16)
    rgb16[0, 0] = (65535, 0, 257 * 7)
    rgb16[0, 1] = (257 * 10, 257 * 200, 1000)
    rgb16[1, 2] = (300, 65000, 40000)
    path = tmp_path / f"rgb16{suffix}"
    assert cv2.imwrite(str(path), rgb16[..., ::-1])  # OpenCV writes BGR
    loaded = images.load_rgb(path)
    check_rgb(loaded, (2, 3))
    # Documented: value / 257. Pillow reads 16-bit RGB by its high byte (value >> 8), which
    # is at most one level lower, so allow 1.
    expected = np.rint(rgb16 / 257)
    assert np.abs(loaded - expected).max() <= 1
    np.testing.assert_array_equal(loaded[0, 0], (255, 0, 7))


def test_float_tiff_is_taken_as_0_to_255_and_clipped(tmp_path: Path) -> None:
    values = np.array([[-5.0, 100.4, 300.0]], dtype=np.float32)
    path = tmp_path / "float.tif"
    Image.fromarray(values, mode="F").save(path)
    np.testing.assert_array_equal(images.load_rgb(path)[0, :, 0], [0, 100, 255])


def test_cmyk_jpeg_converts_to_rgb(tmp_path: Path) -> None:
    image = quadrants()
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(image).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    loaded = images.load_rgb(path)
    check_rgb(loaded, image.shape[:2])
    assert np.abs(block_centres(loaded) - block_centres(image)).max() <= 12


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    first = quadrants()
    path = tmp_path / "animated.gif"
    frames = [Image.fromarray(pixels).quantize(4) for pixels in (first, first[::-1], first[:, ::-1])]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(path).n_frames == 3
    np.testing.assert_array_equal(images.load_rgb(path), first)


def test_load_resized_gives_float_square_in_unit_range(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.fromarray(np.kron(quadrants(), np.ones((20, 20, 1), dtype=np.uint8))).save(path)
    resized = images.load_resized(path, 64)
    assert resized.shape == (64, 64, 3) and resized.dtype == np.float32
    assert resized.min() >= 0.0 and resized.max() <= 1.0
    assert np.abs(resized[16, 16] * 255 - RED).max() <= 12


# --- bad files -----------------------------------------------------------------------------


def make_bad_file(folder: Path, kind: str) -> Path:
    path = folder / {"corrupt": "noise.png", "text": "notes.jpg"}.get(kind, f"{kind}.jpg")
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        Image.fromarray(quadrants(64, 64)).save(path, quality=90)
        content = path.read_bytes()
        path.write_bytes(content[: len(content) // 2])
    elif kind == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(600))
    elif kind == "text":
        path.write_text("This is a text file, not a photo.\n")
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "empty"),
        ("truncated", "truncated"),
        ("corrupt", "not an image"),
        ("text", "not an image"),
        ("missing", "no such file"),
    ],
)
def test_bad_files_raise_image_load_error_and_stay_untouched(tmp_path, kind, reason) -> None:
    path = make_bad_file(tmp_path, kind)
    before = (io.file_hash(path), path.stat().st_mtime_ns) if path.exists() else None
    for load in (images.load_rgb, lambda p: images.load_resized(p, 64)):
        with pytest.raises(ImageLoadError) as error:
            load(path)
        assert isinstance(error.value, ValueError)
        assert error.value.path == path
        assert reason in error.value.reason
        assert str(path) in str(error.value)
    after = (io.file_hash(path), path.stat().st_mtime_ns) if path.exists() else None
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ([] if kind == "missing" else [path.name])


def test_file_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"colorlib")
    assert io.file_hash(path) == hashlib.sha256(b"colorlib").hexdigest()


# --- datasets ------------------------------------------------------------------------------


def save_photos(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        Image.fromarray(quadrants(8, 8)).save(folder / name)
        paths.append(folder / name)
    return paths


def test_image_extensions_are_the_formats_pillow_reads() -> None:
    extensions = images.image_extensions()
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".tga", ".ppm"} <= extensions
    assert not {".pdf", ".h5", ".mpg", ".txt", ".csv", ""} & extensions


def test_scan_folder_sorts_files_and_lists_what_it_leaves_out(tmp_path: Path) -> None:
    photos = save_photos(tmp_path, ["b.GIF", "a.jpg"]) + save_photos(tmp_path / "1950s", ["c.tga"])
    save_photos(tmp_path / ".cache", ["hidden.jpg"])
    (tmp_path / ".DS_Store").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "1950s" / "loop").symlink_to(tmp_path, target_is_directory=True)
    scan = images.scan_folder(tmp_path, recursive=True)
    assert scan.images == sorted(photos)
    assert scan.not_images == [tmp_path / "notes.txt"]
    assert scan.hidden == [tmp_path / ".DS_Store", tmp_path / ".cache"]
    assert scan.not_searched == [] and scan.errors == []
    assert scan.folders == [tmp_path, tmp_path / "1950s"]  # the link back up is searched once
    flat = images.scan_folder(tmp_path)
    assert flat.images == sorted(photos[:2]) and flat.not_searched == [tmp_path / "1950s"]
    assert images.list_images(tmp_path) == flat.images
    with pytest.raises(FileNotFoundError, match="No folder"):
        images.scan_folder(tmp_path / "notes.txt")


def test_find_dataset_original_layout_with_spaces(tmp_path: Path) -> None:
    root = tmp_path / "my photos"
    color = save_photos(root / COLOR_CLASS_DIR, ["b photo.jpg", "a.PNG", "c.webp"])
    gray = save_photos(root / GRAY_CLASS_DIR, ["old one.jpg"])
    (root / COLOR_CLASS_DIR / "notes.txt").write_text("not a photo")
    (root / "sources.csv").write_text("file\n")
    dataset = images.find_dataset(root)
    assert dataset.layout == "class folders"
    assert dataset.color_files == sorted(color)
    assert dataset.gray_files == gray
    assert "3 colour photos" in dataset.describe() and "1 grayscale" in dataset.describe()


def test_find_dataset_without_a_gray_class(tmp_path: Path) -> None:
    save_photos(tmp_path / COLOR_CLASS_DIR, ["a.jpg", "b.jpg"])
    dataset = images.find_dataset(tmp_path)
    assert dataset.layout == "class folders"
    assert len(dataset.color_files) == 2 and dataset.gray_files == []


def test_find_dataset_flat_folder_includes_subfolders(tmp_path: Path) -> None:
    files = save_photos(tmp_path, ["x.jpg", "y.png"]) + save_photos(tmp_path / "more", ["z.bmp"])
    dataset = images.find_dataset(tmp_path)
    assert dataset.layout == "flat"
    assert dataset.color_files == sorted(files) and dataset.gray_files == []


def test_find_dataset_missing_folder_points_to_demo_data(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="colorlib demo-data"):
        images.find_dataset(tmp_path / "nowhere")


def test_find_dataset_empty_folder_or_file_is_a_value_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no photos here")
    with pytest.raises(ValueError, match="No images"):
        images.find_dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match="is a file"):
        images.find_dataset(tmp_path / "empty" / "readme.txt")


def test_split_files_is_deterministic_disjoint_and_complete() -> None:
    files = [f"/photos/{index:03d}.jpg" for index in range(50)]
    split = images.split_files(files, 0.1, 0.1, seed=42)
    assert (len(split["train"]), len(split["validation"]), len(split["test"])) == (40, 5, 5)
    parts = [set(split[name]) for name in ("train", "validation", "test")]
    assert set.union(*parts) == set(files)
    assert sum(len(part) for part in parts) == len(files)
    assert images.split_files(files[::-1], 0.1, 0.1, seed=42) == split  # input order is irrelevant
    assert images.split_files(files, 0.1, 0.1, seed=7) != split
    assert split["train"] != sorted(split["train"])  # shuffled


def test_split_files_gives_three_files_one_each() -> None:
    split = images.split_files(["a", "b", "c"], 0.1, 0.1)
    assert [len(split[name]) for name in ("train", "validation", "test")] == [1, 1, 1]


@pytest.mark.parametrize(("validation", "test"), [(-0.1, 0.1), (0.1, 1.0), (0.5, 0.5)])
def test_split_files_refuses_bad_fractions(validation: float, test: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        images.split_files(["a", "b", "c"], validation, test)


# --- grayscale detection -------------------------------------------------------------------


def test_gray_photo_saved_as_rgb_jpeg_is_gray(tmp_path: Path) -> None:
    from skimage import data as skdata

    gray = images.load_rgb(Path(skdata.data_dir) / "camera.png")[..., 0].astype(int)
    # Per-channel noise that full-resolution 4:4:4 JPEG keeps: pixels differ by up to 15 levels.
    noise = np.random.default_rng(0).integers(-6, 7, (*gray.shape, 3))
    rgb = np.clip(gray[..., None] + noise, 0, 255).astype(np.uint8)
    path = tmp_path / "gray_as_rgb.jpg"
    Image.fromarray(rgb).save(path, quality=90, subsampling=0)
    loaded = images.load_rgb(path)
    assert np.abs(loaded[..., 0].astype(int) - loaded[..., 2]).max() >= 8
    assert images.is_grayscale(loaded)
    assert images.is_grayscale(loaded.astype(np.float32) / 255)


def test_colour_photo_is_not_gray() -> None:
    from skimage import data as skdata

    astronaut = images.load_rgb(Path(skdata.data_dir) / "astronaut.png")
    assert not images.is_grayscale(astronaut)
    assert not images.is_grayscale(astronaut.astype(np.float32) / 255)


# --- the real photographs ------------------------------------------------------------------

REAL_COLOR_COUNT, REAL_GRAY_COUNT = 6154, 371
SAMPLE = 20


@pytest.fixture(scope="module")
def real_dataset(shared_data: Path) -> images.Dataset:
    root = shared_data / "colorization"
    if not root.is_dir():
        pytest.skip(f"No colorization dataset at {root}.")
    return images.find_dataset(root)


def evenly_spaced(files: list[Path], count: int) -> list[Path]:
    return [files[index] for index in np.linspace(0, len(files) - 1, count).astype(int)]


@pytest.mark.shared_data
def test_real_dataset_is_found_with_its_counts(real_dataset: images.Dataset) -> None:
    assert real_dataset.layout == "class folders"
    assert len(real_dataset.color_files) == REAL_COLOR_COUNT
    assert len(real_dataset.gray_files) == REAL_GRAY_COUNT


@pytest.mark.shared_data
def test_real_photos_load_and_are_classified(real_dataset: images.Dataset) -> None:
    colour = 0
    for path in evenly_spaced(real_dataset.color_files, SAMPLE):
        rgb = images.load_rgb(path)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert min(rgb.shape[:2]) >= 32
        assert images.load_resized(path, 64).shape == (64, 64, 3)
        colour += not images.is_grayscale(rgb)
    # About 1% of class 0 is really black and white (measured 1.3% of 600).
    assert colour >= SAMPLE - 2
    for path in evenly_spaced(real_dataset.gray_files, SAMPLE):
        rgb = images.load_rgb(path)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert images.is_grayscale(rgb)


@pytest.mark.shared_data
def test_real_gray_class_is_detected_as_gray(real_dataset: images.Dataset) -> None:
    # Measured: all 371 are gray (mean chroma at most 0.4, threshold 2.0).
    gray = [
        images.is_grayscale(np.asarray(images.open_image(path, draft_size=images.GRAY_TEST_SIZE)))
        for path in real_dataset.gray_files
    ]
    assert np.mean(gray) >= 0.95
