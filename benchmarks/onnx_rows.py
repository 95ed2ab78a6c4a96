"""The ONNX Runtime rows of ``make bench`` (issue 41), used by ``bench.py`` or run alone.

The shipped colorizer (the Lite0 encoder with its ImageNet weights and the decoder with its hint
head), once as Keras runs it and once exported to ONNX and run by ONNX Runtime, on the same photos,
each runtime in its own process (in one process, TensorFlow's idle threads slow ONNX Runtime down):

(a) ``colorlib colorize FOLDER --out DIR --runtime R`` as a user runs it (start, read, colour at
    256 × 256, write at full size), wall seconds, Keras against ONNX Runtime (target >= 1.5);
(b) ``colorize_files`` alone on the same folder, photos per second once the model is loaded
    (no target: it shows where (a)'s gain comes from);
(c) one edit of the page (three hints, at the page's preview size: what ``colorlib serve`` runs
    for each click), median milliseconds (target: ONNX Runtime's at most 150 ms); the page's own
    timing, in Chromium, is ``benchmarks/serve_edit.py --runtime onnx``.

Each is measured twice, alternating the runtimes, and the better pass of each is kept.

    python benchmarks/onnx_rows.py [--photos FOLDER] [--count N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: Where the photos come from by default: Kodak24 and CBSD68 (shared data), or generated ones.
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "benchmarks"
#: Photos colorized in (a), edits timed in (b), and the three hints of (b) (fractions of the
#: photo's width and height, and a, b / 128).
COUNT, EDITS = 48, 12
HINTS = ((0.3, 0.35, (0.45, 0.3)), (0.65, 0.6, (-0.1, -0.4)), (0.5, 0.85, (-0.35, 0.3)))


def photo_paths(folder: Path | None, count: int, work: Path) -> tuple[list[Path], str]:
    """``count`` photos of ``folder`` (searched recursively), or generated 768 × 512 ones."""
    from colorlib.colorize.photofiles import scan_inputs

    if folder is not None and folder.is_dir():
        found = sorted(path for path, _ in scan_inputs([folder], recursive=True).photos)[:count]
        if found:
            return found, f"{len(found)} photos of {folder}"
    import cv2

    rng = np.random.default_rng(0)
    made = []
    for index in range(count):
        y, x = np.mgrid[0:512, 0:768]
        image = (127 + 120 * np.sin((x + index * 13) / 37.0)[..., None] * np.cos(y / 23.0)[..., None]) * [
            0.9,
            0.6,
            0.3,
        ] + rng.normal(0, 8, (512, 768, 3))
        path = work / f"generated-{index:03d}.jpg"
        cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8))
        made.append(path)
    return made, f"{count} generated 768×512 photos"


def folder_rate(model, paths: list[Path], out: Path) -> float:
    """Photos per second of ``colorize_files`` on ``paths``."""
    from colorlib.colorize import colorize

    start = time.perf_counter()
    report = colorize.colorize_files(model, paths, out, progress=False)
    seconds = time.perf_counter() - start
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} photos failed: {report.failed[:3]}")
    return len(paths) / seconds


def edit_ms(model, photo: Path, edits: int) -> float:
    """Median milliseconds of one edit (three hints, the preview re-rendered) on ``photo``."""
    from PIL import Image

    from colorlib.colorize.editing import PhotoEditor
    from colorlib.data.hints import Hint

    with Image.open(photo) as image:
        rgb = np.asarray(image.convert("RGB"))
    editor = PhotoEditor(model, rgb)
    hints = [Hint(x * editor.width, y * editor.height, ab) for x, y, ab in HINTS]
    editor.render(hints)  # warm-up
    times = []
    for number in range(edits):
        moved = [Hint(hint.x + number, hint.y, hint.ab) for hint in hints]
        start = time.perf_counter()
        editor.render(moved)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def child(kind: str, runtime: str, paths: list[Path], work: Path) -> float:
    """Run ``kind`` (``rate`` or ``edit``) for ``runtime`` in a fresh process; its number."""
    import json

    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, runtime, str(work)]
    command += [str(path) for path in paths]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"child {kind} {runtime} failed:\n{done.stderr[-3000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["value"])


def load(runtime: str, work: Path):
    """The shipped colorizer on ``runtime``: Keras, or its ONNX export in ``work``."""
    from colorlib.colorize import onnxmodel, pretrained

    if runtime == "onnx":
        return onnxmodel.OnnxColorizer(work / "shipped.onnx")
    from colorlib.core import quiet

    quiet.import_tensorflow_quietly()
    return pretrained.load_pretrained()


def command_seconds(runtime: str, folder: Path, out: Path, work: Path) -> float:
    """Wall seconds of ``colorlib colorize folder --out out --runtime runtime``."""
    model = ["--model", str(work / "shipped.onnx")] if runtime == "onnx" else []
    colorlib = str(Path(sys.executable).with_name("colorlib"))
    command = [colorlib, "colorize", str(folder), "--out", str(out), "--runtime", runtime, *model]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"colorize --runtime {runtime} failed:\n{done.stderr[-3000:]}")
    return seconds


def rows(paths: list[Path], work: Path, row) -> list[dict]:
    """The three rows (see the module docstring); ``row`` is ``bench.row``."""
    from colorlib.colorize import onnxmodel, pretrained

    onnxmodel.export_onnx(pretrained.load_pretrained(), work / "shipped.onnx", source="the benchmark")
    folder = work / "photos"
    folder.mkdir(exist_ok=True)
    for path in paths:
        target = folder / path.name
        if not target.exists():
            target.symlink_to(path.resolve())
    runtimes = ("keras", "onnx")
    seconds = {name: [] for name in runtimes}
    rates = {name: [] for name in runtimes}
    edits = {name: [] for name in runtimes}
    for attempt in range(2):
        for name in runtimes:
            seconds[name].append(command_seconds(name, folder, work / f"cli-{name}-{attempt}", work))
            rates[name].append(child("rate", name, paths, work))
            edits[name].append(child("edit", name, paths[:1], work))
    keras_s, onnx_s = min(seconds["keras"]), min(seconds["onnx"])
    keras_rate, onnx_rate = max(rates["keras"]), max(rates["onnx"])
    keras_edit, onnx_edit = min(edits["keras"]), min(edits["onnx"])
    return [
        row(
            f"colorlib colorize, {len(paths)} photos: Keras vs ONNX Runtime (s, as users run it)",
            onnx_s,
            keras_s,
            "s",
            keras_s / onnx_s,
            1.5,
            True,
            "the whole command (start, read, colour, write), the shipped colorizer; best of 2 runs",
        ),
        row(
            f"colorize_files alone, {len(paths)} photos: ONNX Runtime vs Keras (photos/s)",
            onnx_rate,
            keras_rate,
            "photos/s",
            onnx_rate / keras_rate,
            0.0,
            True,
            "once loaded, each in its own process; no target: where the command's gain comes from",
        ),
        row(
            "one page edit (3 hints, preview size) on ONNX Runtime (ms) vs 150 ms; Keras in the note",
            onnx_edit,
            150.0,
            "ms",
            onnx_edit / 150.0,
            1.0,
            False,
            f"median of {EDITS} edits; Keras {keras_edit:.0f} ms (its decoder alone on kept encoder "
            "features; ONNX Runtime runs the whole graph)",
        ),
    ]


def run_child(kind: str, runtime: str, work: Path, paths: list[Path]) -> float:
    model = load(runtime, work)
    if kind == "rate":
        folder_rate(model, paths[:2], work / f"warm-{runtime}")  # Keras builds its function
        return folder_rate(model, paths, work / f"rate-{runtime}")
    return edit_ms(model, paths[0], EDITS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="a folder of photos")
    parser.add_argument("--count", type=int, default=COUNT, help=f"photos colorized (default {COUNT})")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import json

        kind, runtime, work, *paths = args.child
        print(json.dumps({"value": run_child(kind, runtime, Path(work), [Path(p) for p in paths])}))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench import row

    from colorlib.core import quiet

    quiet.import_tensorflow_quietly()
    with tempfile.TemporaryDirectory(prefix="colorlib-onnx-bench-") as folder:
        work = Path(folder)
        paths, described = photo_paths(args.photos, args.count, work)
        print(f"{described}; Keras and ONNX Runtime, each in its own process ...", flush=True)
        for result in rows(paths, work, row):
            print(
                f"{result['name']:<86} {result['ours']:>8.2f} {result['reference']:>8.2f} "
                f"{result['ratio']:>6.2f} {result['target']:>6}  {'yes' if result['met'] else 'NO'}"
            )
            print(f"    {result['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
