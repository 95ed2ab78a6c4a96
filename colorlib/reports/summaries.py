"""The short texts the notebooks print: one-line facts, the parameters table, metrics tables.

:func:`describe_array` and :func:`describe_names` give one deterministic line about an array
or a list of names. The notebooks print them in cells marked ``# NBVAL_CHECK_OUTPUT``, whose
output the notebook tests compare with ``tests/nbval_expected.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Sized
from typing import Any

import numpy as np

from colorlib.core.params import Params, param_docs

#: Parameter name/value pairs per row of :func:`params_table`.
PARAMS_PER_ROW = 3
#: The header of one name/value pair of :func:`params_table` (the reports find the table by it).
PARAMS_TABLE_HEADER = "parameter | value"


def params_table(params: Params) -> str:
    """The resolved parameters as one compact Markdown table (shown once at the top of a report).

    Values that differ from the defaults are in bold; each name's doc is its tooltip.
    """
    defaults = Params()
    docs = param_docs()
    cells = []
    for name, value in params.as_dict().items():
        shown = f"`{value!r}`"
        if value != getattr(defaults, name):
            shown = f"**{shown}**"
        cells.append(f'<span title="{docs[name]}">{name}</span> | {shown}')
    while len(cells) % PARAMS_PER_ROW:
        cells.append(" | ")
    header = " | ".join([PARAMS_TABLE_HEADER] * PARAMS_PER_ROW)
    rule = " | ".join(["--- | ---"] * PARAMS_PER_ROW)
    rows = [
        " | ".join(cells[start : start + PARAMS_PER_ROW]) for start in range(0, len(cells), PARAMS_PER_ROW)
    ]
    return "\n".join(f"| {line} |" for line in [header, rule, *rows]) + (
        "\n\nIn bold: values that differ from the original project's defaults."
    )


def is_params_table(markdown: str) -> bool:
    """Whether ``markdown`` is a table made by :func:`params_table`."""
    return markdown.startswith(f"| {PARAMS_TABLE_HEADER} |")


def describe_array(name: str, array: np.ndarray, decimals: int | None = 2) -> str:
    """One line: ``"L: float32 (4, 64, 64, 1) in [0.00, 1.00]"`` (range rounded to ``decimals``).

    ``decimals=None`` leaves the range out, for values that vary between machines.
    """
    array = np.asarray(array)
    if decimals is None:
        return f"{name}: {array.dtype} {tuple(array.shape)}"
    if array.size == 0:
        return f"{name}: {array.dtype} {array.shape} (empty)"
    low, high = float(np.min(array)), float(np.max(array))
    return f"{name}: {array.dtype} {tuple(array.shape)} in [{low:.{decimals}f}, {high:.{decimals}f}]"


def describe_names(title: str, names: Iterable[str]) -> str:
    """One line listing names in order, e.g. the metrics a table holds."""
    return f"{title}: {', '.join(str(name) for name in names)}"


def describe_counts(title: str, counts: Mapping[str, Any]) -> str:
    """One line of counts, e.g. ``"split: train 5, validation 2, test 2"``.

    A value with a length (a list of files) is counted; a number is shown as it is.
    """
    parts = [
        f"{name} {len(value) if isinstance(value, Sized) and not isinstance(value, str) else value}"
        for name, value in counts.items()
    ]
    return f"{title}: {', '.join(parts)}"


def describe_model(model: Any) -> str:
    """One line about a Keras model: layers, input and output shapes, weights (trainable)."""
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    total = sum(int(np.prod(weight.shape)) for weight in model.weights)
    return (
        f"{model.name}: {len(model.layers)} layers, input {tuple(model.input_shape)} -> output "
        f"{tuple(model.output_shape)}, {total:,} weights ({trainable:,} trainable)"
    )


def row_titles(rows: Sequence[Mapping[str, Any]], keys: Sequence[str] = ("auc", "psnr")) -> list[str]:
    """Short titles for scored images: ``"coffee\\nauc 81.2, psnr 24.1"``."""
    return [f"{row['name']}\n" + ", ".join(f"{key} {row[key]:.1f}" for key in keys) for row in rows]


def metrics_markdown(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """One Markdown table per image set (the run's test photos, a benchmark): methods × metrics."""
    from colorlib.evaluation import metrics

    sections = []
    for set_name, table in tables.items():
        count = max((summary.get("n") or 0 for summary in table.values()), default=0)
        sections.append(f"**{set_name}** ({count} photos)\n\n{metrics.comparison_table(table)}")
    return "\n\n".join(sections)


def summary_markdown(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The written reading of the numbers (:func:`colorlib.evaluation.metrics.describe_results`)
    per image set."""
    from colorlib.evaluation import metrics

    return "\n\n".join(f"**{name}**: {metrics.describe_results(table)}" for name, table in tables.items())


def describe_skipped(skipped: Sequence[tuple[str, str]]) -> str:
    """One line per file left out, ``path: reason``, or a line saying none was."""
    if not skipped:
        return "No file was skipped."
    return "\n".join(f"skipped {path}: {reason}" for path, reason in skipped)
