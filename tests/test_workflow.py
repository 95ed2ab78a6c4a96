"""The steps of a run skip by key: a changed input redoes exactly the steps downstream of it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib import workflow
from colorlib.core import steps
from colorlib.core.params import Params
from colorlib.evaluation import baselines
from colorlib.workflow import keys

SIZE = 64


def colour_photos(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` smooth colour photos (48×48 PNG) in a flat folder."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        base = rng.integers(30, 220, size=3)
        ramp = np.linspace(0, 30, 48)[:, None, None]
        pixels = np.clip(base + ramp + rng.normal(0, 8, (48, 48, 3)), 0, 255).astype(np.uint8)
        paths.append(folder / f"photo_{index:02d}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def run_params(tmp_path: Path, dataset: Path, name: str, **values) -> Params:
    defaults = {
        "run_name": name,
        "dataset": str(dataset),
        "image_size": SIZE,
        "batch_size": 4,
        "epochs": 1,
        "encoder_weights": None,
        "validation_fraction": 0.2,
        "test_fraction": 0.2,
        "data_dir": str(tmp_path / "data"),
    }
    return Params(**(defaults | values))


def test_step_keys_change_with_any_input_and_records_are_atomic(tmp_path: Path) -> None:
    first = steps.key("features", split="a", views=2)
    assert steps.key("features", views=2, split="a") == first  # order of inputs does not matter
    assert steps.key("features", split="a", views=3) != first
    assert steps.key("training", split="a", views=2) != first
    step = steps.Step(tmp_path / "step.json", first)
    assert step.result() is None and not step.done()
    step.finish({"n": 1})
    assert step.result() == {"n": 1}
    assert steps.Step(tmp_path / "step.json", steps.key("features", split="b", views=2)).result() is None
    (tmp_path / "step.json").write_text("{truncated")
    assert step.result() is None  # a damaged record means: do the step again


def test_file_stamps_follow_the_content_not_the_file_times(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"pixels")
    before = steps.file_stamps([photo, tmp_path / "missing.png"])
    assert before[1] == (str(tmp_path / "missing.png"), -1, "")
    os.utime(photo, ns=(photo.stat().st_atime_ns + 10**9, photo.stat().st_mtime_ns + 10**9))
    assert steps.file_stamps([photo, tmp_path / "missing.png"]) == before  # a copy with new times
    photo.write_bytes(b"pixelz")  # edited in place: same size
    assert steps.file_stamps([photo])[0][2] != before[0][2]


def test_changing_the_seed_recomputes_the_mean_ab_baseline(tmp_path: Path, monkeypatch) -> None:
    photos = colour_photos(tmp_path / "photos", 10, seed=0)
    calls = []
    real_mean_ab = baselines.mean_ab

    def counting_mean_ab(paths, *args, **kwargs):
        calls.append(sorted(map(str, paths)))
        return real_mean_ab(paths, *args, **kwargs)

    monkeypatch.setattr(baselines, "mean_ab", counting_mean_ab)
    params = run_params(tmp_path, photos[0].parent, "seeds", seed=1)
    workflow.prepare_dataset(params, progress=False)
    first = workflow.training_mean_ab(params, progress=False)
    assert workflow.training_mean_ab(params, progress=False) == first and len(calls) == 1

    reseeded = run_params(tmp_path, photos[0].parent, "seeds", seed=2)
    workflow.prepare_dataset(reseeded, progress=False)
    second = workflow.training_mean_ab(reseeded, progress=False)
    assert len(calls) == 2 and calls[0] != calls[1], "a new seed, a new split, a new mean ab"
    assert second != first


@pytest.mark.slow
def test_changing_one_photo_redoes_its_features_and_training_but_not_the_split(tmp_path: Path) -> None:
    photos = colour_photos(tmp_path / "photos", 10, seed=0)
    other_photos = colour_photos(tmp_path / "other", 10, seed=1)
    params = run_params(tmp_path, photos[0].parent, "edited", views=2)
    unrelated = run_params(tmp_path, other_photos[0].parent, "unrelated", views=2)

    def run_to_training(run: Params):
        workflow.prepare_dataset(run, progress=False)
        encoder = workflow.build_run_encoder(run)
        indexes = workflow.extract_run_features(run, encoder, progress=False)
        workflow.train_run(run, verbose=0)
        return indexes

    run_to_training(params)
    run_to_training(unrelated)
    paths, other = workflow.run_paths(params), workflow.run_paths(unrelated)
    watched = [paths.split_json, paths.dataset_json, other.split_json, other.colorizer, other.history_csv]
    stamps = {path: path.stat().st_mtime_ns for path in watched}
    model_before = paths.colorizer.stat().st_mtime_ns

    # Nothing changed: every step is read back.
    features_record = paths.features_dir / "step.json"
    features_before = features_record.stat().st_mtime_ns
    run_to_training(params)
    assert features_record.stat().st_mtime_ns == features_before
    assert paths.colorizer.stat().st_mtime_ns == model_before

    edited = Path(workflow.load_split(params)["train"][0])
    pixels = np.asarray(Image.open(edited)).copy()
    pixels[:8] = 255 - pixels[:8]
    Image.fromarray(pixels).save(edited)

    indexes = run_to_training(params)
    assert indexes["train"].stats["computed"] == params.views, "only the edited photo's views"
    assert indexes["validation"].stats["computed"] == 0
    assert features_record.stat().st_mtime_ns != features_before
    assert paths.colorizer.stat().st_mtime_ns != model_before, "the model is trained again"
    run_to_training(unrelated)
    assert {path: path.stat().st_mtime_ns for path in watched} == stamps, "splits and the other run kept"


def test_photos_restored_with_new_times_keep_the_trained_model(tmp_path: Path) -> None:
    """The shared photos are a fresh copy every session: new file times, the same pixels. Steps are
    keyed on the photos' content, so nothing is encoded, trained or colorized again (and a run cut
    off mid-way resumes from its backup instead of starting over)."""
    photos = colour_photos(tmp_path / "photos", 8, seed=2)
    params = run_params(tmp_path, photos[0].parent, "restored")
    workflow.prepare_dataset(params, progress=False)
    encoder = workflow.build_run_encoder(params)
    workflow.extract_run_features(params, encoder, progress=False)
    workflow.train_run(params, verbose=0)
    paths = workflow.run_paths(params)
    model_before = paths.colorizer.stat().st_mtime_ns
    features_before = paths.features_record.stat().st_mtime_ns
    for photo in photos:
        os.utime(photo, ns=(photo.stat().st_atime_ns + 10**9, photo.stat().st_mtime_ns + 10**9))
    workflow.extract_run_features(params, encoder, progress=False)
    assert paths.features_record.stat().st_mtime_ns == features_before  # not even checked again
    workflow.train_run(params, verbose=0)
    assert paths.colorizer.stat().st_mtime_ns == model_before
    outputs = workflow.colorize_run(params, progress=False)["test"]
    colorized = {path: path.stat().st_mtime_ns for path in outputs}
    for photo in photos:
        os.utime(photo, ns=(photo.stat().st_atime_ns + 10**9, photo.stat().st_mtime_ns + 10**9))
    again = workflow.colorize_run(params, progress=False)["test"]
    assert colorized and {path: path.stat().st_mtime_ns for path in again} == colorized  # not colorized again


@pytest.mark.slow
def test_a_run_with_the_lite0_encoder_trains_and_colorizes(tmp_path: Path) -> None:
    photos = colour_photos(tmp_path / "photos", 10, seed=2)
    params = run_params(tmp_path, photos[0].parent, "lite0", encoder="efficientnet_lite0")
    workflow.prepare_dataset(params, progress=False)
    encoder = workflow.build_run_encoder(params)
    assert encoder.output_shape[-1] == 1280
    indexes = workflow.extract_run_features(params, encoder, progress=False)
    assert indexes["train"].encoder != ""
    result = workflow.train_run(params, verbose=0)
    assert result.epochs_completed == 1
    outputs = workflow.colorize_run(params, progress=False)
    assert len(outputs["test"]) == len(workflow.load_split(params)["test"])
    record = workflow.run_paths(params).encoder_json.read_text()
    assert '"encoder": "efficientnet_lite0"' in record


@pytest.mark.slow
@pytest.mark.parametrize("attention", [False, True])
def test_a_unet_run_caches_skips_trains_and_colorizes(tmp_path: Path, attention: bool) -> None:
    photos = colour_photos(tmp_path / "photos", 10, seed=3)
    params = run_params(
        tmp_path, photos[0].parent, "unet", encoder="efficientnet_lite0", decoder="unet", attention=attention
    )
    workflow.prepare_dataset(params, progress=False)
    encoder = workflow.build_run_encoder(params)
    indexes = workflow.extract_run_features(params, encoder, progress=False)
    assert indexes["train"].skips
    train, _ = workflow.training_datasets(params)
    inputs, ab = train[0]
    assert sorted(inputs) == ["bottleneck", "l", "stride16", "stride4", "stride8"]
    assert inputs["l"].shape == (4, SIZE, SIZE, 1) and ab.shape == (4, SIZE, SIZE, 2)
    result = workflow.train_run(params, verbose=0)
    assert result.epochs_completed == 1
    model = workflow.load_run_model(params)
    assert ("attention" in [layer.name for layer in model.get_layer("decoder").layers]) == attention
    outputs = workflow.colorize_run(params, progress=False)
    assert len(outputs["test"]) == len(workflow.load_split(params)["test"])
    seed_params = run_params(tmp_path, photos[0].parent, "unet", encoder="efficientnet_lite0")
    assert keys.features_step(seed_params).key != keys.features_step(params).key


@pytest.mark.parametrize(("loss", "expected"), [("mse", "mse"), ("huber", "Huber"), ("gan", None)])
def test_the_schemes_optimizer_and_loss_are_what_notebook_03_compiles_with(loss: str, expected) -> None:
    params = Params(learning_rate=3e-4, loss=loss, decoder="unet")
    model = workflow.run_model(params)
    optimizer = model.optimizer()
    assert float(optimizer.learning_rate) == pytest.approx(3e-4)
    assert float(optimizer.beta_1) == (0.5 if loss == "gan" else 0.9)
    chosen = model.loss(workflow.build_inputs(params))
    if expected == "Huber":
        assert type(chosen).__name__ == "Huber"
    else:
        assert chosen == expected


@pytest.mark.parametrize(("loss", "expected"), [("mse", 5), ("huber", 5), ("gan", None), ("ddcolor", None)])
def test_patience_stops_the_generators_training_not_the_adversarial_epochs(loss: str, expected) -> None:
    params = Params(loss=loss, gan_from="mse", decoder="unet", patience=5)
    model = workflow.run_model(params)
    assert model.patience == expected
    start = model.start()
    if start is not None:
        assert workflow.run_model(start.params).patience == 5  # the generator's training keeps it
