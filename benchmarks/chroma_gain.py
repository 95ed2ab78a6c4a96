"""How far a colour gain moves a finished run along the trade-off between right colour and vivid colour.

A model trained with a per-pixel loss predicts ab shrunk towards the average of the plausible
colours: its outputs are less colourful than the photos (ΔCF 10-18 for colorlib's MSE U-Nets).
Multiplying every predicted ab by one gain g > 1 raises colourfulness, and where the hue is
wrong it makes the error larger. This script measures that trade-off for a run that notebook 05
has scored: it reads the pairs (original, output) of the run's per-photo CSV files
(``metrics/<set>_model.csv``), multiplies each output's ab by each gain, keeps its L, and scores it
at 256 × 256 with notebook 05's code. Gain 0 is the gray baseline and gain 1 the run's own
score, so both rows check it against notebook 05. Prints one table per set; nothing is written.
Not part of the test suite::

    python benchmarks/chroma_gain.py data/runs/pretrained [--gains 0,1,1.1,1.2,1.3,1.4] [--sets test]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorlib.color import lab
from colorlib.evaluation import metrics

#: The per-photo CSV of a run's model on one set: ``<set>_model.csv`` in ``metrics/``.
MODEL_CSV_SUFFIX = "_model.csv"


def scaled(rgb: np.ndarray, gain: float) -> np.ndarray:
    """uint8 (H, W, 3) RGB with its CIE ab multiplied by ``gain`` (L kept): uint8 (H, W, 3)."""
    values = lab.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    values[..., 1:] *= gain
    return lab.to_uint8(lab.lab_to_rgb(values))


def score_set(rows: list[dict[str, str]], gains: list[float]) -> dict[float, dict[str, float]]:
    """The mean PSNR, AuC and colourfulness over the pairs at each gain, and both colourfulness gaps."""
    scores: dict[float, list[dict[str, float]]] = {gain: [] for gain in gains}
    for row in tqdm(rows, unit="photo", leave=False):
        truth = metrics.load_for_scoring(row["truth"])
        output = metrics.load_for_scoring(row["prediction"])
        for gain in gains:
            scores[gain].append(metrics.score_pair(truth, scaled(output, gain)))
    table = {}
    for gain, per_photo in scores.items():
        mean = {key: float(np.mean([photo[key] for photo in per_photo])) for key in per_photo[0]}
        mean["delta_cf"] = mean["colorfulness_truth"] - mean["colorfulness"]
        table[gain] = mean
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run folder scored by notebook 05 (data/runs/<name>)")
    parser.add_argument("--gains", default="0,1,1.1,1.2,1.3,1.4", help="comma-separated gains (0: gray)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N photos of each set")
    parser.add_argument("--sets", default=None, help="comma-separated sets (test, kodak24, ...); default all")
    args = parser.parse_args()
    gains = [float(value) for value in args.gains.split(",")]
    if any(gain < 0 for gain in gains):
        raise SystemExit(f"Gains must be 0 or more, got {args.gains}.")
    csv_files = sorted((args.run_dir / "metrics").glob(f"*{MODEL_CSV_SUFFIX}"))
    if not csv_files:
        raise SystemExit(
            f"No per-photo scores in {args.run_dir / 'metrics'}: run notebook 05 for that run first."
        )
    if args.sets:
        available = {path.name.removesuffix(MODEL_CSV_SUFFIX): path for path in csv_files}
        missing = sorted(set(args.sets.split(",")) - set(available))
        if missing:
            raise SystemExit(f"No scores for {', '.join(missing)}; this run has {', '.join(available)}.")
        csv_files = [available[name] for name in args.sets.split(",")]
    for path in csv_files:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))[: args.limit]
        if not rows:
            print(f"\n{path.name}: no photos scored, skipped.")
            continue
        table = score_set(rows, gains)
        print(f"\n{path.name.removesuffix(MODEL_CSV_SUFFIX)} ({len(rows)} photos)")
        print("| gain | PSNR | AuC | colorfulness (truth) | ΔCF (papers) | abs. Δ colorf. per photo |")
        print("|---:|---:|---:|---:|---:|---:|")
        for gain, mean in table.items():
            colour = f"{mean['colorfulness']:.1f} ({mean['colorfulness_truth']:.1f})"
            gaps = f"{mean['delta_cf']:.1f} | {mean['delta_colorfulness']:.1f}"
            print(f"| {gain:g} | {mean['psnr']:.2f} | {mean['auc']:.2f} | {colour} | {gaps} |")


if __name__ == "__main__":
    main()
