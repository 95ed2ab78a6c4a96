"""How many adversarial epochs help: a ``loss: gan`` run's generator scored after each epoch.

DeOldify's experience is that a short window of adversarial training brings colour and a
longer one brings artifacts (blotches, orange skin, texture that is not there). A ``loss:
gan`` run keeps its generator after every adversarial epoch
(:class:`colorlib.training.gan.GeneratorSnapshots`, in ``model-gan/epochs/``). :func:`epoch_scores`
colorizes the same validation photos with each one and scores them with notebook 05's
metrics:

- epoch 0 is the generator before any adversarial training (the run's ``gan_from`` model in
  ``model/``);
- epoch k is the snapshot after k adversarial epochs.

Validation photos, never the test ones: choosing ``gan_epochs`` must not peek at the photos
the final comparison is scored on. The outputs go to ``outputs/gan-epochs/epoch-NN/`` and the
table to ``metrics/gan_epochs.json`` (read back while the snapshots and photos are the same).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from colorlib import workflow
from colorlib.core import steps
from colorlib.core.params import Params

#: Validation photos scored for each epoch (the first ones of the split).
SCORED_PHOTOS = 100
#: The file name of a snapshot, with its epoch (see :func:`colorlib.training.gan.snapshot_path`).
SNAPSHOT_PATTERN = re.compile(r"decoder-epoch-(\d+)\.weights\.h5")


def snapshots(params: Params) -> dict[int, Path]:
    """``{epoch: generator weights file}`` of a ``loss: gan`` run, epochs from 1, in order."""
    folder = workflow.run_model(params).snapshot_dir(workflow.run_paths(params).model_dir)
    found = {}
    if folder is None:
        return found
    for path in sorted(folder.glob("decoder-epoch-*.weights.h5")):
        match = SNAPSHOT_PATTERN.fullmatch(path.name)
        if match:
            found[int(match[1])] = path
    return dict(sorted(found.items()))


def epoch_scores(params: Params, photos: int = SCORED_PHOTOS, progress: bool = True) -> list[dict[str, Any]]:
    """One row per adversarial epoch (0 = before any): ``{"epoch": k, "n", "psnr", "ssim",
    "colorfulness", "colorfulness_truth", "delta_colorfulness", "auc"}``, on the first
    ``photos`` validation photos at ``image_size``.

    Raises ValueError for a run that is not ``loss: gan``, and FileNotFoundError (naming
    notebook 03) when its generator or snapshots are missing.
    """
    from colorlib.archs import colorizer_arch
    from colorlib.colorize import colorize
    from colorlib.evaluation import metrics

    model = workflow.run_model(params)
    if not model.adversarial_epochs:
        raise ValueError(
            f"The run '{params.run_name}' has loss {params.loss!r}: only a loss: gan or ddcolor run has "
            "adversarial epochs to score."
        )
    if photos < 1:
        raise ValueError(f"photos must be at least 1, got {photos}.")
    paths = workflow.run_paths(params)
    generator_colorizer = workflow.run_paths(model.start().params).colorizer
    workflow.require(generator_colorizer, workflow.NOTEBOOKS["model"])
    found = snapshots(params)
    if not found:
        raise FileNotFoundError(
            f"No generator snapshots in {model.snapshot_dir(paths.model_dir)}; run "
            f"{workflow.NOTEBOOKS['model']} (or `colorlib train`) for this run first."
        )
    truths = workflow.load_split(params)["validation"][:photos]
    step = steps.Step(
        paths.metrics_dir / "gan_epochs.json",
        steps.key(
            "gan_epochs",
            generator=steps.file_stamps([generator_colorizer]),
            snapshots=steps.file_stamps(list(found.values())),
            photos=steps.file_stamps(truths),
            image_size=params.image_size,
        ),
    )
    done = step.result()
    if done is not None:
        return done["rows"]
    colorizer = colorizer_arch.load_model(generator_colorizer)
    _, decoder = colorizer_arch.split_colorizer(colorizer)
    rows = []
    for epoch, snapshot in [(0, None), *found.items()]:
        if snapshot is not None:
            decoder.load_weights(snapshot)  # the colorizer holds this decoder: it changes too
        out_dir = paths.outputs_dir / "gan-epochs" / f"epoch-{epoch:02d}"
        report = colorize.colorize_files(
            colorizer, truths, out_dir, batch_size=params.batch_size, progress=False
        )
        result = metrics.evaluate(truths, report.written, size=params.image_size, progress=progress)
        rows.append({"epoch": epoch, **result.summary})
    step.finish({"rows": rows})
    return rows


def epochs_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`epoch_scores` as a Markdown table, the best |Δ colorfulness| in bold."""
    best = min(row["delta_colorfulness"] for row in rows)
    lines = [
        "| adversarial epochs | PSNR ↑ | SSIM ↑ | colorfulness (truth) | abs. Δ colorfulness ↓ | AuC ↑ |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        delta = f"{row['delta_colorfulness']:.1f}"
        delta = f"**{delta}**" if row["delta_colorfulness"] == best else delta
        lines.append(
            f"| {row['epoch']} | {row['psnr']:.2f} | {row['ssim']:.3f} | {row['colorfulness']:.1f} "
            f"({row['colorfulness_truth']:.1f}) | {delta} | {row['auc']:.2f} |"
        )
    return "\n".join(lines)


def show(params: Params, photos: int = SCORED_PHOTOS) -> None:
    """Notebook 05: for a ``loss: gan`` run, the table and chart of :func:`epoch_scores`; for
    any other run, one sentence saying there are no adversarial epochs."""
    from IPython.display import Markdown, display

    from colorlib.reports import charts

    if not workflow.run_model(params).adversarial_epochs:
        print(f"This run trains no GAN (loss: {params.loss}), so there are no adversarial epochs to compare.")
        return
    rows = epoch_scores(params, photos)
    display(Markdown(epochs_markdown(rows)), charts.gan_epochs_chart(rows))


__all__ = ["SCORED_PHOTOS", "epoch_scores", "epochs_markdown", "show", "snapshots"]
