"""Colour as classes (loss: classification): bins, soft targets, rebalancing, annealed mean, fitting."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from skimage import color
from test_training import SIZE, train_and_score
from test_unet import unet_texture_task
from test_workflow import colour_photos, run_params

from colorlib import cli, losses, workflow
from colorlib.archs import annealed_mean, colorizer_arch, seed_arch, unet_arch
from colorlib.color import colorclasses
from colorlib.core.config import AB_SCALE, SEED
from colorlib.core.params import Params
from colorlib.losses import classification
from colorlib.training import fitting
from colorlib.workflow import keys

#: The bins derived from the sRGB gamut (Zhang et al. count 313 from the ab cells ImageNet's
#: pixels fall into; here a bin's centre itself must be an sRGB colour for some L).
BIN_COUNT = 229
BIN_CHECKSUM = "f8a88ace38237522"


def test_bins_are_pinned_on_the_grid_and_in_gamut_for_some_lightness() -> None:
    centres = colorclasses.bin_centres()
    assert centres.shape == (BIN_COUNT, 2) and centres.dtype == np.float32
    assert colorclasses.bin_count() == BIN_COUNT
    assert hashlib.sha256(centres.tobytes()).hexdigest()[:16] == BIN_CHECKSUM
    assert np.all(centres % colorclasses.GRID_STEP == 0)
    assert [0.0, 0.0] in centres.tolist()
    lightness = np.linspace(0, 100, colorclasses.GAMUT_L_STEPS)
    lab = np.stack(np.broadcast_arrays(lightness[:, None], centres[None, :, 0], centres[None, :, 1]), -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rgb = color.lab2rgb(lab)  # clips out-of-gamut colours; the round trip shows which were clipped
    round_trip_error = np.abs(color.rgb2lab(rgb) - lab).max(axis=-1)
    assert np.all(round_trip_error.min(axis=0) < 0.01)


def test_soft_encoding_puts_most_weight_on_the_nearest_bin() -> None:
    ab = np.array([[52.0, 41.0], [-3.0, 2.0]], dtype=np.float32) / AB_SCALE
    target = np.asarray(colorclasses.soft_encode(ab))
    assert target.shape == (2, BIN_COUNT)
    np.testing.assert_allclose(target.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all((target > 0).sum(axis=-1) == colorclasses.SOFT_NEIGHBOURS)
    centres = colorclasses.bin_centres()
    assert centres[target[0].argmax()].tolist() == [50.0, 40.0] and target[0].max() > 0.5
    assert centres[target[1].argmax()].tolist() == [0.0, 0.0]
    assert np.asarray(colorclasses.nearest_bin(ab)).tolist() == list(target.argmax(axis=-1))


def test_annealed_mean_gives_the_mode_when_cold_and_the_mean_at_one() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, BIN_COUNT)).astype(np.float32)
    logits[:, 7] += 3.0
    centres = colorclasses.bin_centres()
    cold = np.asarray(annealed_mean.AnnealedMean(temperature=1e-3)(logits)) * AB_SCALE
    np.testing.assert_allclose(cold, centres[logits.argmax(axis=-1)], atol=1e-3)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    warm = np.asarray(annealed_mean.AnnealedMean(temperature=1.0)(logits)) * AB_SCALE
    np.testing.assert_allclose(warm, probabilities @ centres, atol=1e-3)
    with pytest.raises(ValueError, match="positive"):
        annealed_mean.AnnealedMean(temperature=0.0)


def test_rebalancing_weights_have_expectation_one_and_favour_rare_colours() -> None:
    ab = np.zeros((4, 16, 16, 2), dtype=np.float32)
    ab[:3] = np.array([52.0, 41.0]) / AB_SCALE  # mostly red, some gray
    counts = colorclasses.bin_histogram(ab)
    assert counts.sum() == 4 * 4 * 4 and counts.max() == 48
    smoothed = colorclasses.smoothed_distribution(counts)
    weights = colorclasses.rebalancing_weights(counts)
    assert np.sum(smoothed * weights) == pytest.approx(1.0)
    gray, red = np.asarray(colorclasses.nearest_bin(np.array([[0.0, 0.0], [52.0, 41.0]]) / AB_SCALE))
    assert weights[gray] > weights[red]
    with pytest.raises(ValueError, match="bin counts"):
        colorclasses.rebalancing_weights(np.zeros(BIN_COUNT))


def test_classification_loss_is_lowest_for_logits_of_the_target_bins() -> None:
    ab = np.full((1, 8, 8, 2), 0.3, dtype=np.float32)
    loss = classification.ClassificationLoss(np.ones(BIN_COUNT))
    target_logits = np.log(np.asarray(colorclasses.soft_encode(ab[:, ::4, ::4])) + 1e-9)
    uniform = float(loss(ab, np.zeros((1, 2, 2, BIN_COUNT), dtype=np.float32)))
    assert float(loss(ab, target_logits)) < uniform
    assert uniform == pytest.approx(np.log(BIN_COUNT), rel=1e-4)
    with pytest.raises(ValueError, match="one weight per bin"):
        classification.ClassificationLoss(np.ones(3))


@pytest.mark.parametrize("decoder", ["seed", "unet"])
@pytest.mark.parametrize("encoder", ["vgg16", "efficientnet_lite0"])
def test_classification_decoders_give_logits_at_a_quarter_and_colorizers_give_ab(decoder, encoder) -> None:
    keras.utils.set_random_seed(SEED)
    plain = colorizer_arch.build_encoder(None, SIZE, encoder)
    if decoder == "unet":
        channels = unet_arch.feature_channels(colorizer_arch.multiscale_encoder(plain))
        head = unet_arch.build_unet(SIZE, channels, classes=BIN_COUNT)
    else:
        head = seed_arch.build_decoder(SIZE, channels=colorizer_arch.ENCODERS[encoder], classes=BIN_COUNT)
    assert head.output_shape == (None, SIZE // 4, SIZE // 4, BIN_COUNT) and seed_arch.is_classifier(head)
    colorizer = colorizer_arch.build_colorizer(plain, head)
    ab = colorizer.predict(np.random.default_rng(0).random((2, SIZE, SIZE, 1), dtype=np.float32), verbose=0)
    assert ab.shape == (2, SIZE, SIZE, 2) and np.all(np.abs(ab) <= 1.0)


def test_huber_and_unknown_losses() -> None:
    assert isinstance(losses.training_loss("huber"), keras.losses.Huber)
    with pytest.raises(ValueError, match="class rebalancing"):
        losses.training_loss("classification")
    with pytest.raises(ValueError, match="gan"):
        Params(loss="gan")


def _seed_classifier(tmp_path: Path) -> Path:
    keras.utils.set_random_seed(SEED)
    decoder = seed_arch.build_decoder(SIZE, channels=colorizer_arch.ENCODERS["vgg16"], classes=BIN_COUNT)
    logits = decoder.get_layer("ab_logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([kernel * 0.0, np.random.default_rng(1).normal(0, 2, bias.shape)])  # varied colours
    colorizer = colorizer_arch.build_colorizer(colorizer_arch.build_encoder(None, SIZE), decoder)
    return fitting.save_model(colorizer, tmp_path / "classes.keras")


def test_saved_classifier_round_trips_and_temperature_changes_the_colours(tmp_path: Path, capsys) -> None:
    path = _seed_classifier(tmp_path)
    l_norm = np.random.default_rng(2).random((1, SIZE, SIZE, 1), dtype=np.float32)
    built = keras.saving.load_model(path, compile=False)
    loaded = colorizer_arch.load_model(path)
    np.testing.assert_allclose(loaded.predict(l_norm, verbose=0), built.predict(l_norm, verbose=0), atol=1e-6)
    before = loaded.predict(l_norm, verbose=0)
    annealed_mean.set_temperature(loaded, 1.0)
    after = loaded.predict(l_norm, verbose=0)
    assert np.abs(after).mean() < np.abs(before).mean()  # the plain mean is less saturated

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(
        photos / "p.png"
    )
    outputs = {}
    for temperature in ("0.38", "1.0"):
        out = tmp_path / f"out{temperature}"
        args = [
            "colorize",
            str(photos),
            "--out",
            str(out),
            "--model",
            str(path),
            "--temperature",
            temperature,
        ]
        assert cli.main(args) == 0
        outputs[temperature] = np.asarray(Image.open(out / "p.png"), dtype=np.int16)
    assert np.abs(outputs["0.38"] - outputs["1.0"]).max() > 2

    regression = fitting.save_model(
        colorizer_arch.build_colorizer(
            colorizer_arch.build_encoder(None, SIZE), seed_arch.build_decoder(SIZE)
        ),
        tmp_path / "mse.keras",
    )
    args = ["colorize", str(photos), "--out", str(tmp_path / "x"), "--model", str(regression)]
    assert cli.main([*args, "--temperature", "0.5"]) == 2
    assert "no temperature" in capsys.readouterr().err


@pytest.mark.slow
def test_short_classification_training_from_random_encoder_beats_gray_baseline(tmp_path: Path) -> None:
    """The texture -> colour test of test_training and test_unet, with colour classes instead of MSE."""
    task = unet_texture_task(SIZE)
    decoder = unet_arch.build_unet(SIZE, task["channels"], task["stats"], classes=BIN_COUNT)
    weights = colorclasses.training_weights([task["train"][1]])
    decoder = losses.compile_model(decoder, 2e-3, "classification", weights)
    result, model_psnr, gray_psnr = train_and_score(
        decoder, task["encoder"], task["train"], task["validation"], *task["test"], tmp_path, epochs=16
    )
    print(f"held-out PSNR: classification {model_psnr:.2f} dB, gray baseline {gray_psnr:.2f} dB")
    assert model_psnr > gray_psnr + 3.0
    assert result.history["val_loss"][-1] < result.history["val_loss"][0]


@pytest.mark.slow
@pytest.mark.parametrize("decoder", ["seed", "unet"])
def test_a_classification_run_trains_and_colorizes_end_to_end(tmp_path: Path, decoder: str) -> None:
    photos = colour_photos(tmp_path / "photos", 10, seed=4)
    encoder_name = "efficientnet_lite0" if decoder == "unet" else "vgg16"
    params = run_params(
        tmp_path, photos[0].parent, decoder, loss="classification", decoder=decoder, encoder=encoder_name
    )
    workflow.prepare_dataset(params, progress=False)
    workflow.extract_run_features(params, workflow.build_run_encoder(params), progress=False)
    weights = workflow.class_weights(params)
    assert weights.shape == (BIN_COUNT,) and workflow.run_paths(params).class_weights.is_file()
    result = workflow.train_run(params, verbose=0)
    assert result.epochs_completed == 1
    model = workflow.load_run_model(params)
    assert annealed_mean.annealed_mean_layer(model) is not None
    outputs = workflow.colorize_run(params, progress=False)
    assert len(outputs["test"]) == len(workflow.load_split(params)["test"])
    mse = run_params(tmp_path, photos[0].parent, decoder, decoder=decoder, encoder=encoder_name)
    assert keys.training_steps(mse)[1].key != keys.training_steps(params)[1].key
