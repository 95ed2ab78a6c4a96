"""The feature cache: reuse, exact invalidation, damaged shards, streaming, worker parts."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from colorlib import __version__, losses
from colorlib.archs import colorizer_arch, seed_arch
from colorlib.color.lab import split_lab
from colorlib.core.io import file_hash
from colorlib.data import augment, featuredata, featureindex, features, featurestore
from colorlib.data.images import load_resized

SIZE = 64


def colour_image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:72, 0:90] / 90
    channels = [0.5 + 0.45 * np.sin(5 * x + 4 * y + p) for p in rng.uniform(0, 2 * np.pi, 3)]
    return (np.stack(channels, axis=-1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def encoder() -> keras.Model:
    keras.utils.set_random_seed(7)
    return colorizer_arch.build_encoder(None, SIZE)


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    paths = []
    for index in range(5):
        path = tmp_path / "photos" / f"p{index}.{'jpg' if index % 2 else 'png'}"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(colour_image(index)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def encode_calls(monkeypatch) -> list[int]:
    """Records the batch size of every encoder pass the extraction makes."""
    calls: list[int] = []
    original = features._encode

    def counting(encoder, l_batch):
        calls.append(len(l_batch))
        return original(encoder, l_batch)

    monkeypatch.setattr(features, "_encode", counting)
    return calls


def extract(paths, encoder, cache, **kwargs) -> featureindex.FeatureIndex:
    kwargs.setdefault("views", 2)
    return features.extract_features(paths, encoder, cache, batch_size=4, progress=False, **kwargs)


def test_second_extraction_reuses_everything(photos, encoder, tmp_path, encode_calls):
    first = extract(photos, encoder, tmp_path / "cache")
    assert len(first) == 10 and first.stats["computed"] == 10 and sum(encode_calls) == 10
    encode_calls.clear()
    second = extract(photos, encoder, tmp_path / "cache")
    assert encode_calls == [] and second.stats == {"computed": 0, "reused": 10, "rebuilt_shards": 0}
    assert [e["key"] for e in second.entries] == [e["key"] for e in first.entries]


def test_changed_image_recomputes_exactly_its_entries(photos, encoder, tmp_path, encode_calls):
    first = extract(photos, encoder, tmp_path / "cache")
    Image.fromarray(colour_image(99)).save(photos[3])
    encode_calls.clear()
    second = extract(photos, encoder, tmp_path / "cache")
    assert second.stats["computed"] == 2 and sum(encode_calls) == 2
    changed = [a["path"] for a, b in zip(first.entries, second.entries, strict=True) if a["key"] != b["key"]]
    assert changed == [str(photos[3])] * 2


def test_more_views_compute_only_the_new_view(photos, encoder, tmp_path):
    extract(photos, encoder, tmp_path / "cache", views=2)
    third = extract(photos, encoder, tmp_path / "cache", views=3)
    assert third.stats["computed"] == 5 and third.stats["reused"] == 10
    rotated = extract(photos, encoder, tmp_path / "cache", views=2, max_rotation=5.0)
    assert rotated.stats["computed"] == 5  # view 0 (identity) is unchanged


def test_other_encoder_weights_or_size_invalidate(photos, encoder, tmp_path):
    extract(photos, encoder, tmp_path / "cache")
    other = keras.models.clone_model(encoder)
    other.set_weights([w * 1.01 for w in encoder.get_weights()])
    assert extract(photos, other, tmp_path / "cache").stats["computed"] == 10
    small = colorizer_arch.build_encoder(None, 32)
    index = extract(photos, small, tmp_path / "cache", views=1)
    assert index.stats["computed"] == 5 and index.image_size == 32


def test_manifest_records_what_identifies_an_entry(photos, encoder, tmp_path):
    index = extract(photos[:1], encoder, tmp_path / "cache")
    manifest = featurestore.FeatureStore(tmp_path / "cache").manifest()
    entry = manifest["entries"][index.entries[1]["key"]]
    assert entry["image_sha256"] == file_hash(photos[0])
    assert entry["image_size"] == SIZE and entry["colorlib_version"] == __version__
    assert entry["encoder"] == colorizer_arch.weights_fingerprint(encoder)
    assert entry["augment"] == augment.view_params(file_hash(photos[0]), 1).as_dict()
    shard = manifest["shards"][entry["shard"]]
    assert set(shard["files"]) == {"features", "ab"}
    assert all(len(described["sha256"]) == 64 for described in shard["files"].values())


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_shard_is_detected_and_rebuilt(photos, encoder, tmp_path, capsys, damage):
    first = extract(photos, encoder, tmp_path / "cache")
    store = featurestore.FeatureStore(tmp_path / "cache")
    shard_id = first.entries[0]["shard"]
    target = store.files(shard_id)[0]
    data = bytearray(target.read_bytes())
    if damage == "flip":
        data[-100] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    target.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="fails its SHA-256"):
        featuredata.FeatureDataset(first, batch_size=4)
    capsys.readouterr()
    second = extract(photos, encoder, tmp_path / "cache")
    assert f"damaged shard {store.files(shard_id)[2]}" in capsys.readouterr().out
    assert second.stats["rebuilt_shards"] == 1 and second.stats["computed"] == 10
    reference = featuredata.FeatureDataset(extract(photos, encoder, tmp_path / "fresh"), 10, shuffle=False)
    np.testing.assert_allclose(
        featuredata.FeatureDataset(second, 10, shuffle=False)[0][0], reference[0][0], rtol=1e-2, atol=1e-3
    )


def test_stream_matches_direct_computation(photos, encoder, tmp_path):
    index = extract(photos, encoder, tmp_path / "cache")
    dataset = featuredata.FeatureDataset(index, batch_size=4, shuffle=False)
    assert len(dataset) == 3 and len(index) == 10
    x, y = dataset[0]
    assert x.shape == (4, SIZE // 32, SIZE // 32, 512) and x.dtype == np.float32
    assert y.shape == (4, SIZE, SIZE, 2) and y.dtype == np.float32
    assert dataset[2][0].shape[0] == 2
    # entry 1 is view 1 of the first photo: augment the RGB, split LAB, encode.
    params = augment.view_params(file_hash(photos[0]), 1)
    assert not params.is_identity
    l_norm, ab = split_lab(augment.apply(load_resized(photos[0], SIZE), params))
    direct = encoder.predict_on_batch(l_norm[None])
    np.testing.assert_allclose(x[1], direct[0], rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(y[1], ab, atol=1e-3)


def test_shuffle_is_seeded_and_changes_every_epoch(photos, encoder, tmp_path):
    index = extract(photos, encoder, tmp_path / "cache")
    ordered = np.concatenate([batch[1] for batch in featuredata.FeatureDataset(index, 10, shuffle=False)])

    def epoch_orders(seed: int) -> list[list[int]]:
        dataset = featuredata.FeatureDataset(index, 10, shuffle=True, seed=seed)
        orders = []
        for _ in range(2):
            y = dataset[0][1]
            orders.append([int(np.argmin(np.abs(ordered - row).sum(axis=(1, 2, 3)))) for row in y])
            dataset.on_epoch_end()
        return orders

    first, again = epoch_orders(3), epoch_orders(3)
    assert first == again
    assert sorted(first[0]) == list(range(10)) and first[0] != first[1]


def test_worker_parts_merge_into_a_single_extraction(photos, encoder, tmp_path):
    single = extract(photos, encoder, tmp_path / "single")
    parts = [extract(photos, encoder, tmp_path / "shared", shard=f"{i}/2") for i in range(2)]
    assert [len(part) for part in parts] == [6, 4]
    with pytest.raises(ValueError, match="missing"):
        featureindex.merge_indexes(parts[:1])
    stale = extract(photos[:4], encoder, tmp_path / "shared", shard="1/2")
    with pytest.raises(ValueError, match="paths_digest"):
        featureindex.merge_indexes([parts[0], stale])
    merged = featureindex.merge_indexes(parts[::-1])
    fields = ("key", "path", "view", "position")
    assert [[e[f] for f in fields] for e in merged.entries] == [
        [e[f] for f in fields] for e in single.entries
    ]
    a = featuredata.FeatureDataset(merged, 10, shuffle=False)[0]
    b = featuredata.FeatureDataset(single, 10, shuffle=False)[0]
    np.testing.assert_allclose(a[0], b[0], rtol=1e-2, atol=1e-3)
    np.testing.assert_array_equal(a[1], b[1])


def test_separate_worker_stores_merge(photos, encoder, tmp_path):
    parts = [extract(photos, encoder, tmp_path / f"worker{i}", shard=(i, 2)) for i in range(2)]
    with pytest.raises(ValueError, match="different stores"):
        featureindex.merge_indexes(parts)
    copied = featurestore.merge_stores([tmp_path / "worker0", tmp_path / "worker1"], tmp_path / "all")
    assert copied == 2
    merged = featureindex.merge_indexes(parts, cache_dir=tmp_path / "all")
    assert len(featuredata.FeatureDataset(merged, 4)) == 3


def test_run_splits_save_load_and_train(photos, encoder, tmp_path, capsys):
    run = tmp_path / "run" / "features"
    splits = {"train": photos[:3], "validation": photos[3:]}
    for i in range(2):
        features.extract_splits(
            splits, encoder, run, tmp_path / "cache", views=2, shard=f"{i}/2", progress=False
        )
    loaded = featureindex.load_run_indexes(run)
    assert len(loaded["train"]) == 6 and len(loaded["validation"]) == 2
    datasets = featuredata.run_datasets(run, batch_size=4)
    assert datasets["train"].shuffle and not datasets["validation"].shuffle
    decoder = losses.compile_model(seed_arch.build_decoder(SIZE))
    history = decoder.fit(datasets["train"], validation_data=datasets["validation"], epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])
    # A new split on one worker: the old merged index goes, stale parts are not merged.
    changed = {"train": photos[:2], "validation": photos[3:]}
    features.extract_splits(changed, encoder, run, tmp_path / "cache", views=2, shard="0/2", progress=False)
    assert "were not merged" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="Extract the features first"):
        featureindex.load_run_indexes(run)


def test_unreadable_image_is_skipped_and_listed(photos, encoder, tmp_path, capsys):
    broken = photos[0].with_name("broken.jpg")
    broken.write_bytes(b"\xff\xd8 truncated")
    index = extract([*photos[:2], broken], encoder, tmp_path / "cache", views=1)
    assert index.paths == [str(photos[0]), str(photos[1])]
    assert [path for path, _ in index.skipped] == [str(broken)]
    assert f"skipped {broken}:" in capsys.readouterr().out
    saved = index.save(tmp_path / "index.json")
    assert featureindex.FeatureIndex.load(saved) == index


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/3"])
def test_bad_shard_argument_is_refused(text):
    with pytest.raises(ValueError, match=r"I/N|does not exist"):
        featureindex.parse_part(text)


def test_short_epochs_walk_through_the_passes_and_a_resumed_fit_reads_what_an_unbroken_one_would(
    photos, encoder, tmp_path
):
    index = extract(photos, encoder, tmp_path / "cache", views=3)  # 15 entries, 8 batches of 2 a pass

    def served(dataset: featuredata.FeatureDataset, epochs: range) -> list[list[int]]:
        batches = []
        for epoch in epochs:
            dataset.set_epoch(epoch)
            batches += [dataset.positions(i).tolist() for i in range(len(dataset))]
        return batches

    short = featuredata.FeatureDataset(index, 2, shuffle=True, seed=1, steps_per_epoch=3)
    whole = featuredata.FeatureDataset(index, 2, shuffle=True, seed=1)
    assert len(short) == 3 and len(whole) == whole.pass_length == 8
    # Eight epochs of 3 batches are three passes of 8: the same permutations, cut differently.
    assert served(short, range(8)) == served(whole, range(3))

    def fit_reads(epochs: int, first_epoch: int) -> dict[tuple[int, int], list[int]]:
        """What a Keras fit reads: ``{(epoch, batch): positions}`` (Keras prefetches in threads,
        so the order of the calls says nothing; the epoch each read belongs to does)."""
        dataset = featuredata.FeatureDataset(index, 2, shuffle=True, seed=1, steps_per_epoch=3)
        reads: dict[tuple[int, int], list[int]] = {}
        original = dataset.positions

        def recording(i: int) -> np.ndarray:
            reads[dataset.epoch, i] = original(i).tolist()
            return original(i)

        dataset.positions = recording
        model = keras.Sequential([keras.Input(dataset.feature_shape), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss=lambda ab, predicted: keras.ops.mean(predicted) * 0.0)
        callbacks = [featuredata.DatasetEpoch(dataset)]
        model.fit(dataset, epochs=epochs, initial_epoch=first_epoch, callbacks=callbacks, verbose=0)
        # Keras first peeks at batches 0 and 1 for their shapes, before any epoch begins: not trained on.
        return {key: value for key, value in reads.items() if key[0] >= first_epoch}

    expected = {(e, i): served(short, [e])[i] for e in range(4) for i in range(3)}
    assert fit_reads(4, 0) == expected
    # Resumed at epoch 2: the batches of epochs 2 and 3, as the unbroken fit read them.
    assert fit_reads(4, 2) == {key: value for key, value in expected.items() if key[0] >= 2}
