"""Notebook 06's tables and figure: the video measurements, the targets, and the references.

Each table function takes what :mod:`colorlib.evaluation.videoscores` or
:mod:`colorlib.workflow.refscores` measured and returns Markdown; :func:`frame_strips` returns a
:class:`matplotlib.figure.Figure` (per-frame colouring above, the temporal method below).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from colorlib.evaluation.videoscores import PER_FRAME, TEMPORAL, TRUTH
from colorlib.reports.viz import _grid, _show, finish_figure

#: Frames shown per clip in :func:`frame_strips`.
STRIP_FRAMES = 6


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [" | ".join(header), " | ".join("---" if i == 0 else "---:" for i in range(len(header)))]
    lines += [" | ".join(row) for row in rows]
    return "\n".join(f"| {line} |" for line in lines)


def _mark(met: bool) -> str:
    return "yes" if met else "**no**"


def scores_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Each clip's truth, per-frame and temporal rows: E_warp (×10⁻³), CDC, PSNR, colourfulness, fps."""
    header = ["clip (size)", "method", "E_warp ×10⁻³", "CDC", "PSNR (dB)", "colourfulness", "frames/s"]
    body = []
    for row in rows:
        fps = "" if row["fps"] is None else f"{row['fps']:.1f}"
        body.append(
            [
                f"{row['clip']} ({row['size']})" if row["method"] == TRUTH else "",
                row["method"],
                f"{1000 * row['e_warp']:.3f}",
                f"{row['cdc']:.4f}",
                "" if row["method"] == TRUTH else f"{row['psnr']:.2f}",
                f"{row['colorfulness']:.1f}",
                fps,
            ]
        )
    return _table(header, body)


def targets_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The temporal method against per-frame colouring, each target with whether it is met."""
    header = [
        "clip",
        "E_warp excess kept (≤ 0.5)",
        "CDC excess kept (≤ 0.5)",
        "ΔPSNR (≥ −0.2 dB)",
        "colourfulness kept (≥ 0.9)",
        "fps kept (≥ 0.6)",
    ]
    body = []
    for row in rows:
        body.append(
            [
                row["clip"],
                f"{row['e_warp_excess_kept']:.2f} ({_mark(row['e_warp_met'])})",
                f"{row['cdc_excess_kept']:.2f} ({_mark(row['cdc_met'])})",
                f"{row['psnr_change']:+.2f} ({_mark(row['psnr_met'])})",
                f"{row['colorfulness_kept']:.2f} ({_mark(row['colorfulness_met'])})",
                f"{row['fps_kept']:.2f} ({_mark(row['fps_met'])})",
            ]
        )
    return _table(header, body) + (
        "\n\nAn excess kept of 0 or less: the temporal method is at or below the true video's own value."
    )


def reference_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """PSNR of each clip coloured automatically and with its true first frame as the reference."""
    header = ["clip", "automatic PSNR (dB)", "with the first frame (dB)", "gain (≥ 1.5 dB)", "frames/s"]
    body = [
        [
            row["clip"],
            f"{row['automatic']:.2f}",
            f"{row['reference']:.2f}",
            f"{row['gain']:+.2f} ({_mark(row['met'])})",
            f"{row['fps']:.1f}",
        ]
        for row in rows
    ]
    return _table(header, body)


def reference_auto_table(scores) -> str:
    """The shipped colorizer alone and with ``--reference auto`` on every set, beside the baselines,
    and the shipping rule's verdict (``scores``: an ``AutoReferenceScores`` of
    :mod:`colorlib.workflow.refscores`)."""
    header = ["set", "method", "PSNR", "SSIM", "colourfulness (originals)", "ΔCF", "AuC"]
    body = []
    for set_name, table in scores.tables.items():
        for number, (method, row) in enumerate(table.items()):
            cf, truth = float(row["colorfulness"]), float(row["colorfulness_truth"])
            body.append(
                [
                    f"{set_name} ({row['n']})" if number == 0 else "",
                    method,
                    f"{float(row['psnr']):.2f}",
                    f"{float(row['ssim']):.3f}",
                    f"{cf:.1f} ({truth:.1f})",
                    f"{abs(cf - truth):.1f}",
                    f"{float(row['auc']):.2f}",
                ]
            )
    verdict = "passes" if scores.passes else "does not pass"
    return _table(header, body) + f"\n\n`--reference auto` {verdict} `colorlib ship`'s rule: {scores.verdict}"


def frame_strips(
    outputs: Mapping[str, Mapping[str, Sequence[np.ndarray]]],
    truths: Mapping[str, Sequence[np.ndarray]],
    count: int = STRIP_FRAMES,
) -> Figure:
    """For each clip, ``count`` frames spread over it: per-frame colouring, the temporal method and
    the true frames, one row each (``outputs[clip][method]``: uint8 RGB frames)."""
    rows = []
    for clip, truth in truths.items():
        picks = np.linspace(0, len(truth) - 1, count).round().astype(int)
        for method, frames in (
            (PER_FRAME, outputs[clip][PER_FRAME]),
            (TEMPORAL, outputs[clip][TEMPORAL]),
            (TRUTH, truth),
        ):
            rows.append((f"{clip}\n{method}", [frames[i] for i in picks], picks))
    aspect = float(np.mean([t[0].shape[0] / t[0].shape[1] for t in truths.values()]))
    fig, axes = _grid(len(rows), count, panel=1.9, aspect=aspect)
    for r, (label, frames, picks) in enumerate(rows):
        for c, frame in enumerate(frames):
            _show(axes[r, c], frame, f"frame {picks[c]}" if r % 3 == 0 else None)
        axes[r, 0].set_ylabel(label, fontsize=8)
    return finish_figure(fig)


__all__ = ["frame_strips", "reference_auto_table", "reference_table", "scores_table", "targets_table"]
