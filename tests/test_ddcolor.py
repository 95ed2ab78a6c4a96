"""loss: ddcolor: each of its terms moves a tiny model the way it should; a run resumes after kill -9."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from test_gan import CHANNELS, FILTERS, SIZE, kill_and_resume, tiny_batches

from colorlib.archs import discriminator_arch, efficientnet_weights, perceptual_arch, unet_arch
from colorlib.color import lab, labops
from colorlib.core.io import read_json, write_json
from colorlib.evaluation import metrics
from colorlib.losses import ddcolor
from colorlib.training import fitting, gan

STEPS = 30


def tiny_trainer(weights: ddcolor.LossWeights, perceptual=None, color_enhance: float = 1.0) -> gan.GANTrainer:
    keras.utils.set_random_seed(0)
    decoder = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS)
    discriminator = discriminator_arch.build_discriminator(SIZE, (8, 16, 16)) if weights.adversarial else None
    trainer = gan.GANTrainer(
        decoder, discriminator, 1e-3, weights=weights, perceptual=perceptual, color_enhance=color_enhance
    )
    trainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    return trainer


def only(term: str, weight: float = 1.0) -> ddcolor.LossWeights:
    values = {"l1": 0.0, "perceptual": 0.0, "adversarial": 0.0, "colorfulness": 0.0, term: weight}
    return ddcolor.LossWeights(**values)


def tiny_perceptual() -> keras.Model:
    """A small random frozen network with four stages, strides 4 to 32, like Lite0's."""
    keras.utils.set_random_seed(1)
    rgb = keras.Input((SIZE, SIZE, 3))
    x, outputs = rgb, []
    for stride in (4, 2, 2, 2):
        x = keras.layers.Conv2D(8, 3, strides=stride, padding="same", activation="relu")(x)
        outputs.append(x)
    network = keras.Model(rgb, outputs)
    network.trainable = False
    return network


def fit_steps(trainer: gan.GANTrainer, inputs, ab, steps: int = STEPS) -> None:
    for _ in range(steps):
        trainer.train_on_batch(inputs, ab)


def rgb_of(trainer: gan.GANTrainer, inputs) -> np.ndarray:
    return keras.ops.convert_to_numpy(labops.lab_to_rgb(inputs["l"], trainer(inputs)))


def test_lab_to_rgb_in_ops_matches_scikit_image_and_colorfulness_matches_the_metric() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.uniform(size=(2, 16, 16, 3)).astype("float32")
    labs = np.stack([lab.rgb_to_lab(image) for image in rgb])
    l_norm, ab_norm = labs[..., :1] / 100.0, labs[..., 1:] / 128.0
    back = keras.ops.convert_to_numpy(labops.lab_to_rgb(l_norm, ab_norm))
    np.testing.assert_allclose(back, rgb, atol=2e-3)
    ours = keras.ops.convert_to_numpy(labops.colorfulness(back)) * 255.0
    reference = [metrics.colorfulness(lab.to_uint8(image)) for image in back]
    np.testing.assert_allclose(ours, reference, rtol=0.02)
    assert (
        float(keras.ops.convert_to_numpy(labops.colorfulness(np.full((1, 8, 8, 3), 0.5, "float32")))[0])
        < 1e-3
    )


def test_color_enhance_scales_and_clips_ab_and_refuses_nonsense() -> None:
    ab = np.array([[0.1, -0.5, 0.9]], dtype="float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ddcolor.enhance_ab(ab, 1.2)), [[0.12, -0.6, 1.0]], atol=1e-6
    )
    assert ddcolor.enhance_ab(ab, 1.0) is ab
    with pytest.raises(ValueError, match="positive"):
        ddcolor.enhance_ab(ab, 0.0)
    with pytest.raises(ValueError, match="0 \\(off\\) or positive"):
        ddcolor.LossWeights(l1=-1.0)


def test_the_l1_term_brings_the_colours_towards_the_true_ab_not_the_enhanced_ones() -> None:
    inputs, ab = tiny_batches(4)
    # As in DDColor, color_enhance changes what the perceptual term and the discriminator see,
    # not L1's target.
    trainer = tiny_trainer(only("l1"), color_enhance=1.5)
    before = np.abs(keras.ops.convert_to_numpy(trainer(inputs)) - ab).mean()
    fit_steps(trainer, inputs, ab)
    fake = keras.ops.convert_to_numpy(trainer(inputs))
    assert np.abs(fake - ab).mean() < 0.7 * before
    logged = trainer.evaluate(inputs, ab, batch_size=len(ab), verbose=0, return_dict=True)["l1"]
    assert logged == pytest.approx(float(np.abs(fake - ab).mean()), rel=1e-4)
    assert logged != pytest.approx(float(np.abs(fake - np.clip(ab * 1.5, -1, 1)).mean()), rel=1e-2)
    assert set(trainer.trackers) == {"loss", "l1"} and trainer.discriminator is None


def test_the_colorfulness_term_raises_colorfulness() -> None:
    inputs, ab = tiny_batches(4)
    trainer = tiny_trainer(only("colorfulness"))
    before = keras.ops.convert_to_numpy(labops.colorfulness(rgb_of(trainer, inputs))).mean()
    fit_steps(trainer, inputs, ab)
    after = keras.ops.convert_to_numpy(labops.colorfulness(rgb_of(trainer, inputs))).mean()
    assert after > before + 0.05


def test_the_default_colorfulness_weight_keeps_ddcolors_balance_with_a_batch_mean() -> None:
    from colorlib.core.params import Params

    # DDColor: 0.5 × Σ over each process's batch of 4 of (1 − colorfulness), gradients averaged over
    # its 4 processes; colorlib: weight × the batch mean.
    rgb = np.random.default_rng(0).uniform(size=(ddcolor.DDCOLOR_BATCH_PER_GPU, 8, 8, 3)).astype("float32")
    ddcolors = 0.5 * float(np.sum(1.0 - keras.ops.convert_to_numpy(labops.colorfulness(rgb))))
    ours = ddcolor.LossWeights().colorfulness * float(
        keras.ops.convert_to_numpy(ddcolor.colorfulness_loss(rgb))
    )
    assert ours == pytest.approx(ddcolors, rel=1e-5)
    assert Params().colorfulness_weight == ddcolor.LossWeights().colorfulness


def test_the_default_l1_weight_keeps_ddcolors_balance_on_normalized_ab() -> None:
    from colorlib.core.params import Params

    # DDColor: 0.1 × mean |Δab| in CIE units; colorlib: weight × mean |Δab| on ab / AB_SCALE.
    rng = np.random.default_rng(1)
    true_cie, fake_cie = rng.uniform(-100, 100, size=(2, 4, 8, 8, 2)).astype("float32")
    ddcolors = 0.1 * float(np.mean(np.abs(true_cie - fake_cie)))
    ours = ddcolor.LossWeights().l1 * float(
        keras.ops.convert_to_numpy(ddcolor.l1_loss(lab.normalize_ab(true_cie), lab.normalize_ab(fake_cie)))
    )
    assert ours == pytest.approx(ddcolors, rel=1e-5)
    assert Params().l1_weight == ddcolor.LossWeights().l1


def test_the_perceptual_term_brings_the_features_of_the_colours_towards_the_truth() -> None:
    inputs, ab = tiny_batches(4)
    network = tiny_perceptual()
    trainer = tiny_trainer(only("perceptual"), perceptual=network)
    truth = labops.lab_to_rgb(inputs["l"], ab)

    def distance() -> float:
        return float(
            keras.ops.convert_to_numpy(ddcolor.perceptual_loss(network, truth, rgb_of(trainer, inputs)))
        )

    before = distance()
    fit_steps(trainer, inputs, ab)
    assert distance() < 0.7 * before
    assert float(keras.ops.convert_to_numpy(ddcolor.perceptual_loss(network, truth, truth))) == 0.0


def test_the_adversarial_term_moves_the_colours_towards_the_real_ones() -> None:
    inputs, _ = tiny_batches(4)
    real = np.full((4, SIZE, SIZE, 2), 0.4, dtype="float32")  # every real photo: one warm colour
    trainer = tiny_trainer(only("adversarial"))
    before = np.abs(keras.ops.convert_to_numpy(trainer(inputs)) - 0.4).mean()
    fit_steps(trainer, inputs, real, steps=120)  # it overshoots and swings back, as GANs do, then settles
    after = np.abs(keras.ops.convert_to_numpy(trainer(inputs)) - 0.4).mean()
    assert after < 0.5 * before
    assert "d_loss" in trainer.trackers


def test_the_perceptual_network_gives_lite0_features_at_four_strides() -> None:
    backbone = efficientnet_weights.build_efficientnet_lite0((SIZE, SIZE, 3), include_top=False, weights=None)
    network = perceptual_arch.perceptual_network(backbone, SIZE)
    shapes = [tuple(feature.shape[1:]) for feature in network(np.zeros((1, SIZE, SIZE, 3), "float32"))]
    assert shapes == [(16, 16, 24), (8, 8, 40), (4, 4, 112), (2, 2, 320)]
    assert not network.trainable_weights


def test_missing_networks_are_refused() -> None:
    decoder = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS)
    with pytest.raises(ValueError, match="needs a discriminator"):
        gan.GANTrainer(decoder, None, 1e-3, weights=only("adversarial"))
    with pytest.raises(ValueError, match="perceptual network"):
        gan.GANTrainer(decoder, None, 1e-3, weights=only("perceptual"))


DDCOLOR_SCRIPT = textwrap.dedent(
    """
    import sys

    sys.path.insert(0, sys.argv[3])
    import keras
    from test_ddcolor import tiny_perceptual
    from test_gan import CHANNELS, FILTERS, SIZE, tiny_batches

    from colorlib.archs import discriminator_arch, unet_arch
    from colorlib.losses import ddcolor
    from colorlib.training import fitting, gan

    keras.utils.set_random_seed(0)
    decoder = unet_arch.build_unet(SIZE, CHANNELS, None, filters=FILTERS)
    trainer = gan.GANTrainer(
        decoder,
        discriminator_arch.build_discriminator(SIZE, (8, 16, 16)),
        1e-3,
        weights=ddcolor.LossWeights(),
        perceptual=tiny_perceptual(),
        color_enhance=1.2,
        d_optimizer=keras.optimizers.AdamW(1e-3),
    )
    trainer.compile(optimizer=keras.optimizers.AdamW(1e-3))
    inputs, ab = tiny_batches(8)
    result = fitting.train(
        trainer, (inputs, ab), (inputs, ab), sys.argv[1], epochs=int(sys.argv[2]), batch_size=4, verbose=0
    )
    print(f"initial_epoch {result.initial_epoch} completed {result.epochs_completed}")
    print(f"d_iterations {int(trainer.d_optimizer.iterations.numpy())}")
    """
)


@pytest.mark.slow
def test_a_ddcolor_training_killed_with_sigkill_resumes_from_its_last_backup(tmp_path: Path) -> None:
    history = kill_and_resume(DDCOLOR_SCRIPT, tmp_path, epochs=10)  # the discriminator's AdamW too
    assert {"l1", "perceptual", "adversarial", "colorfulness", "d_loss", "val_perceptual"} <= set(history)


@pytest.mark.slow
def test_a_ddcolor_run_fine_tunes_the_generator_of_another_run(tmp_path: Path) -> None:
    from test_workflow import colour_photos, run_params

    from colorlib import workflow
    from colorlib.archs import colorizer_arch
    from colorlib.workflow import keys

    photos = colour_photos(tmp_path / "photos", 10, seed=3)
    settings = {"encoder": "efficientnet_lite0", "decoder": "unet", "optimizer": "adamw", "patience": 1}
    mse = run_params(tmp_path, photos[0].parent, "mse", **settings, lr_schedule="cosine")
    params = run_params(tmp_path, photos[0].parent, "ddc", **settings, lr_schedule="cosine", loss="ddcolor")
    mse.epochs = params.epochs = 2
    params.gan_epochs, params.generator_run = 1, "mse"
    for run in (mse, params):
        workflow.prepare_dataset(run, progress=False)
        workflow.extract_run_features(run, workflow.build_run_encoder(run), progress=False)
    with pytest.raises(FileNotFoundError, match="Train it first"):
        workflow.train_run(params, verbose=0)  # the generator run is not trained: nothing is trained here
    assert not workflow.run_paths(mse).colorizer.exists()

    workflow.train_run(mse, verbose=0)
    assert "learning_rate" in fitting.read_history(workflow.run_paths(mse).history_csv)
    generator_key = keys.model_key(mse)
    # A new session's copy of the photos (same pixels, new file times) leaves the steps current.
    for photo in photos:
        os.utime(photo, ns=(photo.stat().st_atime_ns, photo.stat().st_mtime_ns + 10**9))
    assert keys.features_step(mse).done()
    # A features step an older colorlib wrote (its key held file times) is not: the training checks
    # the generator run's features again itself, which encodes nothing and trains nothing again.
    record = workflow.run_paths(mse).features_record
    write_json(record, read_json(record) | {"key": "written-by-an-older-colorlib"})
    assert not keys.features_step(mse).done()
    workflow.extract_run_features(params, workflow.build_run_encoder(params), progress=False)
    result = workflow.train_run(params, verbose=0)
    assert keys.features_step(mse).done()
    assert keys.model_key(mse) == generator_key  # the MSE run was not trained again
    assert workflow.run_paths(params).model_dir.name == "model-ddcolor"
    assert {"l1", "perceptual", "adversarial", "colorfulness", "d_loss"} <= set(result.history)
    tuned = colorizer_arch.split_colorizer(workflow.load_run_model(params))[1]
    pretrained = colorizer_arch.split_colorizer(workflow.load_run_model(mse))[1]
    assert any(
        not np.allclose(np.array(a), np.array(b))
        for a, b in zip(tuned.weights, pretrained.weights, strict=True)
    )
    outputs = workflow.colorize_run(params, progress=False)
    assert len(outputs["test"]) == len(workflow.load_split(params)["test"])
