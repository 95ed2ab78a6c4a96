"""Photos packed into shards and decoded on the fly for training (issue 39): the shards themselves,
the order each process reads them in, a run trained from them, and a run continued elsewhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.data import shards, streaming

SIZE = 32


def pattern_photos(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` small colour photos (a colour on the left, another on the right, stripes), PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for number in range(count):
        pixels = np.zeros((40, 48, 3), np.uint8)
        pixels[:, :24] = rng.integers(0, 256, 3)
        pixels[:, 24:] = rng.integers(0, 256, 3)
        pixels[::4] //= 2
        path = folder / f"photo{number:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def packed(tmp_path: Path) -> tuple[shards.ShardSet, list[Path]]:
    photos = pattern_photos(tmp_path / "photos", 24)
    shard_set, skipped = shards.pack(
        {"train": photos[:16], "validation": photos[16:]},
        tmp_path / "shards",
        photos_per_shard=5,
        progress=False,
    )
    assert skipped == []
    return shard_set, photos


def test_packing_writes_every_photo_once_with_its_bytes_and_opens_again(packed, tmp_path: Path) -> None:
    shard_set, photos = packed
    assert [shard["photos"] for shard in shard_set.splits["train"]] == [5, 5, 5, 1]
    again = shards.open_shards(tmp_path / "shards")
    assert again.photos("train") == 16 and again.photos("validation") == 8
    source = again.source("train")
    records = [shards.decode_record(source[n]) for n in range(len(source))]
    assert [header["name"] for header, _ in records] == [path.name for path in photos[:16]]
    assert records[3][1] == photos[3].read_bytes() and records[3][0]["split"] == "train"  # PNG kept as it is
    assert again.digest() == shard_set.digest()


def test_packing_again_skips_whole_shards_and_reports_a_bad_photo(packed, tmp_path: Path) -> None:
    shard_set, photos = packed
    first = tmp_path / "shards" / shard_set.splits["train"][0]["file"]
    written = first.stat().st_mtime_ns
    (tmp_path / "photos" / "photo020.png").write_bytes(b"not a photo")  # one of validation's
    again, skipped = shards.pack(
        {"train": photos[:16], "validation": photos[16:]},
        tmp_path / "shards",
        photos_per_shard=5,
        progress=False,
    )
    assert first.stat().st_mtime_ns == written  # the training shards were whole: not written again
    assert [path.name for path, _ in skipped] == ["photo020.png"] and again.photos("validation") == 7


def test_missing_or_damaged_shards_are_refused_with_what_to_do(packed, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="pack photos with `colorlib shard`"):
        shards.open_shards(tmp_path / "nowhere")
    shard_set, _ = packed
    damaged = tmp_path / "shards" / shard_set.splits["train"][1]["file"]
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(ValueError, match="copy it again"):
        shards.open_shards(tmp_path / "shards")
    with pytest.raises(ValueError, match="not a photo of a colorlib shard"):
        shards.decode_record(b"\x89PNG...")


def epoch_positions(dataset: streaming.StreamDataset, epoch: int) -> list[list[int]]:
    dataset.set_epoch(epoch)
    return [dataset.positions(index)[0].tolist() for index in range(len(dataset))]


def test_each_photo_is_read_once_per_epoch_across_processes_in_an_order_the_seed_gives(packed) -> None:
    shard_set, _ = packed
    processes = [
        streaming.StreamDataset(
            shard_set, "train", batch_size=2, image_size=SIZE, seed=5, process_index=i, process_count=2
        )
        for i in range(2)
    ]
    assert [len(dataset) for dataset in processes] == [4, 4]  # 16 photos, global batches of 4
    orders = []
    for epoch in range(3):
        parts = [epoch_positions(dataset, epoch) for dataset in processes]
        seen = sorted(position for part in parts for batch in part for position in batch)
        assert seen == list(range(16))  # every photo once, by one process
        orders.append(parts)
        again = streaming.StreamDataset(
            shard_set, "train", batch_size=2, image_size=SIZE, seed=5, process_count=2
        )
        assert epoch_positions(again, epoch) == parts[0]  # reproducible from the seed
    assert orders[0] != orders[1] != orders[2]  # a new global shuffle every epoch
    other = streaming.StreamDataset(
        shard_set, "train", batch_size=2, image_size=SIZE, seed=6, process_count=2
    )
    assert epoch_positions(other, 0) != orders[0][0]
    one = streaming.StreamDataset(shard_set, "train", batch_size=4, image_size=SIZE, seed=5)
    joined = [a + b for a, b in zip(orders[0][0], orders[0][1], strict=True)]
    assert epoch_positions(one, 0) == joined  # one process reads the two processes' batches whole


def test_decoding_workers_and_a_resume_inside_an_epoch_give_the_same_batches(packed) -> None:
    shard_set, _ = packed
    options = {"batch_size": 4, "image_size": SIZE, "seed": 2}
    here = streaming.StreamDataset(shard_set, "train", **options)
    batches = [here[index] for index in range(len(here))]
    assert batches[0][0].shape == (4, SIZE, SIZE, 1) and batches[0][1].shape == (4, SIZE, SIZE, 2)
    assert 0 <= batches[0][0].min() and batches[0][0].max() <= 1 and np.abs(batches[0][1]).max() <= 1
    workers = streaming.StreamDataset(shard_set, "train", workers=1, **options)
    for index, (l_norm, ab) in enumerate(batches):
        theirs = workers[index]
        np.testing.assert_array_equal(theirs[0], l_norm)
        np.testing.assert_array_equal(theirs[1], ab)
    workers.close()
    resumed = streaming.StreamDataset(shard_set, "train", **options)
    resumed.start_at(2)
    assert len(resumed) == 2
    np.testing.assert_array_equal(resumed[0][1], batches[2][1])
    hinted = streaming.StreamDataset(shard_set, "train", hints=True, **options)[0]
    assert [part.shape[-1] for part in hinted[0]] == [1, 2, 1]  # L, hint ab, hint mask


@pytest.mark.slow
def test_a_run_trains_from_shards_and_goes_on_in_another_folder(tmp_path: Path) -> None:
    """Every scheme's path: the decoder behind the frozen encoder, fed photos; the run's backup copied
    to another folder (another machine, a mounted network folder) continues there."""
    from test_workflow import run_params

    from colorlib import workflow
    from colorlib.training import fitting

    photos = tmp_path / "dataset"
    pattern_photos(photos, 30)
    params = run_params(tmp_path, photos, "streamed", decoder="unet", epochs=1, batch_size=4)
    shard_set, _ = workflow.shard_dataset(params, tmp_path / "shards", photos_per_shard=8, progress=False)
    params = run_params(
        tmp_path, photos, "streamed", decoder="unet", epochs=1, batch_size=4, shards=str(shard_set.root)
    )
    workflow.build_run_encoder(params)
    result = workflow.train_run(params, verbose=0)
    assert result.epochs_completed == 1 and workflow.run_paths(params).colorizer.is_file()
    model = workflow.load_run_model(params)
    assert model.predict_on_batch(np.zeros((1, params.image_size, params.image_size, 1))).shape[-1] == 2

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(params.run_dir, elsewhere)
    moved = run_params(
        tmp_path, photos, "streamed", decoder="unet", epochs=2, batch_size=4, shards=str(shard_set.root),
        run_dir_override=str(elsewhere),
    )  # fmt: skip
    again = workflow.train_run(moved, verbose=0)  # continues from the copied backup: one more epoch
    assert again.epochs_completed == 2
    assert fitting.read_history(elsewhere / "model" / "history.csv")["epoch"] == [0.0, 1.0]


def test_the_shard_command_packs_a_folder_and_names_the_photos_it_left_out(tmp_path: Path, capsys) -> None:
    from colorlib import cli

    folder = tmp_path / "dataset"
    pattern_photos(folder, 12)
    out = tmp_path / "shards"
    data = ["--data-dir", str(tmp_path / "data")]  # where the run's split is recorded
    assert cli.main(["shard", str(folder), "--out", str(out), "--photos-per-shard", "4", *data]) == 0
    printed = capsys.readouterr().out
    assert "Packed train" in printed and f"--shards {out}" in printed
    shard_set = shards.open_shards(out)
    assert shard_set.photos("train") + shard_set.photos("validation") < 12  # the test photos stay out
    assert shard_set.settings["seed"] == 42


def test_joining_processes_needs_jax_and_says_so() -> None:
    from colorlib.training import distribute

    assert distribute.initialize() is False  # no coordinator: one process, nothing to join
    with pytest.raises(ValueError, match="KERAS_BACKEND=jax"):
        distribute.initialize("127.0.0.1:9", 2, 0)  # this process runs TensorFlow
    with pytest.raises(ValueError, match="keras-team/keras#20585"):
        distribute.use_data_parallel()
