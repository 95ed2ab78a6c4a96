"""Charts of the metrics: each method against the gray baseline, per photo, and per GAN epoch.

Like :mod:`colorlib.reports.viz`, every function returns a :class:`matplotlib.figure.Figure` and shows
nothing (display it, or save it with :func:`colorlib.reports.viz.save_figure`). The tables are those
of :func:`colorlib.evaluation.metrics.summarize` (method -> metric -> mean), the per-photo rows those of
:class:`colorlib.evaluation.metrics.EvaluationResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from colorlib.reports.viz import finish_figure

#: The method the difference charts measure from: the gray input itself (ab = 0).
BASELINE_METHOD = "gray"


#: Metrics of :func:`metrics_delta_chart` unless told otherwise.
DELTA_METRICS = ("psnr", "ssim", "auc", "colorfulness")


#: Metrics whose target is a value of the originals rather than "higher": the charts mark it.
REFERENCE_KEYS = {"colorfulness": "colorfulness_truth"}


#: Marker of each method in :func:`metrics_scatter`, in the table's order (not colour alone).
METHOD_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def method_colours(methods: Sequence[str]) -> dict[str, tuple]:
    """One tab10 colour per method, in the table's order: a method has one colour in every chart."""
    cmap = plt.get_cmap("tab10")
    return {method: cmap(index % cmap.N) for index, method in enumerate(methods)}


def _metric_titles(titles: Mapping[str, str] | None) -> Mapping[str, str]:
    if titles is not None:
        return titles
    from colorlib.evaluation.metrics import METRIC_TITLES

    return METRIC_TITLES


def _rows(scores) -> list[Mapping]:
    """Per-image rows from a list of rows or an :class:`colorlib.evaluation.metrics.EvaluationResult`."""
    return list(getattr(scores, "per_image", scores))


def _per_photo_differences(per_image: Mapping, method: str, baseline: str, key: str) -> np.ndarray:
    """``method``'s score minus ``baseline``'s for each photo both scored (matched by name)."""
    base = {row["name"]: row[key] for row in _rows(per_image[baseline])}
    return np.array([row[key] - base[row["name"]] for row in _rows(per_image[method]) if row["name"] in base])


def metrics_bar_chart(
    table: Mapping[str, Mapping[str, float | None]],
    metrics: Sequence[str] | None = ("psnr", "ssim", "auc", "colorfulness"),
    titles: Mapping[str, str] | None = None,
) -> Figure:
    """Bars of each method (model, baselines) for each metric, one panel per metric.

    ``table[method][metric]`` is a number (None or missing: no bar). ``metrics=None``
    draws every metric in the table. ``titles`` maps a metric to its panel title
    (default :data:`colorlib.evaluation.metrics.METRIC_TITLES` when available). Axes: one per metric.
    """
    if not table:
        raise ValueError("metrics_bar_chart needs at least one method.")
    if metrics is None:
        metrics = list(dict.fromkeys(key for row in table.values() for key in row if key != "n"))
    metrics = [key for key in metrics if any(row.get(key) is not None for row in table.values())]
    if not metrics:
        raise ValueError("None of the requested metrics has a value in the table.")
    titles = _metric_titles(titles)
    methods = list(table)
    colours = list(method_colours(methods).values())
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(max(3.0, 1.1 * len(methods)) * len(metrics), 3.8),
        squeeze=False,
        layout="constrained",
    )
    for ax, key in zip(axes[0], metrics, strict=True):
        values = [table[method].get(key) for method in methods]
        heights = [np.nan if value is None else float(value) for value in values]
        bars = ax.bar(range(len(methods)), heights, color=colours)
        ax.bar_label(bars, labels=["" if np.isnan(h) else f"{h:.3g}" for h in heights], fontsize=8)
        for index in np.flatnonzero(np.isnan(heights)):
            ax.text(index, 0, "n/a", ha="center", va="bottom", fontsize=8, color="0.4")
        ax.set_xticks(range(len(methods)), methods, rotation=20, ha="right")
        ax.set_title(titles.get(key, key), fontsize=10)
        ax.set_ylabel("mean over the photos")
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    return finish_figure(fig)


def metrics_delta_chart(
    table: Mapping[str, Mapping[str, float | None]],
    baseline: str = BASELINE_METHOD,
    metrics: Sequence[str] = DELTA_METRICS,
    per_image: Mapping[str, Sequence[Mapping] | object] | None = None,
    titles: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Each method's difference from ``baseline`` (the gray input), one panel per metric.

    ``title`` names the figure, e.g. the image set the table scores.

    The methods often sit within a fraction of a unit of each other (PSNR, SSIM), so bars
    drawn from zero look the same; bars of the difference show who is ahead, and by how
    much. A bar is the difference of the means in ``table[method][metric]``. With
    ``per_image`` (method -> per-image rows or an EvaluationResult, the baseline included)
    a dot per photo shows how the per-photo differences spread (photos matched by name).
    For colorfulness the originals' value is a dashed line: it is the target, not "more is
    better". Axes: one per metric that the baseline has.
    """
    if baseline not in table:
        raise ValueError(
            f"The table has no {baseline!r} row to measure from (methods: {', '.join(table)}); "
            "pass baseline= one of them."
        )
    methods = [method for method in table if method != baseline]
    if not methods:
        raise ValueError(f"The table has only the baseline {baseline!r}: there is nothing to compare.")
    metrics = [key for key in metrics if table[baseline].get(key) is not None]
    if not metrics:
        raise ValueError(f"None of the requested metrics has a value for the baseline {baseline!r}.")
    titles = _metric_titles(titles)
    colours = method_colours(list(table))
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(max(2.6, 1.0 * len(methods) + 1.2) * len(metrics), 3.8),
        squeeze=False,
        layout="constrained",
    )
    if title:
        fig.suptitle(title, fontweight="bold")
    for ax, key in zip(axes[0], metrics, strict=True):
        base = float(table[baseline][key])
        values = [table[method].get(key) for method in methods]
        deltas = [np.nan if value is None else float(value) - base for value in values]
        bars = ax.bar(range(len(methods)), deltas, color=[colours[method] for method in methods], width=0.6)
        ax.bar_label(bars, labels=["" if np.isnan(d) else f"{d:+.3g}" for d in deltas], fontsize=8, padding=2)
        for index, method in enumerate(methods):
            if np.isnan(deltas[index]):
                ax.text(index, 0, "n/a", ha="center", va="bottom", fontsize=8, color="0.4")
            elif per_image is not None and method in per_image and baseline in per_image:
                points = _per_photo_differences(per_image, method, baseline, key)
                offsets = np.linspace(-0.18, 0.18, len(points)) if len(points) > 1 else np.zeros(len(points))
                ax.scatter(
                    index + offsets, points, s=18, color="0.1", edgecolors="white", linewidths=0.6, zorder=3
                )
        reference = REFERENCE_KEYS.get(key)
        if reference and table[baseline].get(reference) is not None:
            ax.axhline(float(table[baseline][reference]) - base, color="0.35", linestyle="--", linewidth=1)
            ax.annotate(
                "originals",
                (0.98, float(table[baseline][reference]) - base),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                fontsize=8,
                color="0.35",
            )
        ax.axhline(0, color="0.2", linewidth=0.8)
        ax.set_xticks(range(len(methods)), methods, rotation=20, ha="right")
        ax.set_title(f"{titles.get(key, key)}\n{baseline} = {base:.4g}", fontsize=10)
        ax.margins(x=0.15, y=0.2)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel(f"difference from {baseline}")
    return finish_figure(fig)


def metrics_scatter(
    per_image: Mapping[str, Sequence[Mapping] | object],
    x: str = "colorfulness",
    y: str = "psnr",
    titles: Mapping[str, str] | None = None,
) -> Figure:
    """Every photo of every method as a point, ``y`` against ``x``, one colour and marker per method. 1 axis.

    ``per_image`` maps a method to its per-image rows (or EvaluationResult). With the
    defaults it shows what the means hide: PSNR barely moves with colorfulness, and the gray
    input (colorfulness 0) scores about as well as any colours. A thin line joins the methods
    of one photo (matched by name); the originals' mean colorfulness is a dashed line: the
    colours a reader expects.
    """
    if not per_image:
        raise ValueError("metrics_scatter needs the per-image scores of at least one method.")
    titles = _metric_titles(titles)
    colours = method_colours(list(per_image))
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    by_name: dict[str, list[tuple[float, float]]] = {}
    for scores in per_image.values():
        for row in _rows(scores):
            by_name.setdefault(row["name"], []).append((row[x], row[y]))
    for points in by_name.values():  # one photo's methods, joined: who is ahead on that photo
        ax.plot(*zip(*sorted(points), strict=True), color="0.75", linewidth=0.7, zorder=1)
    for index, (method, scores) in enumerate(per_image.items()):
        rows = _rows(scores)
        ax.scatter(
            [row[x] for row in rows],
            [row[y] for row in rows],
            color=colours[method],
            marker=METHOD_MARKERS[index % len(METHOD_MARKERS)],
            s=28,
            alpha=0.8,
            label=f"{method} ({len(rows)})",
        )
    reference = REFERENCE_KEYS.get(x)
    truths = [row[reference] for scores in per_image.values() for row in _rows(scores) if reference in row]
    if truths:
        ax.axvline(
            float(np.mean(truths)), color="0.35", linestyle="--", linewidth=1, label="originals (mean)"
        )
    ax.set_xlabel(titles.get(x, x))
    ax.set_ylabel(titles.get(y, y))
    ax.set_title(f"Each photo: {titles.get(y, y)} against {titles.get(x, x)}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return finish_figure(fig)


def gan_epochs_chart(rows: Sequence[Mapping[str, float]]) -> Figure:
    """A ``loss: gan`` run's generator after each adversarial epoch (rows of
    :func:`colorlib.workflow.ganepochs.epoch_scores`): colorfulness against the originals', PSNR and
    AuC, one panel each, epoch 0 being the generator before adversarial training. 3 axes."""
    if not rows:
        raise ValueError(
            "There are no epoch scores to draw; run colorlib.workflow.ganepochs.epoch_scores first."
        )
    epochs = [int(row["epoch"]) for row in rows]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
    panels = (("colorfulness", "colorfulness (dashed: originals)"), ("psnr", "PSNR (dB) ↑"), ("auc", "AuC ↑"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.plot(epochs, [row[key] for row in rows], marker="o")
        if key in REFERENCE_KEYS:
            ax.axhline(float(rows[0][REFERENCE_KEYS[key]]), color="0.4", linestyle="--", linewidth=1)
        ax.set_xticks(epochs)
        ax.set_xlabel("adversarial epochs")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.suptitle("The generator after each GAN epoch (validation photos)", fontweight="bold")
    return finish_figure(fig)


#: The hint curve's panels: summary key and title.
HINT_PANELS = (
    ("psnr", "PSNR (dB) ↑"),
    ("delta_colorfulness", "|Δ colorfulness| per photo ↓"),
    ("auc", "AuC ↑"),
)


def hint_curve_chart(curves: Mapping[str, Sequence[Mapping[str, float]]]) -> Figure:
    """Scores against the number of hints (rows of :func:`colorlib.evaluation.hintcurve.hint_curve`
    per image set): one panel per metric, a colour per method, a line style per set. The hint
    axis is symmetric-log, so 0, 1, 2, 5 and 50 all show. 3 axes."""
    if not curves or not any(curves.values()):
        raise ValueError("There are no hint scores to draw; run colorlib.workflow.hintscores.curves first.")
    methods = sorted({row["method"] for rows in curves.values() for row in rows})
    colours = {method: f"C{index}" for index, method in enumerate(methods)}
    styles = ("-", "--", ":", "-.")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
    for ax, (key, label) in zip(axes, HINT_PANELS, strict=True):
        for number, (set_name, rows) in enumerate(curves.items()):
            for method in methods:
                points = sorted((row["hints"], row[key]) for row in rows if row["method"] == method)
                if points:
                    counts, values = zip(*points, strict=True)
                    ax.plot(
                        counts,
                        values,
                        marker="o",
                        color=colours[method],
                        linestyle=styles[number % len(styles)],
                        label=f"{method}, {set_name}",
                    )
        ax.set_xscale("symlog", linthresh=1)
        ticks = sorted({row["hints"] for rows in curves.values() for row in rows})
        ax.set_xticks(ticks, [str(tick) for tick in ticks])
        ax.set_xlabel("hints per photo")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.suptitle("How much a few clicks help (hints simulated from the true colours)", fontweight="bold")
    return finish_figure(fig)
