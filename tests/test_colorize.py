"""Colorizing at full resolution: sizes, lightness kept, batches, bad files, safe writing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage import color

from colorlib import cli
from colorlib.archs import colorizer_arch, seed_arch
from colorlib.colorize import colorize, fullres, photofiles
from colorlib.core.config import AB_SCALE, GRAY_CLASS_DIR, IMAGE_EXTENSIONS, PIXEL_MAX
from colorlib.data.images import load_rgb

#: ab the constant model predicts everywhere (normalized): a = +19.2, b = -12.8.
CONSTANT_AB = (0.15, -0.10)


@pytest.fixture(scope="module")
def constant_colorizer(small_colorizer):
    """The small encoder with a decoder that predicts :data:`CONSTANT_AB` for every pixel."""
    encoder, _ = colorizer_arch.split_colorizer(small_colorizer)
    decoder = seed_arch.build_decoder(encoder.input_shape[1])
    last = decoder.get_layer("ab_quarter")
    kernel, _ = last.get_weights()
    last.set_weights([np.zeros_like(kernel), np.arctanh(np.asarray(CONSTANT_AB, np.float32))])
    return colorizer_arch.build_colorizer(encoder, decoder)


def photo(height: int, width: int) -> np.ndarray:
    """The astronaut, resized: uint8 (height, width, 3)."""
    return cv2.resize(skimage.data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)


def lab_of(rgb_uint8: np.ndarray) -> np.ndarray:
    return color.rgb2lab(rgb_uint8.astype(np.float32) / PIXEL_MAX)


def assert_lightness_kept(source: np.ndarray, result: np.ndarray) -> None:
    """Output L equals input L where the constant colour stays inside sRGB (mid-tones)."""
    l_in, l_out = lab_of(source)[..., 0], lab_of(result)[..., 0]
    mid = (l_in > 20) & (l_in < 80)
    assert mid.mean() > 0.3
    error = np.abs(l_in - l_out)[mid]
    assert error.mean() < 0.3, error.mean()
    assert np.percentile(error, 99) < 1.0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("shape", [(64, 64), (45, 100), (131, 37)])
def test_colorize_array_keeps_size_lightness_and_applies_predicted_ab(constant_colorizer, shape):
    source = photo(*shape)
    result = fullres.colorize_array(constant_colorizer, source)
    assert result.shape == (*shape, 3) and result.dtype == np.uint8
    assert_lightness_kept(source, result)
    ab = lab_of(result)[..., 1:]
    l_in = lab_of(source)[..., 0]
    mid = (l_in > 30) & (l_in < 70)
    expected = np.asarray(CONSTANT_AB) * AB_SCALE
    assert np.allclose(np.median(ab[mid], axis=0), expected, atol=1.5)


def test_large_non_square_photo_keeps_its_size_and_lightness(constant_colorizer):
    source = photo(1500, 2000)
    result = fullres.colorize_array(constant_colorizer, source)
    assert result.shape == (1500, 2000, 3)
    assert_lightness_kept(source, result)


def test_strips_give_the_same_photo_as_one_piece_and_as_cv2_resize():
    rng = np.random.default_rng(0)
    source = photo(301, 203)
    ab = rng.uniform(-0.3, 0.3, (64, 64, 2)).astype(np.float32)
    in_strips = fullres.combine_full_resolution(source, ab, strip_pixels=203 * 7)
    whole = fullres.combine_full_resolution(source, ab, strip_pixels=10**9)
    assert np.abs(in_strips.astype(int) - whole).max() <= 1
    lab = cv2.cvtColor(source.astype(np.float32) / np.float32(PIXEL_MAX), cv2.COLOR_RGB2Lab)
    lab[..., 1:] = cv2.resize(ab * np.float32(AB_SCALE), (203, 301), interpolation=cv2.INTER_LINEAR)
    reference = np.rint(np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * PIXEL_MAX)
    assert np.abs(in_strips.astype(int) - reference).max() <= 1
    bgr = fullres.combine_full_resolution(source, ab, bgr=True)
    assert np.array_equal(bgr[..., ::-1], whole)


def test_gray_photos_are_colorized_from_their_lightness(constant_colorizer):
    gray = cv2.cvtColor(photo(60, 80), cv2.COLOR_RGB2GRAY)
    from_2d = fullres.colorize_array(constant_colorizer, gray)
    from_rgb = fullres.colorize_array(constant_colorizer, np.repeat(gray[..., None], 3, axis=-1))
    assert from_2d.shape == (60, 80, 3)
    assert np.array_equal(from_2d, from_rgb)
    assert np.abs(lab_of(from_2d)[..., 1:]).mean() > 5  # it is no longer gray


def test_colorize_array_refuses_float_images(small_colorizer):
    with pytest.raises(ValueError, match="uint8"):
        fullres.colorize_array(small_colorizer, np.zeros((8, 8, 3), np.float32))


def test_predict_ab_batches_give_the_same_answer_in_range(small_colorizer):
    l_norm = np.random.default_rng(1).random((5, 64, 64, 1), dtype=np.float32)
    together = fullres.predict_ab(small_colorizer, l_norm)
    in_twos = fullres.predict_ab(small_colorizer, l_norm, batch_size=2)
    assert together.shape == (5, 64, 64, 2) and together.dtype == np.float32
    assert np.abs(together).max() <= 1.0
    np.testing.assert_allclose(in_twos, together, atol=1e-4)
    with pytest.raises(ValueError, match=r"\(N, 64, 64, 1\)"):
        fullres.predict_ab(small_colorizer, l_norm[..., :48, :, :])


def test_scan_inputs_searches_sub_folders_and_lists_what_it_leaves_out(tmp_path):
    folder = tmp_path / "photos"
    (folder / "1950s").mkdir(parents=True)
    (folder / ".thumbnails").mkdir()
    for name in (
        "b.png",
        "a.jpg",
        "notes.txt",
        "1950s/c.gif",
        "1950s/d.TIF",
        ".hidden.jpg",
        ".thumbnails/e.jpg",
    ):
        (folder / name).write_bytes(b"x")
    single = tmp_path / "single.jpg"
    single.write_bytes(b"x")
    scan = photofiles.scan_inputs([folder, single, folder / "a.jpg"])
    assert scan.photos == [
        (folder / "1950s" / "c.gif", Path("1950s/c.gif")),
        (folder / "1950s" / "d.TIF", Path("1950s/d.TIF")),
        (folder / "a.jpg", Path("a.jpg")),
        (folder / "b.png", Path("b.png")),
        (single, Path("single.jpg")),
    ]
    assert scan.left_out.not_images == [folder / "notes.txt"]
    assert scan.left_out.hidden == [folder / ".hidden.jpg", folder / ".thumbnails"]
    assert scan.left_out.not_searched == []
    flat = photofiles.scan_inputs([folder], recursive=False)
    assert [relative for _, relative in flat.photos] == [Path("a.jpg"), Path("b.png")]
    assert flat.left_out.not_searched == [folder / "1950s"]
    assert photofiles.collect_inputs([folder, single]) == [folder / "a.jpg", folder / "b.png", single]
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        photofiles.scan_inputs([single, tmp_path / "missing.jpg"])
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no photos here")
    left_out = r"1 file was not an image: readme\.txt; 1 sub-folder not searched \(--no-recursive\): sub"
    with pytest.raises(ValueError, match=f"No photos in .*{left_out}"):
        photofiles.scan_inputs([tmp_path / "empty"], recursive=False)


def test_outputs_keep_common_formats_and_names_and_other_formats_become_png():
    assert photofiles.output_name("1950s/a.JPG") == Path("1950s/a.JPG")
    for name in ("a.jpeg", "a.png", "a.tif", "a.tiff", "a.webp", "a.bmp"):
        assert photofiles.output_name(name) == Path(name)
    assert photofiles.output_name(Path("1950s/a.gif")) == Path("1950s/a.png")
    assert photofiles.output_name("scan.tga") == Path("scan.png")
    assert photofiles.output_name("scan.jfif") == Path("scan.png")


def test_summary_counts_and_names_what_was_left_out(tmp_path):
    left_out = photofiles.LeftOut(
        not_images=[tmp_path / f"n{index}.txt" for index in range(7)],
        not_searched=[tmp_path / "1950s"],
    )
    report = colorize.ColorizeReport(out_dir=Path("out"), written=[Path("out/a.jpg")], left_out=left_out)
    assert report.summary() == (
        "colorized 1 photos into out; 0 failed; 7 files were not images: n0.txt, n1.txt, n2.txt, "
        "n3.txt, n4.txt, and 2 more; 1 sub-folder not searched (--no-recursive): 1950s"
    )
    assert colorize.ColorizeReport(out_dir=Path("out")).summary() == "colorized 0 photos into out; 0 failed"


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """Two good photos (JPEG, non-square PNG) and three bad files."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photo(48, 72)).save(folder / "good.jpg", quality=90)
    Image.fromarray(photo(70, 40)).save(folder / "good2.png")
    (folder / "empty.jpg").write_bytes(b"")
    whole = (folder / "good.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "text.png").write_text("this is not a picture\n")
    return folder


def add_sub_folder_gif_and_text(folder: Path) -> None:
    """A photo in ``1950s/``, a two-frame GIF and a text file, beside :func:`mixed_folder`'s files."""
    (folder / "1950s").mkdir()
    Image.fromarray(photo(36, 52)).save(folder / "1950s" / "good.jpg", quality=90)
    frames = [Image.fromarray(photo(30, 44)).quantize(64), Image.fromarray(photo(44, 30)).quantize(64)]
    frames[0].save(folder / "old.gif", save_all=True, append_images=frames[1:])
    (folder / "notes.txt").write_text("not a photo\n")


def hashes(folder: Path) -> dict[Path, str]:
    return {path: sha256(path) for path in folder.rglob("*") if path.is_file()}


def test_folder_with_bad_files_writes_good_ones_and_reports_each_bad_one(
    small_colorizer, mixed_folder, tmp_path, monkeypatch, capsys
):
    add_sub_folder_gif_and_text(mixed_folder)
    before = hashes(mixed_folder)
    monkeypatch.setattr(colorizer_arch, "load_model", lambda path: small_colorizer)
    out_dir = tmp_path / "out"
    status = cli.main(["colorize", str(mixed_folder), "--out", str(out_dir), "--model", "unused.keras"])
    captured = capsys.readouterr()
    assert status == 1
    assert f"colorized 4 photos into {out_dir}; 3 failed; 1 file was not an image: notes.txt" in captured.out
    reasons = {"empty.jpg": "(0 bytes)", "truncated.jpg": "truncated image", "text.png": "not an image"}
    for bad, reason in reasons.items():
        lines = [line for line in captured.err.splitlines() if f"{bad}:" in line]
        assert len(lines) == 1 and reason in lines[0], captured.err
    outputs = {"good.jpg": "good.jpg", "good2.png": "good2.png", "1950s/good.jpg": "1950s/good.jpg"}
    outputs["old.gif"] = "old.png"
    assert sorted(str(path.relative_to(out_dir)) for path in out_dir.rglob("*.*")) == sorted(outputs.values())
    for name, written in outputs.items():
        with Image.open(mixed_folder / name) as source, Image.open(out_dir / written) as result:
            assert result.size == source.size
            assert result.format == ("PNG" if name.endswith(".gif") else source.format)
    assert hashes(mixed_folder) == before


def test_no_recursive_leaves_sub_folders_out_and_says_so(
    small_colorizer, mixed_folder, tmp_path, monkeypatch, capsys
):
    add_sub_folder_gif_and_text(mixed_folder)
    monkeypatch.setattr(colorizer_arch, "load_model", lambda path: small_colorizer)
    out_dir = tmp_path / "out"
    arguments = [str(mixed_folder), "--out", str(out_dir), "--model", "unused.keras", "--no-recursive"]
    assert cli.main(["colorize", *arguments]) == 1
    printed = capsys.readouterr().out
    assert f"colorized 3 photos into {out_dir}; 3 failed;" in printed
    assert printed.rstrip().endswith("; 1 sub-folder not searched (--no-recursive): 1950s")
    assert sorted(path.name for path in out_dir.iterdir()) == ["good.jpg", "good2.png", "old.png"]


def test_outputs_match_one_by_one_colorization_whatever_the_batching(
    constant_colorizer, small_colorizer, tmp_path, monkeypatch
):
    folder = tmp_path / "in"
    folder.mkdir()
    shapes = [(40, 60), (64, 64), (90, 30), (33, 77), (50, 50)]
    for index, shape in enumerate(shapes):
        pixels = photo(*shape)[:, ::-1] if index % 2 else photo(*shape)
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"p{index}.png")
    monkeypatch.setattr(colorize, "BATCH_PIXELS", 7000)  # forces short batches and a small window
    for batch_size in (1, 3):
        report = colorize.colorize_files(
            small_colorizer, [folder], tmp_path / f"out{batch_size}", batch_size, progress=False
        )
        assert not report.failed and len(report.written) == len(shapes)
        for path in sorted(folder.iterdir()):
            alone = fullres.colorize_array(small_colorizer, np.asarray(Image.open(path)))
            written = np.asarray(Image.open(tmp_path / f"out{batch_size}" / path.name))
            assert np.abs(written.astype(int) - alone).max() <= 1, path.name
    report = colorize.colorize_files(constant_colorizer, [folder], tmp_path / "const", progress=False)
    for path in report.written:
        assert_lightness_kept(np.asarray(Image.open(folder / path.name)), np.asarray(Image.open(path)))


def test_every_supported_extension_is_written_in_its_own_format(small_colorizer, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for extension in IMAGE_EXTENSIONS:
        Image.fromarray(photo(20, 30)).save(folder / f"photo_{extension[1:]}{extension.upper()}")
    report = colorize.colorize_files(small_colorizer, [folder], tmp_path / "out", progress=False)
    assert not report.failed and len(report.written) == len(IMAGE_EXTENSIONS)
    for source in folder.iterdir():
        with Image.open(source) as original, Image.open(tmp_path / "out" / source.name) as written:
            assert (written.format, written.size) == (original.format, original.size)


def test_batches_respect_the_photo_count_and_the_pixel_budget(monkeypatch):
    monkeypatch.setattr(colorize, "BATCH_PIXELS", 100)
    groups = colorize._plan_batches([30, 30, 30, 200, 10, 10], batch_size=2)
    assert [list(group) for group in groups] == [[0, 1], [2], [3], [4, 5]]


def test_jpeg_outputs_are_written_at_quality_95(small_colorizer, mixed_folder, tmp_path):
    out_dir = tmp_path / "out"
    colorize.colorize_files(small_colorizer, [mixed_folder / "good.jpg"], out_dir, progress=False)
    Image.fromarray(photo(48, 72)).save(tmp_path / "q95.jpg", quality=95)
    with Image.open(out_dir / "good.jpg") as written, Image.open(tmp_path / "q95.jpg") as reference:
        assert written.quantization[0] == reference.quantization[0]


def test_writing_into_the_input_folder_is_refused(small_colorizer, mixed_folder, capsys):
    before = {path.name: sha256(path) for path in mixed_folder.iterdir()}
    with pytest.raises(ValueError, match="Refusing to write"):
        colorize.colorize_files(small_colorizer, [mixed_folder], mixed_folder, progress=False)
    arguments = [str(mixed_folder / "good.jpg"), "--out", str(mixed_folder), "--model", "never-loaded.keras"]
    assert cli.main(["colorize", *arguments]) == 2
    assert "Refusing to write" in capsys.readouterr().err
    assert {path.name: sha256(path) for path in mixed_folder.iterdir()} == before


def test_same_file_name_from_two_folders_is_not_overwritten(small_colorizer, tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, shape in ((first, (30, 40)), (second, (50, 20))):
        folder.mkdir()
        Image.fromarray(photo(*shape)).save(folder / "same.png")
    Image.fromarray(photo(10, 10)).save(first / "same.gif")  # would be written as same.png too
    report = colorize.colorize_files(small_colorizer, [first, second], tmp_path / "out", progress=False)
    assert report.written == [tmp_path / "out" / "same.png"]
    assert [path for path, _ in report.failed] == [first / "same.png", second / "same.png"]
    assert all("same output file name" in reason for _, reason in report.failed)
    with Image.open(tmp_path / "out" / "same.png") as written:
        assert written.size == (10, 10)
    assert "second/same.png" in capsys.readouterr().err


def test_sub_folders_keep_their_layout_and_gif_becomes_png(small_colorizer, tmp_path):
    folder = tmp_path / "in"
    (folder / "1950s" / "summer").mkdir(parents=True)
    Image.fromarray(photo(30, 40)).save(folder / "a.jpg")
    Image.fromarray(photo(40, 30)).save(folder / "1950s" / "a.jpg")
    frames = [Image.fromarray(photo(24, 36)).quantize(64), Image.fromarray(photo(24, 36)[::-1]).quantize(64)]
    frames[0].save(folder / "1950s" / "summer" / "anim.gif", save_all=True, append_images=frames[1:])
    report = colorize.colorize_files(small_colorizer, [folder], tmp_path / "out", progress=False)
    assert not report.failed
    assert sorted(report.written) == [
        tmp_path / "out" / "1950s" / "a.jpg",
        tmp_path / "out" / "1950s" / "summer" / "anim.png",
        tmp_path / "out" / "a.jpg",
    ]
    first_frame = np.asarray(frames[0].convert("RGB"))
    with Image.open(tmp_path / "out" / "1950s" / "summer" / "anim.png") as written:
        assert written.format == "PNG" and written.size == (36, 24)
        alone = fullres.colorize_array(small_colorizer, first_frame)
        assert np.abs(np.asarray(written).astype(int) - alone).max() <= 1


def test_an_output_folder_inside_a_searched_input_folder_is_refused(small_colorizer, mixed_folder, tmp_path):
    inside = mixed_folder / "colorized"
    with pytest.raises(ValueError, match="is inside, the input folder"):
        colorize.colorize_files(small_colorizer, [mixed_folder], inside, progress=False)
    assert not inside.exists()
    (mixed_folder / "text.png").unlink()  # the other bad files fail later; this one is enough
    report = colorize.colorize_files(small_colorizer, [mixed_folder], inside, progress=False, recursive=False)
    assert sorted(path.name for path in inside.iterdir()) == ["good.jpg", "good2.png"]
    report = colorize.colorize_files(small_colorizer, [mixed_folder], inside, progress=False, recursive=False)
    assert len(report.written) == 2 and report.left_out.not_searched == [inside]
    Image.fromarray(photo(8, 8)).save(tmp_path / "only.gif")  # only.png would go beside it: refused too
    with pytest.raises(ValueError, match="Refusing to write"):
        colorize.colorize_files(small_colorizer, [tmp_path / "only.gif"], tmp_path, progress=False)
    assert not (tmp_path / "only.png").exists()


def test_a_failed_write_leaves_the_previous_output_and_no_temporary_file(
    small_colorizer, mixed_folder, tmp_path, monkeypatch
):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "good.jpg").write_bytes(b"previous output")
    original_write = Path.write_bytes

    def half_then_fail(self: Path, data: bytes) -> int:
        original_write(self, data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    report = colorize.colorize_files(
        small_colorizer, [mixed_folder / "good.jpg", mixed_folder / "good2.png"], out_dir, progress=False
    )
    monkeypatch.undo()
    assert report.written == []
    assert {path.name for path, _ in report.failed} == {"good.jpg", "good2.png"}
    assert all("disk full" in reason for _, reason in report.failed)
    assert sorted(path.name for path in out_dir.iterdir()) == ["good.jpg"]
    assert (out_dir / "good.jpg").read_bytes() == b"previous output"


def test_missing_model_gives_a_clear_error(mixed_folder, tmp_path, capsys):
    arguments = [str(mixed_folder / "good.jpg"), "--out", str(tmp_path / "out")]
    assert cli.main(["colorize", *arguments, "--model", str(tmp_path / "none.keras")]) == 2
    assert "No model at" in capsys.readouterr().err


@pytest.mark.shared_data
def test_real_grayscale_photos_keep_size_and_lightness(constant_colorizer, shared_data, tmp_path):
    folder = shared_data / "colorization" / GRAY_CLASS_DIR
    if not folder.is_dir():
        pytest.skip(f"No grayscale photos at {folder}.")
    photos = sorted(folder.glob("*.jpg"))[:3]
    out_dir = tmp_path / "out"
    report = colorize.colorize_files(constant_colorizer, photos, out_dir, progress=False)
    assert not report.failed and len(report.written) == len(photos)
    for path in photos:
        source = load_rgb(path)
        result = np.asarray(Image.open(out_dir / path.name))
        assert result.shape == source.shape
        l_in, l_out = lab_of(source)[..., 0], lab_of(result)[..., 0]
        mid = (l_in > 20) & (l_in < 80)  # near black and white the colour leaves sRGB
        assert np.median(np.abs(l_in - l_out)[mid]) < 1.0  # JPEG at quality 95 on both sides


def test_vividness_scales_the_colours_inside_the_gamut_and_keeps_the_hue(constant_colorizer, tmp_path):
    source = photo(64, 64)
    plain = fullres.colorize_array(constant_colorizer, source)
    assert np.array_equal(fullres.colorize_array(constant_colorizer, source, vividness=1.0), plain)
    vivid = fullres.colorize_array(constant_colorizer, source, vividness=3.0)
    gray = fullres.colorize_array(constant_colorizer, source, vividness=0.0)
    l_in = lab_of(source)[..., 0]
    mid = (l_in > 30) & (l_in < 70)
    chroma = {name: np.hypot(*np.moveaxis(lab_of(image)[..., 1:], -1, 0))[mid] for name, image in
              (("plain", plain), ("vivid", vivid), ("gray", gray))}  # fmt: skip
    assert np.median(chroma["vivid"]) > 2.0 * np.median(chroma["plain"])
    assert np.median(chroma["gray"]) < 1.5
    assert_lightness_kept(source, vivid)
    hue = np.degrees(np.arctan2(*lab_of(vivid)[..., 1:][mid][:, ::-1].T))
    expected = np.degrees(np.arctan2(CONSTANT_AB[1], CONSTANT_AB[0]))
    assert abs(np.median(hue) - expected) < 3.0  # scaled towards gray, not clipped channel by channel
    with pytest.raises(ValueError, match="vividness must be 0"):
        colorize.colorize_files(constant_colorizer, [tmp_path], tmp_path / "out", vividness=-1.0)
