"""The streamed-training rows of ``make bench`` (issue 39), used by ``bench.py``.

(a) photos per second of the streamed pipeline (shards decoded by ``StreamDataset`` in 1 and 2 worker
    processes, each batch then through the encoder) against the encoder alone on the
    same photos already decoded in memory: the input must not be the limit (target >= 0.9). The
    encoder is EfficientNet-Lite0, the one quality runs use (VGG16 is slow enough to hide any input).
    The workers' start, about 2 s an epoch, is left out: the rate is from the first batch to the last.
(b) steps per second of two JAX processes with one thread each (pinned to a core each, joined on
    127.0.0.1 by ``keras.distribution``) against one process with one thread, on the same global
    batches of a small convolutional colorizer: data parallelism scales (target >= 1.7).
(c) peak memory of a process reading one epoch of 8,000 photos from shards against 1,000 (target
    <= 1.1): memory stays flat in the number of photos.

Each of (b) and (c) runs in fresh processes: ``python benchmarks/stream_rows.py --child KIND JSON``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
#: (b): the global batch, its image side, and the steps timed after the warm-up ones.
SCALING_BATCH, SCALING_SIZE, SCALING_STEPS, WARMUP_STEPS = 32, 64, 20, 3
#: One XLA thread per process.
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
#: (c): the photo counts compared, and the synthetic photos' side.
MEMORY_COUNTS, MEMORY_SIDE = (1000, 8000), 96


def streamed_rate(paths, size: int, batch: int, work: Path, workers: int) -> tuple[float, float]:
    """``(streamed photos/s, encoder-alone photos/s)`` on ``paths`` (see the module docstring, row a)."""
    from colorlib.archs import colorizer_arch
    from colorlib.data import shards, streaming
    from colorlib.data.shards import PhotoReader, stack_photos

    folder = work / "stream-shards"
    shard_set = (
        shards.open_shards(folder)
        if (folder / shards.SHARDS_FILE).is_file()
        else shards.pack({"train": paths}, folder, progress=False)[0]
    )
    encoder = colorizer_arch.build_encoder(None, size, "efficientnet_lite0")
    reader = PhotoReader([str(path) for path in shard_set.files("train")], size, 0, None)
    l_norm = stack_photos([reader((position, 0)) for position in range(len(paths))])[0]
    encoder.predict_on_batch(l_norm[:batch])
    start = time.perf_counter()
    for first in range(0, len(l_norm), batch):
        encoder.predict_on_batch(l_norm[first : first + batch])
    alone = len(l_norm) / (time.perf_counter() - start)
    dataset = streaming.StreamDataset(shard_set, "train", batch, size, workers=workers)
    first_batch = dataset[0]
    encoder.predict_on_batch(first_batch[0])
    start, seen = time.perf_counter(), 0
    for index in range(1, len(dataset)):
        l_batch, _ = dataset[index]
        encoder.predict_on_batch(l_batch)
        seen += len(l_batch)
    streamed = seen / (time.perf_counter() - start)
    dataset.close()
    return streamed, alone


def _free_port() -> int:
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def _children(kind: str, arguments: list[dict], environment: dict[str, str]) -> list[dict]:
    runs = [
        subprocess.Popen(
            [sys.executable, str(HERE), "--child", kind, json.dumps(argument)],
            env={**os.environ, **environment},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argument in arguments
    ]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=900)
        if run.returncode:
            raise RuntimeError(f"child {kind} failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def scaling(batch: int = SCALING_BATCH, size: int = SCALING_SIZE) -> tuple[float, float]:
    """``(steps/s of two one-thread processes, steps/s of one)`` (row b)."""
    environment = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ONE_THREAD}
    cores = sorted(os.sched_getaffinity(0))
    shape = {"batch": batch, "size": size}
    one = _children(
        "scaling", [{"processes": 1, "index": 0, "core": cores[0], "port": 0} | shape], environment
    )[0]
    port = _free_port()
    pair = [
        {"processes": 2, "index": i, "core": cores[i % len(cores)], "port": port} | shape for i in range(2)
    ]
    two = _children("scaling", pair, environment)
    return min(result["steps_per_s"] for result in two), one["steps_per_s"]


def _scaling_child(arguments: dict) -> dict:
    os.sched_setaffinity(0, {arguments["core"]})
    from colorlib.training import distribute

    if arguments["processes"] > 1:
        distribute.initialize(f"127.0.0.1:{arguments['port']}", arguments["processes"], arguments["index"])
    import keras

    distribute.use_data_parallel()
    index, count = distribute.process()
    keras.utils.set_random_seed(0)
    size = arguments["size"]
    inputs = keras.Input((size, size, 1))
    hidden = inputs
    for filters in (32, 64, 32):
        hidden = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(hidden)
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    local = arguments["batch"] // count
    rng = np.random.default_rng(index)
    l_norm = rng.uniform(size=(local, size, size, 1)).astype("float32")
    ab = rng.uniform(-0.5, 0.5, size=(local, size, size, 2)).astype("float32")
    for _ in range(WARMUP_STEPS):
        model.train_on_batch(l_norm, ab)
    start = time.perf_counter()
    for _ in range(SCALING_STEPS):
        model.train_on_batch(l_norm, ab)
    return {"steps_per_s": SCALING_STEPS / (time.perf_counter() - start)}


def memory(work: Path) -> tuple[float, float]:
    """``(peak MB reading 8,000 photos, peak MB reading 1,000)`` (row c)."""
    from PIL import Image

    from colorlib.data import shards

    rng = np.random.default_rng(0)
    folder = work / "memory-photos"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(max(MEMORY_COUNTS)):
        pixels = rng.integers(0, 256, (MEMORY_SIDE // 8, MEMORY_SIDE // 8, 3), dtype=np.uint8)
        path = folder / f"photo{number:05d}.jpg"
        Image.fromarray(pixels).resize((MEMORY_SIDE, MEMORY_SIDE)).save(path, quality=90)
        paths.append(path)
    peaks = {}
    for count in MEMORY_COUNTS:
        packed = shards.pack({"train": paths[:count]}, work / f"memory-shards-{count}", progress=False)[0]
        peaks[count] = _children("memory", [{"shards": str(packed.root)}], {})[0]["peak_mb"]
    return peaks[max(MEMORY_COUNTS)], peaks[min(MEMORY_COUNTS)]


def _memory_child(arguments: dict) -> dict:
    from colorlib.data import shards, streaming

    dataset = streaming.StreamDataset(shards.open_shards(arguments["shards"]), "train", 32, 64, workers=1)
    for index in range(len(dataset)):
        dataset[index]
    dataset.close()
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    return {"peak_mb": peak}


def rows(paths, size: int, batch: int, work: Path, row) -> list[dict]:
    """The rows (a), (b) and (c), made with ``bench.row``."""
    found = []
    for workers in (1, 2):
        streamed, alone = streamed_rate(paths, size, batch, work, workers)
        found.append(
            row(
                f"streamed photos, {workers} decoding worker(s), vs encoder alone (img/s)",
                streamed,
                alone,
                "img/s",
                streamed / alone,
                0.9,
                True,
                f"{len(paths)} photos from shards, Lite0 at {size}×{size}, batch {batch}; workers' start "
                "left out",
            )
        )
    two, one = scaling()
    found.append(
        row(
            "two JAX processes vs one, one thread each, same global batch (steps/s)",
            two,
            one,
            "steps/s",
            two / one,
            1.7,
            True,
            f"DataParallel over 127.0.0.1, global batch {SCALING_BATCH} of {SCALING_SIZE}×{SCALING_SIZE}",
        )
    )
    large, small = memory(work)
    found.append(
        row(
            f"peak memory streaming {max(MEMORY_COUNTS):,} vs {min(MEMORY_COUNTS):,} photos (MB)",
            large,
            small,
            "MB",
            large / small,
            1.1,
            False,
            f"one epoch each from shards, 1 decoding worker, {MEMORY_SIDE}-pixel JPEGs decoded at 64×64",
        )
    )
    return found


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        kind, arguments = sys.argv[2], json.loads(sys.argv[3])
        print(json.dumps((_scaling_child if kind == "scaling" else _memory_child)(arguments)))
