"""The comparison page: ``compare.html`` and ``compare.md`` of the variants side by side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from colorlib.core.io import atomic_write, read_json
from colorlib.data import images
from colorlib.reports import gallery, slider
from colorlib.reports.htmlreport import format_seconds
from colorlib.workflow import RunPaths
from colorlib.workflow.compare import (
    BASELINES,
    COLUMNS,
    COMPARE_FILE,
    GRID_GRAY_PHOTOS,
    GRID_SIDE,
    GRID_TEST_PHOTOS,
    MARKDOWN_FILE,
    TEST_SET,
    Comparison,
    Variant,
    best_rows,
)


def _outputs(variant: Variant, set_name: str) -> dict[str, Path]:
    folder = RunPaths(variant.run_dir).outputs_dir / set_name
    return {path.stem: path for path in images.list_images(folder)} if folder.is_dir() else {}


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
