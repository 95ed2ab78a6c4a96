"""The colorizer that ships with colorlib: its weights file, SHA-256 check, choice rule and colours."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from colorlib import cli
from colorlib.colorize import pretrained
from colorlib.core.config import SEED
from colorlib.data.images import load_resized, load_rgb
from colorlib.evaluation import baselines, metrics
from colorlib.workflow import ship

#: A tiny colorizer saved in tests: 64 × 64, the seed decoder on Lite0.
SMALL_SIZE = 64


@pytest.fixture(scope="module")
def small_parts():
    """``(encoder, decoder)``: Lite0 with its packaged ImageNet weights, and a random seed decoder."""
    import keras

    from colorlib.archs import colorizer_arch, seed_arch

    keras.utils.set_random_seed(SEED)
    encoder = colorizer_arch.build_encoder("imagenet", SMALL_SIZE, "efficientnet_lite0")
    decoder = seed_arch.build_decoder(SMALL_SIZE, channels=colorizer_arch.ENCODERS["efficientnet_lite0"])
    return encoder, decoder


@pytest.fixture
def saved(tmp_path: Path, small_parts) -> Path:
    """The small colorizer saved as a shipped one, in its own folder."""
    _, decoder = small_parts
    pretrained.save_pretrained(decoder, {"encoder": "efficientnet_lite0", "image_size": SMALL_SIZE}, tmp_path)
    return tmp_path


def _l_batch(count: int = 2) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    return rng.uniform(0, 1, (count, SMALL_SIZE, SMALL_SIZE, 1)).astype("float32")


def test_a_saved_colorizer_loads_back_with_the_same_colours(saved: Path, small_parts) -> None:
    from colorlib.archs import colorizer_arch

    encoder, decoder = small_parts
    original = colorizer_arch.build_colorizer(encoder, decoder)
    loaded = pretrained.load_pretrained(saved)
    assert loaded.input_shape == (None, SMALL_SIZE, SMALL_SIZE, 1)
    assert loaded.output_shape == (None, SMALL_SIZE, SMALL_SIZE, 2)
    expected, got = (model.predict(_l_batch(), verbose=0) for model in (original, loaded))
    # float16 weights: well under one unit of ab (1/128 in these units).
    assert np.abs(expected - got).max() < 1 / 128
    manifest = pretrained.read_manifest(saved)
    assert manifest["bytes"] == pretrained.weights_path(saved).stat().st_size
    with np.load(pretrained.weights_path(saved)) as stored:
        assert {stored[name].dtype for name in stored.files if name != pretrained.CONFIG_ENTRY} == {
            np.dtype("float16")
        }


@pytest.mark.parametrize("spread", [False, True])
def test_a_hint_decoder_ships_and_loads_back_taking_hints(tmp_path: Path, small_parts, spread: bool) -> None:
    """Once a hint model ships, the shipped colorizer takes ``[L, hint_ab, hint_mask]``."""
    from colorlib.archs import colorizer_arch, unet_arch
    from colorlib.colorize import fullres

    encoder, _ = small_parts
    channels = unet_arch.feature_channels(colorizer_arch.multiscale_encoder(encoder))
    decoder = unet_arch.build_unet(
        SMALL_SIZE, channels, None, filters=(16, 8, 8, 8, 4), hints=True, spread=spread
    )
    pretrained.save_pretrained(decoder, {"encoder": "efficientnet_lite0", "image_size": SMALL_SIZE}, tmp_path)
    loaded = pretrained.load_pretrained(tmp_path)
    assert fullres.takes_hints(loaded)
    photo = np.random.default_rng(SEED).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    assert fullres.colorize_array(loaded, photo).shape == photo.shape


def test_a_changed_byte_is_refused_naming_the_file_and_its_sha256(saved: Path) -> None:
    path = pretrained.weights_path(saved)
    expected = pretrained.read_manifest(saved)["sha256"]
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01
    path.write_bytes(bytes(content))
    with pytest.raises(pretrained.PretrainedWeightsError) as raised:
        pretrained.load_pretrained(saved)
    assert str(path) in str(raised.value) and expected in str(raised.value)


def test_a_missing_manifest_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--model"):
        pretrained.load_pretrained(tmp_path)


def test_weights_over_the_limit_are_refused_before_writing(tmp_path: Path, small_parts, monkeypatch) -> None:
    monkeypatch.setattr(pretrained, "MAX_WEIGHTS_BYTES", 1000)
    with pytest.raises(ValueError, match="more than the 1,000 the package may hold"):
        pretrained.save_pretrained(
            small_parts[1], {"encoder": "efficientnet_lite0", "image_size": 64}, tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_the_shipped_colorizer_is_intact_small_and_described() -> None:
    path = pretrained.check_weights()
    assert path.stat().st_size <= pretrained.MAX_WEIGHTS_BYTES
    manifest = pretrained.read_manifest()
    assert manifest["encoder"] == "efficientnet_lite0" and manifest["params_file"]
    assert (Path(__file__).resolve().parent.parent / manifest["params_file"]).is_file()
    # It was shipped by the rule: above gray on PSNR and AuC on every set it was scored on.
    assert ship.shortfalls(manifest["scores"]) == []
    assert {"test", "kodak24", "cbsd68"} <= set(manifest["scores"])


# --- The rule -----------------------------------------------------------------------------------


def _table(model_psnr: float, model_auc: float, colorfulness: float = 20.0) -> dict:
    gray = {"psnr": 22.0, "auc": 88.0, "colorfulness": 0.0, "colorfulness_truth": 40.0}
    model = {"psnr": model_psnr, "auc": model_auc, "colorfulness": colorfulness, "colorfulness_truth": 40.0}
    return {"model": model, "gray": gray}


def test_a_model_qualifies_only_above_gray_on_psnr_and_auc_on_every_set() -> None:
    assert ship.shortfalls({"test": _table(23.0, 89.0), "kodak24": _table(22.5, 88.5)}) == []
    problems = ship.shortfalls({"test": _table(23.0, 89.0), "kodak24": _table(21.9, 89.0)})
    assert problems == ["kodak24: psnr 21.90 is not above gray's 22.00"]
    assert ship.shortfalls({"test": _table(23.0, 88.0)}) == ["test: auc 88.00 is not above gray's 88.00"]
    assert ship.shortfalls({"kodak24": _table(23.0, 89.0)}) == ["it was not scored on the test split"]


def test_a_hint_model_replaces_a_shipped_one_without_hints_only_when_as_good_without_them() -> None:
    def manifest(tables: dict, hints: bool = False) -> dict:
        return {"run_name": "old", "hints": hints, "scores": ship.manifest_scores(tables)}

    shipped = manifest({"test": _table(23.0, 89.0), "kodak24": _table(22.5, 88.5)})
    same = {"test": _table(23.0, 89.0), "kodak24": _table(22.5, 88.5)}
    assert ship.stays(shipped, same, takes_hints=True) is None  # the same colours, and hints too
    assert "is not lower" in ship.stays(shipped, same, takes_hints=False)
    assert ship.stays(shipped, {**same, "test": _table(23.0, 89.0, colorfulness=30.0)}, False) is None
    reason = ship.stays(shipped, {**same, "kodak24": _table(22.4, 88.5)}, takes_hints=True)
    assert "kodak24: psnr 22.40 < 22.50" in reason
    assert "kodak24: not scored" in ship.stays(shipped, {"test": _table(23.0, 89.0)}, takes_hints=True)
    assert "is not lower" in ship.stays(manifest(same, hints=True), same, takes_hints=True)


def test_delta_cf_is_the_gap_between_mean_colourfulness_as_the_papers_count_it() -> None:
    assert ship.delta_cf({"colorfulness": 31.5, "colorfulness_truth": 40.0}) == pytest.approx(8.5)
    assert ship.delta_cf({"colorfulness": 45.0, "colorfulness_truth": 40.0}) == pytest.approx(5.0)


# --- Its colours ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def china_photo() -> Path:
    """scikit-learn's china.jpg: a temple under a blue sky, behind green trees (ships with sklearn)."""
    import sklearn

    return Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"


@pytest.mark.slow
def test_colorize_without_a_model_uses_the_shipped_one_and_beats_gray(
    china_photo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli.main(["colorize", str(china_photo), "--out", str(out)]) == 0
    colorized = out / china_photo.name
    assert load_rgb(colorized).shape == load_rgb(china_photo).shape
    truth = metrics.load_for_scoring(china_photo)
    ours = metrics.score_pair(truth, metrics.load_for_scoring(colorized))
    gray = metrics.score_pair(truth, baselines.gray_prediction(truth))
    assert ours["psnr"] > gray["psnr"] and ours["auc"] > gray["auc"], json.dumps({"ours": ours, "gray": gray})
    # The sky is bluish and the trees green, as in the photo: b < 0 along the top, a < 0 < b below.
    from colorlib.color import lab

    ab = lab.rgb_to_lab(load_resized(colorized))[..., 1:]
    sky_b, trees_a, trees_b = ab[:40, :, 1].mean(), ab[128:, :, 0].mean(), ab[128:, :, 1].mean()
    assert sky_b < 0 and trees_a < -1 and trees_b > 5, (sky_b, trees_a, trees_b)
