"""One comparison of every variant: train them all, then one self-contained ``compare.html``.

:func:`run_variants` runs the notebook chain (:func:`colorlib.chain.run_chain`) for each
parameters file of ``params/variants/`` in turn, going on when one fails; finished steps
are skipped by their keys, so a rerun is fast. :func:`load_variant` reads a finished run
(its ``metrics/summary.json``), from its parameters file or its run folder;
:func:`compare_html` puts the runs side by side: one table of the metrics on the test
photos and on each benchmark set, with the gray and mean-ab baselines, the time each run
took, and a grid of the same photos colorized by every variant. :func:`choose_best` picks
the variant for ``params/best.yaml``: the lowest |Δ colorfulness| on the test photos among
those within :data:`PSNR_MARGIN_DB` of the gray baseline's PSNR.
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

import jinja2

from colorlib import chain, data, gallery, slider
from colorlib.baselines import BASELINE_LABELS
from colorlib.config import project_root
from colorlib.htmlreport import STATUS_OK, format_seconds
from colorlib.io import atomic_write, read_json
from colorlib.params import load_params
from colorlib.workflow import GAN_MODEL_FOLDER, RunPaths

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
    "delta_colorfulness": ("|Δ colorfulness|", False),
    "auc": ("AuC (%)", True),
}
#: The image set every run is scored on (the benchmark sets follow).
TEST_SET = "test"
#: The baselines shown under the variants, in this order (labels of the metrics tables).
BASELINES = tuple(BASELINE_LABELS.values())
#: ``params/best.yaml``: a variant qualifies when its test PSNR is at least the gray baseline's minus this.
PSNR_MARGIN_DB = 0.5
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
    #: Adversarial epochs of a ``loss: gan`` run (its ``model-gan/`` history), after ``epochs``.
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
    gan_epochs = _epochs(RunPaths(run_dir, GAN_MODEL_FOLDER).history_csv)
    tables = read_json(summary)["result"]["tables"]
    seconds = run_seconds(project_root() / reports_dir, name)  # as the chain resolves it
    return Variant(name, run_dir, params_file, tables, seconds, epochs, gan_epochs)


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


def choose_best(variants: Sequence[Variant], margin_db: float = PSNR_MARGIN_DB) -> tuple[Variant, str]:
    """The variant with the lowest test |Δ colorfulness| among those with PSNR ≥ gray − ``margin_db``.

    Returns the variant and a sentence saying why. Raises ValueError when the gray baseline
    is unknown or no variant reaches the PSNR condition.
    """
    gray = build_comparison(variants).baselines.get(TEST_SET, {}).get("gray", {}).get("psnr")
    if gray is None:
        raise ValueError("No run has the gray baseline on the test photos: rerun notebook 05 of a variant.")
    floor = gray - margin_db
    passing = [
        v for v in variants if (v.tables.get(TEST_SET, {}).get("model", {}).get("psnr") or -math.inf) >= floor
    ]
    if not passing:
        raise ValueError(
            f"No variant reaches a test PSNR of {floor:.2f} dB (gray {gray:.2f} dB − {margin_db} dB), so "
            "none is chosen: train the variants longer or compare others."
        )
    chosen = min(passing, key=lambda v: v.tables[TEST_SET]["model"]["delta_colorfulness"])
    model = chosen.tables[TEST_SET]["model"]
    reason = (
        f"lowest |Δ colorfulness| on the test photos ({model['delta_colorfulness']:.2f}) among the "
        f"{len(passing)} of {len(variants)} variants with PSNR ≥ gray − {margin_db} dB "
        f"({model['psnr']:.2f} ≥ {floor:.2f} dB)"
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


def _outputs(variant: Variant, set_name: str) -> dict[str, Path]:
    folder = RunPaths(variant.run_dir).outputs_dir / set_name
    return {path.stem: path for path in data.list_images(folder)} if folder.is_dir() else {}


def _inputs(variant: Variant, set_name: str) -> dict[str, Path]:
    split_file = RunPaths(variant.run_dir).split_json
    split = read_json(split_file) if split_file.is_file() else {}
    return {Path(path).stem: Path(path) for path in split.get(set_name, []) if Path(path).is_file()}


def _embed(image: Any) -> str:
    height, width = image.shape[:2]
    return slider.jpeg_base64(image, (width, height))


def grid_rows(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    """Rows of the photo grid, ``{"name", "cells"}``: gray input, each variant, original (base64 or None).

    A few test photos that every variant colorized (originals from the first run's split),
    then a few real black-and-white photos (``outputs/gray``, no original).
    """
    rows = []
    for set_name, count in ((TEST_SET, GRID_TEST_PHOTOS), ("gray", GRID_GRAY_PHOTOS)):
        outputs = [_outputs(variant, set_name) for variant in variants]
        known = [found for found in outputs if found]
        stems = sorted(set.intersection(*(set(found) for found in known))) if known else []
        inputs = _inputs(variants[0], set_name)
        for stem in stems[:count]:
            colorized = [
                gallery.load_for_display(found[stem], GRID_SIDE) if stem in found else None
                for found in outputs
            ]
            source = inputs.get(stem)
            shown = (
                gallery.load_for_display(source, GRID_SIDE)
                if source
                else next(c for c in colorized if c is not None)
            )
            original = shown if source and set_name == TEST_SET else None
            cells = [gallery.gray_version(shown), *colorized, original]
            rows.append(
                {"name": f"{set_name}: {stem}", "cells": [None if c is None else _embed(c) for c in cells]}
            )
    return rows


_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>colorlib: the variants compared</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.baseline td{color:#666;font-style:italic}
td.best{font-weight:bold;background:#e6f4e6}
.grid td{vertical-align:top;text-align:center;padding:.2em}
.grid img{display:block;max-width:{{ side }}px;width:100%;height:auto}
.note{color:#8a4b00}
</style></head><body>
<h1>The variants compared</h1>
<p>{{ variants|length }} runs, made on {{ today }}. Best variant of each column in bold (the baselines,
in italics, are the same code on the same photos and are not ranked). Colorfulness has no better direction;
|Δ colorfulness| is its distance to the originals'.</p>
{% for note in notes %}<p class="note">{{ note }}</p>{% endfor %}
<table class="metrics"><thead><tr><th rowspan="2">method</th><th rowspan="2">time</th>
{% for set in sets %}<th colspan="{{ columns|length }}">{{ set }} ({{ counts[set] }} photos)</th>
{% endfor %}</tr><tr>{% for set in sets %}{% for title in titles %}<th>{{ title }}</th>{% endfor %}
{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr class="{{ row.kind }}"><td>{{ row.name }}</td><td>{{ row.time }}</td>
{% for set in sets %}{% for key in columns %}{% set value = row['values'].get(set, {}).get(key) %}
<td{% if row.kind == 'variant' and row.name in best.get((set, key), ()) %} class="best"{% endif %}>
{{- '—' if value is none else '%.3f'|format(value) }}</td>{% endfor %}{% endfor %}</tr>
{% endfor %}</tbody></table>
<h2>The same photos, colorized by every variant</h2>
<table class="grid"><thead><tr><th>photo</th><th>gray input</th>
{% for variant in variants %}<th>{{ variant.name }}</th>{% endfor %}<th>original</th></tr></thead><tbody>
{% for row in grid %}<tr><td>{{ row.name }}</td>{% for cell in row.cells %}<td>
{%- if cell %}<img alt="" src="data:image/jpeg;base64,{{ cell }}">{% else %}—{% endif %}</td>
{%- endfor %}</tr>
{% endfor %}</tbody></table>
</body></html>
"""
)


def _column_titles() -> list[str]:
    """The titles of :data:`COLUMNS` with the arrow of the better direction."""
    return [title + {True: " ↑", False: " ↓"}.get(higher, "") for title, higher in COLUMNS.values()]


def _time_text(variant: Variant) -> str:
    parts = [format_seconds(variant.seconds)] if variant.seconds is not None else []
    parts += [f"{variant.epochs} epochs"] if variant.epochs else []
    parts += [f"then {variant.gan_epochs} GAN epochs"] if variant.gan_epochs else []
    return ", ".join(parts) or "unknown"


def compare_html(comparison: Comparison, today: date | None = None) -> str:
    """The comparison page: self-contained HTML (inline CSS, photos embedded as base64 JPEG)."""
    rows = [
        {
            "kind": "variant",
            "name": v.name,
            "time": _time_text(v),
            "values": {s: t.get("model", {}) for s, t in v.tables.items()},
        }
        for v in comparison.variants
    ]
    for label in BASELINES:
        values = {s: table[label] for s, table in comparison.baselines.items() if label in table}
        if values:
            rows.append({"kind": "baseline", "name": f"{label} (baseline)", "time": "", "values": values})
    counts = {
        s: max((r["values"].get(s, {}).get("n") or 0 for r in rows), default=0) for s in comparison.sets
    }
    return _PAGE.render(
        variants=comparison.variants,
        notes=comparison.notes,
        sets=comparison.sets,
        counts=counts,
        columns=COLUMNS,
        titles=_column_titles(),
        rows=rows,
        best=best_rows(comparison),
        grid=grid_rows(comparison.variants),
        side=GRID_SIDE,
        today=(today or date.today()).isoformat(),
    )


def compare_markdown(comparison: Comparison) -> str:
    """The page's table as Markdown, one table per image set (variants, then the baselines):
    for a README or a paper. The best value of each ranked column is in bold."""
    best = best_rows(comparison)
    titles = [title.replace("|", "\\|") for title in _column_titles()]  # a pipe ends a Markdown cell
    parts = []
    for set_name in comparison.sets:
        lines = [
            f"**{set_name}**",
            "",
            "| method | " + " | ".join(titles) + " | time |",
            "|---|" + "---:|" * (len(COLUMNS) + 1),
        ]
        rows = [
            (v.name, v.tables.get(set_name, {}).get("model", {}), _time_text(v)) for v in comparison.variants
        ]
        rows += [
            (f"{label} (baseline)", comparison.baselines.get(set_name, {})[label], "")
            for label in BASELINES
            if label in comparison.baselines.get(set_name, {})
        ]
        for name, values, time_text in rows:
            cells = []
            for key in COLUMNS:
                value = values.get(key)
                text = "–" if value is None else f"{value:.3f}" if key == "ssim" else f"{value:.2f}"
                cells.append(f"**{text}**" if name in best.get((set_name, key), set()) else text)
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {time_text} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_compare(comparison: Comparison, out_dir: Path | str) -> Path:
    """Write ``compare.html`` and its table as ``compare.md`` into ``out_dir`` (made if missing);
    the path of ``compare.html``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / COMPARE_FILE) as temporary:
        temporary.write_text(compare_html(comparison))
    with atomic_write(out_dir / MARKDOWN_FILE) as temporary:
        temporary.write_text(compare_markdown(comparison))
    return out_dir / COMPARE_FILE
