"""One comparison of every variant: train them all, then one self-contained ``compare.html``.

:func:`run_variants` runs the notebook chain (:func:`colorlib.workflow.chain.run_chain`) for each
parameters file of ``params/variants/`` in turn, going on when one fails; finished steps
are skipped by their keys, so a rerun is fast. :func:`load_variant` reads a finished run
(its ``metrics/summary.json``), from its parameters file or its run folder;
:func:`compare_html` puts the runs side by side: one table of the metrics on the test
photos and on each benchmark set, with the gray and mean-ab baselines, the time each run
took, and a grid of the same photos colorized by every variant. :func:`choose_best` picks
the variant for ``params/best.yaml`` by the rule of ``colorlib ship``
(:func:`colorlib.workflow.ship.shortfalls`): among the variants above the gray baseline on PSNR
and on AuC on every scored set, the lowest ΔCF on the test photos, as the papers count it.

Two colour-strength columns, each named for what it is: **ΔCF (papers)** is
|mean colorfulness of the outputs − mean colorfulness of the originals| (DDColor's Table 1);
**|Δ colorfulness| per photo** is the mean over photos of each photo's own gap, which the
papers' measure hides when some photos are too vivid and others too dull.
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from colorlib.core.config import project_root
from colorlib.core.io import read_json
from colorlib.core.params import load_params
from colorlib.evaluation.baselines import BASELINE_LABELS
from colorlib.reports.htmlreport import STATUS_OK
from colorlib.training.adversarial_model import MODEL_FOLDERS as ADVERSARIAL_FOLDERS
from colorlib.workflow import RunPaths, chain, ship

#: The file the comparison is written to, inside the output folder.
COMPARE_FILE = "compare.html"
#: The same table in Markdown, beside it.
MARKDOWN_FILE = "compare.md"
#: A run's scores, in its ``metrics/`` folder (written by notebook 05).
SUMMARY_FILE = "summary.json"
#: The metrics of the table, with their titles and whether higher is better (None: no direction).
COLUMNS = {
    "psnr": ("PSNR (dB)", True),
    "ssim": ("SSIM", True),
    "colorfulness": ("Colorfulness", None),
    "delta_cf": ("ΔCF (papers)", False),
    "delta_colorfulness": ("|Δ colorfulness| per photo", False),
    "auc": ("AuC (%)", True),
}
#: The image set every run is scored on (the benchmark sets follow).
TEST_SET = "test"
#: The baselines shown under the variants, in this order (labels of the metrics tables).
BASELINES = tuple(BASELINE_LABELS.values())
#: Baselines of two runs of the same split agree when their values differ by less than this.
AGREEMENT_TOLERANCE = 1e-6
#: Photos in the grid: this many test photos (with their originals) and real black-and-white ones.
GRID_TEST_PHOTOS = 4
GRID_GRAY_PHOTOS = 3
#: Longest side of the photos embedded in the grid, in pixels.
GRID_SIDE = 384


@dataclass
class Variant:
    """A finished run: its name, where it lives, its metrics tables and how long it took."""

    name: str
    run_dir: Path
    params_file: Path | None
    tables: dict[str, dict[str, dict[str, Any]]]
    seconds: float | None = None
    epochs: int | None = None
    #: Adversarial epochs of a ``loss: gan`` or ``ddcolor`` run (its ``model-gan/`` or
    #: ``model-ddcolor/`` history), after ``epochs``.
    gan_epochs: int | None = None


@dataclass
class VariantOutcome:
    """How one variant's chain went in :func:`run_variants`: ``error`` is None when it finished."""

    params_file: Path
    seconds: float
    error: str | None = None
    report_dir: Path | None = None


@dataclass
class Comparison:
    """What :func:`compare_html` shows besides the photos, and the notes about it."""

    variants: list[Variant]
    sets: list[str]
    baselines: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def variant_files(params_dir: Path | str, only: Sequence[str] = ()) -> list[Path]:
    """The YAML files of ``params_dir`` in name order; ``only`` keeps those named (file stems)."""
    params_dir = Path(params_dir)
    if not params_dir.is_dir() and not params_dir.is_absolute():
        params_dir = project_root() / params_dir  # run from outside the checkout, like the chain
    files = sorted(params_dir.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"No YAML parameters file in {params_dir}; give the folder of the variants.")
    unknown = sorted(set(only) - {file.stem for file in files})
    if unknown:
        names = ", ".join(file.stem for file in files)
        raise ValueError(f"No variant named {', '.join(unknown)} in {params_dir}; choose among {names}.")
    return [file for file in files if not only or file.stem in only]


def run_variants(
    files: Sequence[Path], log: Callable[[str], None] = chain.print_now, **chain_options: Any
) -> list[VariantOutcome]:
    """Run the chain for each parameters file in turn; a failing one is recorded and the next runs."""
    outcomes = []
    for file in files:
        started = time.perf_counter()
        try:
            report_dir = chain.run_chain(file, log=log, **chain_options)
            error = None
        except Exception as failure:  # one variant's failure must not stop the others
            report_dir, error = getattr(failure, "report_dir", None), f"{type(failure).__name__}: {failure}"
        outcomes.append(VariantOutcome(Path(file), time.perf_counter() - started, error, report_dir))
    return outcomes


def run_seconds(reports_dir: Path | str, run_name: str) -> float | None:
    """Seconds of the longest report of ``run_name`` whose notebooks all ran (a full run, not a rerun)."""
    pattern = re.compile(rf"\d{{8}}-\d{{6}}-{re.escape(run_name)}(-\d+)?")
    totals = []
    for folder in Path(reports_dir).glob(f"*-{run_name}*"):
        timings_file = folder / "timings.json"
        if not pattern.fullmatch(folder.name) or not timings_file.is_file():
            continue
        timings = read_json(timings_file)
        if len(timings) == len(chain.NOTEBOOKS) and all(t["status"] == STATUS_OK for t in timings.values()):
            totals.append(sum(t["seconds"] for t in timings.values()))
    return max(totals, default=None)


def load_variant(source: Path | str, reports_dir: Path | str = "reports") -> Variant:
    """A finished run, from its parameters YAML file or its run folder (``data/runs/<name>``)."""
    source = Path(source)
    if source.is_file():
        params = load_params(source)
        name, run_dir, params_file = params.run_name, params.run_dir, source
    elif source.is_dir():
        name, run_dir, params_file = source.name, source, None
    else:
        raise FileNotFoundError(f"{source} is neither a parameters file nor a run folder; check the path.")
    paths = RunPaths(run_dir)
    summary = paths.metrics_dir / SUMMARY_FILE
    if not summary.is_file():
        raise FileNotFoundError(
            f"{name} has no {summary}: run its chain first (colorlib pipeline --params <its YAML file>)."
        )
    epochs = _epochs(paths.history_csv)
    folders = ADVERSARIAL_FOLDERS.values()
    gan_epochs = next(filter(None, (_epochs(RunPaths(run_dir, f).history_csv) for f in folders)), None)
    tables = with_delta_cf(read_json(summary)["result"]["tables"])
    seconds = run_seconds(project_root() / reports_dir, name)  # as the chain resolves it
    return Variant(name, run_dir, params_file, tables, seconds, epochs, gan_epochs)


def with_delta_cf(tables: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The tables with ``delta_cf`` (ΔCF as the papers count it) added to every summary that has
    the colorfulness of the originals."""
    return {
        set_name: {
            method: {**summary, "delta_cf": ship.delta_cf(summary)}
            if "colorfulness_truth" in summary
            else summary
            for method, summary in table.items()
        }
        for set_name, table in tables.items()
    }


def _epochs(history_csv: Path) -> int | None:
    """Finished epochs: the rows of the training history (not read with Keras, to stay light)."""
    if not history_csv.is_file():
        return None
    with open(history_csv, newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle)) or None


def _split_key(run_dir: Path) -> str | None:
    record = RunPaths(run_dir).dataset_json
    return read_json(record).get("key") if record.is_file() else None


def _agree(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return all(
        math.isclose(first.get(key) or 0.0, second.get(key) or 0.0, abs_tol=AGREEMENT_TOLERANCE)
        for key in COLUMNS
    )


def build_comparison(variants: Sequence[Variant]) -> Comparison:
    """The sets (test first), the baselines of the first run that has them, and notes on disagreements."""
    if not variants:
        raise ValueError("No finished variant to compare: run the variants first (colorlib variants).")
    names = {name for variant in variants for name in variant.tables}
    comparison = Comparison(list(variants), [TEST_SET, *sorted(names - {TEST_SET})])
    origin: dict[tuple[str, str], Variant] = {}
    for variant in variants:
        for set_name, table in variant.tables.items():
            for label in BASELINES:
                if label not in table:
                    continue
                first = origin.setdefault((set_name, label), variant)
                comparison.baselines.setdefault(set_name, {}).setdefault(label, table[label])
                same_split = _split_key(first.run_dir) == _split_key(variant.run_dir)
                if same_split and not _agree(comparison.baselines[set_name][label], table[label]):
                    comparison.notes.append(
                        f"The {label} baseline on {set_name} differs between {first.name} and "
                        f"{variant.name} though they share the split; the table shows {first.name}'s."
                    )
    return comparison


def best_rows(comparison: Comparison) -> dict[tuple[str, str], set[str]]:
    """``{(set, metric): variant names}``: the best variants of each ranked column (ties: all)."""
    best = {}
    for set_name in comparison.sets:
        for key, (_, higher) in COLUMNS.items():
            values = {
                variant.name: variant.tables[set_name]["model"][key]
                for variant in comparison.variants
                if variant.tables.get(set_name, {}).get("model", {}).get(key) is not None
            }
            if higher is not None and values:
                top = (max if higher else min)(values.values())
                best[set_name, key] = {name for name, value in values.items() if value == top}
    return best


def choose_best(variants: Sequence[Variant]) -> tuple[Variant, str]:
    """The variant ``colorlib ship`` would choose: among those above gray on PSNR and AuC on every
    scored set (:func:`colorlib.workflow.ship.shortfalls`), the lowest ΔCF (papers) on the test photos.

    Returns the variant and a sentence saying why. Raises ValueError, naming each variant's
    shortfalls, when none qualifies: vivid but wrong colours are never chosen.
    """
    if not variants:
        raise ValueError("No finished variant to choose from: run the variants first (colorlib variants).")
    missing = {v.name: ship.shortfalls(v.tables) for v in variants}
    passing = [v for v in variants if not missing[v.name]]
    if not passing:
        why = "; ".join(f"{name}: {', '.join(found)}" for name, found in missing.items())
        raise ValueError(
            f"No variant is above the gray baseline on PSNR and AuC on every set, so none is chosen ({why}). "
            "Train the variants longer or compare others."
        )
    chosen = min(passing, key=lambda v: ship.delta_cf(v.tables[TEST_SET]["model"]))
    model = chosen.tables[TEST_SET]["model"]
    reason = (
        f"lowest ΔCF (papers) on the test photos ({ship.delta_cf(model):.2f}; per photo "
        f"{model['delta_colorfulness']:.2f}) among the {len(passing)} of {len(variants)} variants above "
        f"gray on PSNR and AuC on every set ({', '.join(chosen.tables)})"
    )
    return chosen, reason


def write_best(variant: Variant, reason: str, path: Path | str, today: date | None = None) -> Path:
    """Copy the chosen variant's parameters file to ``path`` under a comment saying when and why."""
    if variant.params_file is None:
        raise ValueError(f"{variant.name} was given as a run folder; give its parameters file to copy it.")
    when = (today or date.today()).isoformat()
    header = f"# Chosen by `colorlib compare` on {when} from {variant.params_file}:\n# {reason}.\n"
    path = Path(path)
    path.write_text(header + variant.params_file.read_text())
    return path
