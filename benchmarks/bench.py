"""Benchmarks of colorlib's fast paths, side by side in one run (``make bench``; not a test).

Rows (each a ratio against a reference measured in the same run, with its target):

1. training epoch: decoder from the feature cache vs encoder+decoder on the fly (>= 10x)
2. feature extraction vs a bare encoder forward pass on the same batches (>= 0.9)
3. ``colorize_files`` on a folder of S×S JPEGs vs a bare encoder pass in memory (>= 0.8), and
   the same folder colorized with the EfficientNet-Lite0 encoder vs VGG16 (>= 4x)
4. a 24-megapixel JPEG: colorize wall time vs OpenCV read + write + one model pass
   (<= 3x), and its peak resident memory (<= 2 GB), each in its own process
5. peak resident memory of training from the cache at 1,000 and 4,000 images (flat:
   the larger within 10%), each in its own process, from synthetic cache entries
6. the U-Net decoder (``unet_rows.py``): cache bytes per view (<= 1 MB) and a training epoch
   from the cache vs encoder + U-Net on the fly, for VGG16 (>= 10x) and Lite0 (whichever
   is faster), and its training memory at 1,000 vs 4,000 cached views (flat)
7. streamed training (``stream_rows.py``): photos/s decoded from shards by 1 and 2 workers
   then encoded vs the encoder alone (>= 0.9), two JAX processes vs one with one thread each
   (>= 1.7x steps/s), peak memory streaming 8,000 vs 1,000 photos (<= 1.1)
8. ONNX Runtime (``onnx_rows.py``): ``colorlib colorize`` on a folder, Keras vs ONNX Runtime
   (>= 1.5x), ``colorize_files`` alone on each, and one page edit on ONNX Runtime (<= 150 ms),
   with the shipped colorizer (its real weights: Lite0's install with colorlib)

The encoder has random weights (the ImageNet weights are not available offline):
speed and memory do not depend on the weight values. Photos come from
``<shared data>/colorization/class 0`` or are generated when that folder is absent.

    python benchmarks/bench.py [--images N] [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import quiet_tensorflow  # noqa: F401 (first: TensorFlow without its start-up lines, beside this file)

# isort: split
import cv2
import keras
import numpy as np
from PIL import Image

from colorlib import losses
from colorlib.archs import colorizer_arch, seed_arch
from colorlib.color.lab import split_lab
from colorlib.core.config import COLOR_CLASS_DIR, SEED, shared_data_dir
from colorlib.data import featuredata, featureindex, features, featurestore, inputs
from colorlib.data.images import list_images

sys.path.insert(0, str(Path(__file__).resolve().parent))
import onnx_rows  # the ONNX Runtime rows, beside this file
import stream_rows  # the streamed-training rows, beside this file
import unet_rows  # the U-Net rows, beside this file

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
FULL = {"size": 256, "images": 128, "batch": 32, "large": (6000, 4000), "memory": (1000, 4000)}
QUICK = {"size": 64, "images": 8, "batch": 4, "large": (1200, 800), "memory": (100, 400)}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def fit_epoch_time(model: keras.Model, dataset, epochs: int = 2) -> float:
    """Seconds of the last of ``epochs`` epochs (the first one includes tracing)."""
    timer = EpochTimer()
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.times[-1]


def photos(count: int, work: Path) -> tuple[list[Path], str]:
    """``count`` real photos when the shared data is there, else generated JPEGs."""
    folder = shared_data_dir() / "colorization" / COLOR_CLASS_DIR
    if folder.is_dir():
        found = list_images(folder)[:count]
        if len(found) == count:
            return found, f"{count} photos from {folder}"
    rng = np.random.default_rng(SEED)
    out = work / "generated"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        y, x = np.mgrid[0:240, 0:320] / 320
        phase = rng.uniform(0, 2 * np.pi, 3)
        rgb = np.stack([0.5 + 0.45 * np.sin(6 * x + 5 * y + p) for p in phase], axis=-1)
        path = out / f"photo{index:04d}.jpg"
        Image.fromarray((rgb * 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths, f"{count} generated 320×240 JPEGs ({folder} is absent)"


def bare_forward(encoder: keras.Model, l_norm: np.ndarray, batch: int) -> float:
    """Seconds of encoder forward passes over ``l_norm`` in batches, after a warm-up pass."""
    encoder.predict_on_batch(l_norm[:batch])
    start = time.perf_counter()
    for first in range(0, len(l_norm), batch):
        encoder.predict_on_batch(l_norm[first : first + batch])
    return time.perf_counter() - start


def row(name, ours, reference, unit, ratio, target, higher_is_better, note="") -> dict:
    met = ratio >= target if higher_is_better else ratio <= target
    return {
        "name": name,
        "ours": round(ours, 4),
        "reference": round(reference, 4),
        "unit": unit,
        "ratio": round(ratio, 3),
        "target": f"{'>=' if higher_is_better else '<='} {target}",
        "met": bool(met),
        "note": note,
    }


def child(kind: str, **arguments) -> dict:
    """Run one measurement in a fresh Python process; returns its JSON result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(arguments)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"child {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(kind: str, arguments: dict) -> dict:
    """The child side of :func:`child`: measure, print one JSON line."""
    model = colorizer_arch.load_model(arguments["model"]) if "model" in arguments else None
    size = int(model.input_shape[1]) if model is not None else 0
    if kind == "large-colorize":
        from colorlib.colorize.colorize import colorize_files

        work = Path(arguments["work"])
        colorize_files(model, [arguments["warmup"]], work / "warm", progress=False)
        start = time.perf_counter()
        report = colorize_files(model, [arguments["photo"]], work / "out", progress=False)
        seconds = time.perf_counter() - start
        if report.failed:
            raise RuntimeError(f"colorize failed: {report.failed}")
    elif kind == "large-baseline":
        model.predict_on_batch(np.zeros((1, size, size, 1), np.float32))
        start = time.perf_counter()
        bgr = cv2.imread(arguments["photo"])
        cv2.imwrite(str(Path(arguments["work"]) / "copy.jpg"), bgr)
        model.predict_on_batch(np.zeros((1, size, size, 1), np.float32))
        seconds = time.perf_counter() - start
    elif kind == "train-memory-unet":
        start = time.perf_counter()
        unet_rows.train_unet_from_index(arguments["index"], arguments["batch"])
        seconds = time.perf_counter() - start
    elif kind == "train-memory":
        index = featureindex.FeatureIndex.load(arguments["index"])
        dataset = featuredata.FeatureDataset(index, arguments["batch"], seed=SEED)
        decoder = losses.compile_model(seed_arch.build_decoder(index.image_size))
        start = time.perf_counter()
        decoder.fit(dataset, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
    else:
        raise ValueError(f"unknown child {kind}")
    return {"seconds": seconds, "peak_mb": peak_rss_mb()}


def synthetic_cache(work: Path, size: int, counts: tuple[int, ...]) -> dict[int, Path]:
    """Cache entries with random float16 features written straight into the store format."""
    store = featurestore.FeatureStore(work / "synthetic-cache")
    rng = np.random.default_rng(SEED)
    side = size // 32
    entries = []
    for first in range(0, max(counts), featurestore.SHARD_ROWS):
        rows = min(featurestore.SHARD_ROWS, max(counts) - first)
        metas = [{"key": f"{first + i:064x}", "source": "synthetic"} for i in range(rows)]
        feats = rng.random((rows, side, side, 512), dtype=np.float32).astype(np.float16)
        ab = (rng.random((rows, size, size, 2), dtype=np.float32) - 0.5).astype(np.float16)
        shard = store.write(metas, feats, ab)
        entries += [
            {"key": m["key"], "shard": shard, "row": r, "path": "synthetic", "view": 0, "position": first + r}
            for r, m in enumerate(metas)
        ]
    out = {}
    for count in counts:
        index = featureindex.FeatureIndex(str(store.root), size, "synthetic", 1, SEED, 0.0, entries[:count])
        out[count] = index.save(work / f"synthetic-{count}.json")
    return out


def large_photo(source: Path, shape: tuple[int, int], path: Path) -> Path:
    """A big JPEG made from a real photo, upscaled, with a little grain."""
    width, height = shape
    small = cv2.imread(str(source))
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(SEED).integers(-6, 7, size=big.shape, dtype=np.int16)
    big = np.clip(big.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, help="photos for rows 1-3 (default 128; 8 with --quick)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of this script")
    parser.add_argument("--out", help="JSON results (default benchmarks/results.json, -quick with --quick)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child[0], json.loads(args.child[1]))))
        return 0
    settings = dict(QUICK if args.quick else FULL)
    settings["images"] = args.images or settings["images"]
    size, count, batch = settings["size"], settings["images"], settings["batch"]
    out_path = Path(args.out) if args.out else HERE / f"results{'-quick' if args.quick else ''}.json"
    rows, notes = [], ["encoder: VGG16 with random weights (ImageNet weights are not available offline)"]
    if args.quick:
        notes.append("quick mode: tiny sizes to check this script; the targets apply to the full run")
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="colorlib-bench-") as temporary:
        work = Path(temporary)
        paths, described = photos(count, work)
        notes.append(f"data: {described}, at {size}×{size}, batch {batch}")
        keras.utils.set_random_seed(SEED)
        encoder = colorizer_arch.build_encoder(None, size)
        rgb = np.concatenate([b for _, b in inputs.iter_image_batches(paths, size, batch, progress=False)])
        l_norm = split_lab(rgb)[0]

        print("[1/8] encoder forward and feature extraction ...", flush=True)
        bare = bare_forward(encoder, l_norm, batch)
        start = time.perf_counter()
        index = features.extract_features(paths, encoder, work / "cache", batch_size=batch, progress=False)
        extract = time.perf_counter() - start
        print("[2/8] training epochs from the cache and on the fly ...", flush=True)
        keras.utils.set_random_seed(SEED)
        decoder = losses.compile_model(seed_arch.build_decoder(size))
        cached = fit_epoch_time(decoder, featuredata.FeatureDataset(index, batch, seed=SEED))
        keras.utils.set_random_seed(SEED)
        colorizer = colorizer_arch.build_colorizer(encoder, seed_arch.build_decoder(size))
        on_the_fly = fit_epoch_time(colorizer, inputs.LabImageDataset(paths, size, batch, seed=SEED))
        rows.append(
            row(
                "training epoch, cache vs on the fly (s)",
                cached,
                on_the_fly,
                "s",
                on_the_fly / cached,
                10,
                True,
                f"{count} images, second epoch of two",
            )
        )
        rows.append(
            row(
                "feature extraction vs bare encoder (img/s)",
                count / extract,
                count / bare,
                "img/s",
                bare / extract,
                0.9,
                True,
                "extraction includes hashing, decoding, LAB, float16 shards with checksums",
            )
        )

        print("[3/8] colorize a folder vs bare encoder ...", flush=True)
        model = colorizer_arch.build_colorizer(encoder, decoder)
        model_path = work / "colorizer.keras"
        model.save(model_path)
        try:
            from colorlib.colorize.colorize import colorize_files
        except ImportError as error:
            notes.append(f"colorize rows not run: {error}")
            colorize_files = None
        if colorize_files is not None:
            folder = work / "small"
            folder.mkdir()
            for i, image in enumerate(rgb):
                Image.fromarray((image * 255).round().astype(np.uint8)).save(
                    folder / f"{i:04d}.jpg", quality=92
                )
            small = list_images(folder)
            small_l = split_lab(np.stack([np.asarray(Image.open(p), np.float32) / 255 for p in small]))[0]
            colorize_files(model, small[:batch], work / "warm", batch_size=batch, progress=False)
            start = time.perf_counter()
            colorize_files(model, small, work / "colorized", batch_size=batch, progress=False)
            colorized = time.perf_counter() - start
            bare_small = bare_forward(encoder, small_l, batch)
            rows.append(
                row(
                    "colorize_files on a folder vs bare encoder (img/s)",
                    count / colorized,
                    count / bare_small,
                    "img/s",
                    bare_small / colorized,
                    0.8,
                    True,
                    f"{count} {size}×{size} JPEGs read and written",
                )
            )
            lite0 = colorizer_arch.build_encoder(None, size, "efficientnet_lite0")
            lite0_model = colorizer_arch.build_colorizer(
                lite0, seed_arch.build_decoder(size, channels=lite0.output_shape[-1])
            )
            colorize_files(lite0_model, small[:batch], work / "warm-lite0", batch_size=batch, progress=False)
            start = time.perf_counter()
            colorize_files(lite0_model, small, work / "colorized-lite0", batch_size=batch, progress=False)
            colorized_lite0 = time.perf_counter() - start
            rows.append(
                row(
                    "colorize_files, EfficientNet-Lite0 vs VGG16 encoder (img/s)",
                    count / colorized_lite0,
                    count / colorized,
                    "img/s",
                    colorized / colorized_lite0,
                    4,
                    True,
                    "same decoder design and photos; random weights (speed does not depend on them)",
                )
            )

            width, height = settings["large"]
            print(f"[4/8] a {width * height / 1e6:.0f}-megapixel photo, in child processes ...", flush=True)
            photo = large_photo(paths[0], (width, height), work / "large.jpg")
            common = {"model": str(model_path), "photo": str(photo), "work": str(work)}
            big = child("large-colorize", warmup=str(small[0]), **common)
            base = child("large-baseline", **common)
            label = f"{width}×{height} JPEG"
            rows.append(
                row(
                    f"colorize a {label} vs OpenCV read+write + one model pass (s)",
                    big["seconds"],
                    base["seconds"],
                    "s",
                    big["seconds"] / base["seconds"],
                    3,
                    False,
                    "model load and warm-up excluded from both",
                )
            )
            rows.append(
                row(
                    f"peak memory colorizing a {label} (MB)",
                    big["peak_mb"],
                    2048,
                    "MB",
                    big["peak_mb"] / 1024,
                    2,
                    False,
                    "whole process, TensorFlow included; ratio is in GB against the 2 GB target",
                )
            )

        low, high = settings["memory"]
        print(f"[5/8] training memory at {low} and {high} cached images, in child processes ...", flush=True)
        indexes = synthetic_cache(work, size, (low, high))
        small_run = child("train-memory", index=str(indexes[low]), batch=batch)
        large_run = child("train-memory", index=str(indexes[high]), batch=batch)
        in_memory = high * ((size // 32) ** 2 * 512 + size * size * 2) * 4 / MB
        rows.append(
            row(
                f"peak memory training from the cache, {high} vs {low} images (MB)",
                large_run["peak_mb"],
                small_run["peak_mb"],
                "MB",
                large_run["peak_mb"] / small_run["peak_mb"],
                1.1,
                False,
                f"one epoch each; synthetic entries in the cache format (the row measures "
                f"the reader, not the encoder); {high} images as float32 arrays would take "
                f"{in_memory:.0f} MB",
            )
        )

        print("[6/8] the U-Net decoder: cache size, cache vs on the fly, training memory ...", flush=True)
        rows += unet_rows.encoder_rows(paths, size, batch, work, row, fit_epoch_time)
        unet_indexes = unet_rows.synthetic_unet_cache(work, size, (low, high))
        small_unet = child("train-memory-unet", index=str(unet_indexes[low]), batch=batch)
        large_unet = child("train-memory-unet", index=str(unet_indexes[high]), batch=batch)
        rows.append(
            row(
                f"peak memory training the U-Net from the cache, {high} vs {low} views (MB)",
                large_unet["peak_mb"],
                small_unet["peak_mb"],
                "MB",
                large_unet["peak_mb"] / small_unet["peak_mb"],
                1.1,
                False,
                "one epoch each; synthetic multiscale entries with Lite0's channels",
            )
        )

        if not args.quick:
            print("[7/8] streamed training: shards vs encoder, two processes, memory ...", flush=True)
            rows += stream_rows.rows(paths, size, batch, work, row)
            print("[8/8] ONNX Runtime against Keras: a folder, and a page edit ...", flush=True)
            onnx_photos, onnx_described = onnx_rows.photo_paths(
                onnx_rows.DEFAULT_PHOTOS, onnx_rows.COUNT, work
            )
            notes.append(f"ONNX rows: {onnx_described}, the shipped colorizer")
            rows += onnx_rows.rows(onnx_photos, work, row)

    elapsed = time.perf_counter() - started
    print(
        f"\ncolorlib benchmarks ({'quick' if args.quick else 'full'}, {elapsed:.0f} s, "
        f"{os.cpu_count()} CPUs, Keras {keras.__version__} on {keras.backend.backend()})"
    )
    for note in notes:
        print(f"  {note}")
    header = f"{'measurement':<66} {'ours':>10} {'reference':>10} {'ratio':>7} {'target':>8}  met"
    print(header + "\n" + "-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<66} {r['ours']:>10.3f} {r['reference']:>10.3f} {r['ratio']:>7.2f} "
            f"{r['target']:>8}  {'yes' if r['met'] else 'NO'}"
        )
    results = {
        "mode": "quick" if args.quick else "full",
        "settings": {**settings, "large": list(settings["large"]), "memory": list(settings["memory"])},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
        },
        "seconds": round(elapsed, 1),
        "notes": notes,
        "rows": rows,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from colorlib.core.io import write_json

    write_json(out_path, results)
    print(f"\nwrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
