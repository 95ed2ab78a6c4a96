"""References found automatically (issue 40): the index of colour photos, the nearest ones, their
hints merged, and ``colorlib index`` / ``colorize --reference auto`` on the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.colorize import reference, refindex
from colorlib.colorize.fullres import model_input_l
from colorlib.data.hints import Hint


def scenes() -> dict[str, np.ndarray]:
    """Four colour photos of different scenes, uint8 RGB, 96 × 96."""
    import skimage.data

    found = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        rgb = getattr(skimage.data, name)()
        found[name] = np.asarray(Image.fromarray(rgb).resize((96, 96), Image.Resampling.LANCZOS))
    return found


def write_scenes(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rgb in scenes().items():
        paths[name] = folder / f"{name}.png"
        Image.fromarray(rgb).save(paths[name])
    return paths


def gray(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, axis=-1)


def test_the_index_finds_the_colour_photo_of_a_gray_one_and_leaves_bad_files_out(
    small_colorizer, tmp_path: Path
) -> None:
    paths = write_scenes(tmp_path / "photos")
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a photo")
    Image.fromarray(gray(scenes()["coffee"])).save(tmp_path / "photos" / "gray.png")
    every = [*paths.values(), tmp_path / "photos" / "broken.jpg", tmp_path / "photos" / "gray.png"]
    index, left_out = refindex.ReferenceIndex.build(small_colorizer, every, progress=False)
    assert sorted(Path(p).name for p, _ in left_out) == ["broken.jpg", "gray.png"]
    assert "gray" in dict((Path(p).name, r) for p, r in left_out)["gray.png"]
    assert index.features.shape[0] == 4
    np.testing.assert_allclose(np.linalg.norm(index.features, axis=1), 1, atol=1e-4)

    auto = refindex.AutoReferences(small_colorizer, index, count=2)
    for name, rgb in scenes().items():
        l_small = model_input_l(gray(rgb), auto.size)
        nearest = auto.references_for(l_small)
        assert Path(nearest[0]).name == f"{name}.png" and len(nearest) == 2
        assert str(paths[name]) not in auto.references_for(l_small, exclude=str(paths[name]))

    saved = index.save(tmp_path / "index.npz")
    again = refindex.ReferenceIndex.load(saved, small_colorizer)
    assert again.paths == index.paths and again.key == index.key
    np.testing.assert_allclose(again.features, index.features, atol=1e-3)  # kept as float16


def test_an_index_for_another_encoder_or_a_missing_one_is_refused(small_colorizer, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="colorlib index"):
        refindex.ReferenceIndex.load(tmp_path / "none.npz")
    other = refindex.ReferenceIndex(np.eye(2, dtype=np.float32), ["a.png", "b.png"], "another-512")
    other.save(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="made for another-512"):
        refindex.ReferenceIndex.load(tmp_path / "other.npz", small_colorizer)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a reference index"):
        refindex.ReferenceIndex.load(tmp_path / "bad.npz")


class FixedReference:
    """A reference whose trusted matches are given: ``(cell, score, hint)``."""

    def __init__(self, found):
        self.found = found

    def scored_hints(self, features, photo_size, min_similarity=None):
        return self.found


def test_several_references_give_each_cell_its_best_match_and_at_most_max_hints() -> None:
    red, blue = (0.5, 0.2), (-0.1, -0.5)
    first = FixedReference([(0, 0.9, Hint(8, 8, red)), (1, 0.7, Hint(24, 8, red))])
    second = FixedReference([(1, 0.8, Hint(24, 8, blue)), (2, 0.65, Hint(40, 8, blue))])
    merged = refindex.merged_hints([first, second], None, (64, 64))
    assert [(h.x, h.ab) for h in merged] == [(8, red), (24, blue), (40, blue)]  # cell 1: the better match
    many = FixedReference([(cell, 0.99 - cell / 1000, Hint(cell, 0, red)) for cell in range(100)])
    merged = refindex.merged_hints([many], None, (64, 64))
    assert len(merged) == reference.MAX_HINTS and [h.x for h in merged] == list(range(reference.MAX_HINTS))


def test_index_and_colorize_reference_auto_on_the_command_line(
    small_colorizer, tmp_path: Path, capsys
) -> None:
    from colorlib import cli

    model_file = tmp_path / "small.keras"
    small_colorizer.save(model_file)
    write_scenes(tmp_path / "photos")
    index_file = tmp_path / "index.npz"
    assert (
        cli.main(["index", str(tmp_path / "photos"), "--out", str(index_file), "--model", str(model_file)])
        == 0
    )
    assert "indexed 4 photos" in capsys.readouterr().out
    grays = tmp_path / "gray"
    grays.mkdir()
    Image.fromarray(gray(scenes()["chelsea"])).save(grays / "cat.png")
    out = tmp_path / "out"
    common = ["--out", str(out), "--model", str(model_file)]
    assert cli.main(["colorize", str(grays), "--reference", "auto", "--index", str(index_file), *common]) == 0
    assert cli.main(["colorize", str(grays), *common[:1], str(tmp_path / "plain"), *common[2:]]) == 0
    capsys.readouterr()
    # The nearest indexed photo is the cat's own colour original: its colours must come through.
    truth = lab_ab(scenes()["chelsea"])
    guided, plain = (
        lab_ab(np.asarray(Image.open(folder / "cat.png"))) for folder in (out, tmp_path / "plain")
    )
    assert np.abs(guided - truth).mean() < 0.8 * np.abs(plain - truth).mean()

    missing = ["--reference", "auto", "--index", str(tmp_path / "no.npz")]
    assert cli.main(["colorize", str(grays), *missing, *common]) == 2
    assert "colorlib index PHOTOS" in capsys.readouterr().err
    assert cli.main(["colorize", str(grays), "--index", str(index_file), *common]) == 2
    assert "--index is for --reference auto" in capsys.readouterr().err


def lab_ab(rgb: np.ndarray) -> np.ndarray:
    from colorlib.color.lab import rgb_to_lab

    return rgb_to_lab(np.asarray(rgb, np.float32) / 255)[..., 1:]
