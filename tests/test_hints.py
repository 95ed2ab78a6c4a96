"""Colour hints: the planes a hint-aware U-Net takes, the hints training simulates, the hints file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_gan import CHANNELS, FILTERS, SIZE

from colorlib.archs import unet_arch
from colorlib.colorize import fullres, hintfile
from colorlib.data import hints


def test_a_hint_aware_unet_takes_two_more_planes_at_full_resolution() -> None:
    decoder = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, hints=True)
    shapes = {name: tuple(tensor.shape[1:]) for name, tensor in decoder.input.items()}
    assert shapes[unet_arch.HINT_AB] == (SIZE, SIZE, 2) and shapes[unet_arch.HINT_MASK] == (SIZE, SIZE, 1)
    assert unet_arch.takes_hints(decoder)
    assert not unet_arch.takes_hints(unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS))
    rng = np.random.default_rng(0)
    shapes = unet_arch.input_shapes(SIZE, CHANNELS, hints=True)
    inputs = {name: rng.normal(size=(2, *shape)).astype("float32") for name, shape in shapes.items()}
    assert tuple(decoder(inputs).shape) == (2, SIZE, SIZE, 2)
    for skip in unet_arch.SKIPS:  # the hints join every skip stage, averaged over its cells
        pooled = decoder.get_layer(f"{skip}_hints").output
        assert tuple(pooled.shape[1:]) == (SIZE // unet_arch.STRIDES[skip],) * 2 + (3,)


def test_simulated_hints_hold_the_mean_true_colour_of_their_patches() -> None:
    rng = np.random.default_rng(1)
    ab = rng.uniform(-0.5, 0.5, size=(400, 32, 32, 2)).astype("float32")
    hint_ab, mask = hints.simulate_hints(ab, np.random.default_rng(2))
    assert hint_ab.shape == ab.shape and mask.shape == (400, 32, 32, 1)
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert np.all(hint_ab[mask[..., 0] == 0] == 0)
    without = np.mean(mask.reshape(400, -1).max(axis=1) == 0)
    assert abs(without - hints.NO_HINT_PROBABILITY) < 0.07  # a quarter of the photos: no hint
    # A lone 1-pixel patch holds that pixel's colour; a larger patch a mean within the photo's range.
    covered = mask[..., 0] == 1
    assert np.all(np.abs(hint_ab[covered]) <= 0.5 + 1e-6)
    again = hints.simulate_hints(ab, np.random.default_rng(2))
    np.testing.assert_array_equal(again[1], mask)  # the same seed, the same hints


def test_hint_planes_put_each_users_point_where_it_belongs_at_the_model_size() -> None:
    point = hints.Hint(x=300.0, y=50.0, ab=(0.2, -0.3))
    hint_ab, mask = hints.hint_planes([point], photo_size=(600, 400), image_size=64)
    rows, cols = np.nonzero(mask[..., 0])
    assert abs(cols.mean() - 32) <= 1 and abs(rows.mean() - 8) <= 1  # x/600·64, y/400·64
    np.testing.assert_allclose(hint_ab[rows[0], cols[0]], (0.2, -0.3))
    empty_ab, empty_mask = hints.hint_planes([], (600, 400), 64)
    assert not empty_ab.any() and not empty_mask.any()
    with pytest.raises(ValueError, match="outside the photo"):
        hints.hint_planes([hints.Hint(600.0, 10.0, (0, 0))], (600, 400), 64)


def test_a_hints_file_is_read_and_a_colour_gives_its_ab(tmp_path: Path) -> None:
    path = tmp_path / "hints.json"
    path.write_text(
        json.dumps([{"x": 10, "y": 5.5, "color": "#ff0000"}, {"x": 0, "y": 0, "color": "#808080"}])
    )
    red, gray = hintfile.read_hints(path, (20, 10))
    assert red.x == 10 and red.y == 5.5 and red.ab[0] > 0.5  # sRGB red: a ≈ +80
    assert np.allclose(gray.ab, 0, atol=1e-3)
    text = hintfile.hints_json([(10, 5.5, "#ff0000")])
    assert json.loads(text) == [{"x": 10, "y": 5.5, "color": "#ff0000"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON .* A hints file is a JSON list"),
        ("[" * 100_000, "nested too deeply"),
        ('{"x": 1}', "must be a JSON list"),
        ('[{"x": 1, "y": 1, "color": "#00ff00"}, 5]', "entry 2: 5 is not an object"),
        ('[{"x": 1, "color": "#00ff00"}]', "entry 1: y missing"),
        ('[{"x": "1", "y": 1, "color": "#00ff00"}]', "entry 1: x and y must be numbers"),
        ('[{"x": 25, "y": 1, "color": "#00ff00"}]', r"entry 1: \(25, 1\) is outside the photo \(20 × 10"),
        ('[{"x": 1, "y": 1, "color": "green"}]', "entry 1: 'green' is not a colour written #rrggbb"),
    ],
)
def test_bad_hints_files_are_refused_naming_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "hints.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        hintfile.read_hints(path, (20, 10))
    with pytest.raises(FileNotFoundError, match="No hints file"):
        hintfile.read_hints(tmp_path / "missing.json", (20, 10))


def two_region_photos(count: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Photos of two regions (left dark, right light), each one of two colours at random; the
    features are the region layout pooled to each stride, as an encoder would see it."""
    l_norm = np.where(np.arange(SIZE)[None, None, :, None] < SIZE // 2, 0.3, 0.7) * np.ones(
        (count, SIZE, 1, 1)
    )
    signs = rng.choice([-1.0, 1.0], size=(count, 2))
    ab = np.where(l_norm < 0.5, signs[:, :1, None, None], signs[:, 1:, None, None]) * 0.4 * np.ones(2)
    inputs = {unet_arch.L_INPUT: l_norm.astype("float32")}
    for name, width in CHANNELS.items():
        k = unet_arch.STRIDES[name]
        pooled = l_norm.reshape(count, SIZE // k, k, SIZE // k, k).mean(axis=(2, 4))[..., None]
        inputs[name] = np.repeat(pooled, width, axis=-1).astype("float32")
    return inputs, ab.astype("float32")


@pytest.mark.slow
def test_a_hint_changes_the_colour_of_its_region_and_little_elsewhere() -> None:
    import keras

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, hints=True)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    for _ in range(400):  # with hints simulated as in training
        inputs, ab = two_region_photos(16, rng)
        model.train_on_batch(hints.with_simulated_hints(inputs, ab, rng), ab)

    photos, _ = two_region_photos(8, np.random.default_rng(5))
    halves = (slice(0, SIZE // 2), slice(SIZE // 2, SIZE))

    def colours(given: list[hints.Hint]) -> np.ndarray:
        """The mean ab of each region over the 8 photos, with the same hints on each."""
        hint_ab, mask = hints.hint_planes(given, (SIZE, SIZE), SIZE)
        planes = {
            unet_arch.HINT_AB: np.repeat(hint_ab[None], 8, 0),
            unet_arch.HINT_MASK: np.repeat(mask[None], 8, 0),
        }
        ab = model.predict_on_batch({**photos, **planes})
        return np.array([ab[:, :, half].mean() for half in halves])

    automatic = colours([])
    for hint, region in ((hints.Hint(10.0, 30.0, (0.4, 0.4)), 0), (hints.Hint(50.0, 20.0, (-0.4, -0.4)), 1)):
        change = colours([hint]) - automatic
        assert abs(change[region]) > 0.15 and np.sign(change[region]) == np.sign(hint.ab[0])
        assert abs(change[1 - region]) < 0.3 * abs(change[region]), change


@pytest.fixture(scope="module")
def hint_colorizer(tmp_path_factory) -> Path:
    """A small hint colorizer (random Lite0 encoder, hint-aware U-Net with a random ab head), saved."""
    import keras

    from colorlib.archs import colorizer_arch

    keras.utils.set_random_seed(3)
    encoder = colorizer_arch.build_encoder(None, SIZE, "efficientnet_lite0")
    channels = unet_arch.feature_channels(colorizer_arch.multiscale_encoder(encoder))
    decoder = unet_arch.build_unet(SIZE, channels, None, filters=FILTERS, hints=True)
    head = decoder.get_layer("ab")  # zero-initialized: give it weights, so that the output moves
    rng = np.random.default_rng(0)
    head.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in head.get_weights()])
    path = tmp_path_factory.mktemp("hint-model") / "hints.keras"
    colorizer_arch.build_colorizer(encoder, decoder).save(path)
    return path


def test_a_hint_colorizer_is_saved_loaded_and_colours_with_and_without_hints(hint_colorizer: Path) -> None:
    from colorlib.archs import colorizer_arch
    from colorlib.colorize import colorize

    model = colorize.load_colorizer(hint_colorizer)
    assert fullres.takes_hints(model)
    photo = (np.random.default_rng(1).uniform(0, 255, (40, 60, 3))).astype(np.uint8)
    automatic = fullres.colorize_array(model, photo)
    assert np.array_equal(fullres.colorize_array(model, photo, hints=[]), automatic)
    hinted = fullres.colorize_array(model, photo, hints=[hints.Hint(30.0, 20.0, (0.5, 0.5))])
    assert hinted.shape == photo.shape and not np.array_equal(hinted, automatic)
    encoder, _ = colorizer_arch.split_colorizer(model)
    channels = unet_arch.feature_channels(colorizer_arch.multiscale_encoder(encoder))
    plain = colorizer_arch.build_colorizer(
        encoder, unet_arch.build_unet(SIZE, channels, None, filters=FILTERS)
    )
    with pytest.raises(ValueError, match="trained without hints"):
        fullres.colorize_array(plain, photo, hints=[hints.Hint(30.0, 20.0, (0.5, 0.5))])


def test_colorize_takes_a_hints_file_for_one_photo_and_says_what_is_wrong(
    hint_colorizer: Path, small_colorizer, tmp_path: Path, capsys
) -> None:
    from PIL import Image

    from colorlib import cli

    photo = tmp_path / "in" / "old.png"
    photo.parent.mkdir()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (30, 50), dtype=np.uint8)).save(photo)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps([{"x": 10, "y": 10, "color": "#2050d0"}]))
    bad.write_text(
        json.dumps([{"x": 10, "y": 10, "color": "#2050d0"}, {"x": 60, "y": 5, "color": "#ffffff"}])
    )
    out = tmp_path / "out"
    base = ["colorize", str(photo), "--out", str(out), "--model", str(hint_colorizer)]
    assert cli.main([*base, "--hints", str(good)]) == 0
    with Image.open(out / "old.png") as written:
        assert written.size == (50, 30)
    assert cli.main([*base, "--hints", str(bad)]) == 2
    assert "entry 2: (60, 5) is outside the photo (50 × 30 pixels)" in capsys.readouterr().err
    plain = tmp_path / "plain.keras"
    small_colorizer.save(plain)
    assert (
        cli.main(["colorize", str(photo), "--out", str(out), "--model", str(plain), "--hints", str(good)])
        == 2
    )
    assert "trained without hints" in capsys.readouterr().err
    shipped = tmp_path / "shipped"  # the colorizer that ships with colorlib takes hints
    assert cli.main(["colorize", str(photo), "--out", str(shipped), "--hints", str(good)]) == 0
    with Image.open(shipped / "old.png") as written:
        assert written.size == (50, 30)
    two = ["colorize", str(photo), str(photo), "--out", str(out), "--model", str(hint_colorizer)]
    assert cli.main([*two, "--hints", str(good)]) == 2
    assert "--hints takes one photo" in capsys.readouterr().err


@pytest.mark.slow
def test_a_hints_run_trains_with_simulated_hints_and_colorizes_without_any(tmp_path: Path) -> None:
    from test_workflow import colour_photos, run_params

    from colorlib import workflow

    photos = colour_photos(tmp_path / "photos", 10, seed=4)
    params = run_params(
        tmp_path, photos[0].parent, "hints", encoder="efficientnet_lite0", decoder="unet", hints=True
    )
    workflow.prepare_dataset(params, progress=False)
    workflow.extract_run_features(params, workflow.build_run_encoder(params), progress=False)
    train, validation = workflow.training_datasets(params)
    inputs, _ = train[0]
    assert inputs[unet_arch.HINT_MASK].shape[1:] == (64, 64, 1)
    np.testing.assert_array_equal(
        validation[0][0][unet_arch.HINT_MASK], validation[0][0][unet_arch.HINT_MASK]
    )
    workflow.train_run(params, verbose=0)
    assert fullres.takes_hints(workflow.load_run_model(params))
    outputs = workflow.colorize_run(params, progress=False)
    assert len(outputs["test"]) == len(workflow.load_split(params)["test"])
    with pytest.raises(ValueError, match="hints=true needs decoder=unet"):
        run_params(tmp_path, photos[0].parent, "bad", hints=True)


def test_the_floor_takes_a_hints_colour_near_it_on_its_side_of_an_edge() -> None:

    size = 64
    l_norm = np.where(np.arange(size)[None, :, None] < 32, 0.3, 0.8) * np.ones((size, 1, 1), np.float32)
    ab = np.zeros((size, size, 2), np.float32)
    np.testing.assert_array_equal(hints.propagate_hints(l_norm, ab, []), ab)
    fixed = hints.propagate_hints(l_norm, ab, [hints.Hint(10.0, 10.0, (0.5, -0.5))])
    np.testing.assert_allclose(fixed[10, 10], (0.5, -0.5), atol=1e-6)  # at the point: the hint's colour
    assert fixed[12, 14, 0] > 0.4  # near it, same side of the edge
    assert fixed[10, 40, 0] < 0.05  # across the edge (L 0.3 -> 0.8: 50 units, σ 10)
    assert fixed[60, 28, 0] < 0.25 * fixed[12, 14, 0]  # far away on its own side (σ 10 px at 64)


def test_the_hint_curve_scores_every_method_at_every_count(hint_colorizer: Path, tmp_path: Path) -> None:
    from PIL import Image

    from colorlib.colorize import colorize
    from colorlib.evaluation import hintcurve

    model = colorize.load_colorizer(hint_colorizer)
    photos = []
    for k in range(3):
        photos.append(tmp_path / f"p{k}.png")
        Image.fromarray(np.random.default_rng(k).integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(
            photos[-1]
        )
    rows = hintcurve.hint_curve(model, photos, hint_model=model, counts=(0, 2, 20), size=SIZE, progress=False)
    assert [(r["method"], r["hints"]) for r in rows] == [
        (method, n) for n in (0, 2, 20) for method in ("automatic + floor", "hint model")
    ]
    floor = {r["hints"]: r for r in rows if r["method"] == "automatic + floor"}
    assert floor[20]["psnr"] > floor[0]["psnr"]  # hints from the truth bring the floor closer to it
    assert all(r["n"] == 3 for r in rows)
    assert "| hint model | 20 |" in hintcurve.curve_markdown(rows)
    again = hintcurve.hint_curve(model, photos, counts=(0, 2), size=SIZE, progress=False)
    assert again[1]["psnr"] == floor[2]["psnr"]  # the same seeded hints


def test_the_editor_encodes_once_and_each_edit_matches_the_whole_colorizer(hint_colorizer: Path) -> None:
    """``colorlib serve``'s editor runs only the decoder per edit, and gets what the colorizer gets."""
    from colorlib.colorize import colorize, editing

    model = colorize.load_colorizer(hint_colorizer)
    photo = (np.random.default_rng(4).uniform(0, 255, (40, 60, 3))).astype(np.uint8)
    editor = editing.PhotoEditor(model, photo, preview_side=30)
    assert editor.hints_by == editing.BY_MODEL and editor.preview.shape == (20, 30, 3)
    given = [hints.Hint(30.0, 20.0, (0.5, 0.5)), hints.Hint(5.0, 35.0, (-0.4, 0.2))]
    for points in ([], given):
        np.testing.assert_allclose(
            editor.render(points, full_resolution=True),
            fullres.colorize_array(model, photo, hints=points),
            atol=1,
        )
    assert not np.array_equal(editor.ab(given), editor.automatic_ab)
    with pytest.raises(ValueError, match="outside the photo"):
        editor.ab([hints.Hint(60.0, 0.0, (0, 0))])


def test_the_hint_curve_chart_draws_each_method_and_set_and_refuses_nothing_to_draw() -> None:
    from colorlib.reports import charts

    rows = [
        {"method": method, "hints": count, "psnr": 22.0 + count / 10, "delta_colorfulness": 9.0, "auc": 90.0}
        for method in ("automatic + floor", "hint model")
        for count in (0, 1, 10)
    ]
    figure = charts.hint_curve_chart({"test": rows, "kodak24": rows})
    assert len(figure.axes) == 3 and len(figure.axes[0].lines) == 4  # 2 methods × 2 sets
    with pytest.raises(ValueError, match="no hint scores"):
        charts.hint_curve_chart({"test": []})


def test_a_hint_run_names_the_same_unet_without_hints_and_is_told_when_it_is_missing(tmp_path: Path) -> None:
    from colorlib.core.params import Params
    from colorlib.workflow import hintscores

    params = Params(decoder="unet", hints=True, hints_baseline_run="plain", data_dir=str(tmp_path))
    baseline = hintscores.automatic_params(params)
    assert (baseline.run_name, baseline.hints) == ("plain", False)
    assert hintscores.automatic_params(Params(decoder="unet")).run_name == Params(decoder="unet").run_name
    with pytest.raises(FileNotFoundError, match="run 'plain', which has no colorizer"):
        hintscores.curves(params)


def test_the_hint_curve_scores_the_test_photos_and_each_benchmark_resolved_from_the_checkout(
    tmp_path: Path, monkeypatch
) -> None:
    import os

    from PIL import Image

    from colorlib import workflow
    from colorlib.core.config import project_root
    from colorlib.core.params import Params
    from colorlib.workflow import hintscores

    bench = tmp_path / "kodak"
    bench.mkdir()
    for index in range(3):
        Image.new("RGB", (8, 8), (index * 40, 20, 90)).save(bench / f"k{index}.png")
    monkeypatch.setattr(workflow, "load_split", lambda params: {"test": ["a.png", "b.png", "c.png"]})
    monkeypatch.chdir(tmp_path)  # as a notebook's kernel, away from the checkout
    params = Params(benchmark=[os.path.relpath(bench, project_root())])
    sets = hintscores.scored_sets(params, photos=2)
    assert sets == {"test": ["a.png", "b.png"], "kodak": [str(bench / "k0.png"), str(bench / "k1.png")]}


def coloured_plain_unet() -> tuple:
    """A U-Net without hints whose zero-initialized ab head has random weights (so it colours), and
    the random generator that drew them: ``(decoder, rng)``."""
    import keras

    keras.utils.set_random_seed(5)
    plain = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS)
    head = plain.get_layer("ab")
    rng = np.random.default_rng(1)
    head.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in head.get_weights()])
    return plain, rng


def test_a_hint_unet_warm_started_from_a_plain_one_colours_the_same_without_hints() -> None:
    """init_run: the hint planes' weights start at zero, so 0 hints give the plain U-Net's colours."""
    plain, rng = coloured_plain_unet()
    hinted = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS, hints=True)
    grown = unet_arch.warm_start(hinted, plain)
    assert grown  # the convolutions after the concatenations the hints join
    inputs, ab = two_region_photos(4, rng)
    zeros = {"hint_ab": np.zeros_like(ab), "hint_mask": np.zeros_like(ab[..., :1])}
    np.testing.assert_allclose(
        hinted.predict_on_batch({**inputs, **zeros}), plain.predict_on_batch(inputs), atol=1e-5
    )
    with pytest.raises(ValueError, match="cannot start"):
        unet_arch.warm_start(unet_arch.build_unet(SIZE, CHANNELS, None, filters=(8, 8, 8, 8, 4)), plain)
