"""How much a few clicks help: a run's hint curve for notebook 05 (Zhang, Zhu et al. 2017, Fig. 6).

PSNR, |Δ colorfulness| and AuC against the number of hints (0, 1, 2, 5, 10, 20, 50), simulated
from the true colours with a fixed seed (:mod:`colorlib.evaluation.hintcurve`), on the first
:data:`SCORED_PHOTOS` test photos and of each ``benchmark`` folder:

- **automatic + floor**: an automatic colorizer's colours, with the hints spread by the
  joint-bilateral floor. The automatic colorizer is the run's own; for a ``hints: true`` run it
  is the run ``hints_baseline_run`` names (the same U-Net trained without hints), so its row at
  0 hints is that U-Net's score, beside the hint model's;
- **hint model** (``hints: true`` runs): the run's colorizer with the hint planes.

The rows go to ``metrics/hint_curve.json`` and are read back while the colorizers and photos
are the same.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from colorlib import workflow
from colorlib.core import steps
from colorlib.core.config import SEED
from colorlib.core.params import Params
from colorlib.data.images import list_images
from colorlib.evaluation.hintcurve import HINT_COUNTS

#: Photos scored per image set (the first ones).
SCORED_PHOTOS = 100


def automatic_params(params: Params) -> Params:
    """The run whose colorizer gives the automatic colours: ``hints_baseline_run`` when it names
    one (with ``hints: false``), else this run."""
    if not params.hints_baseline_run:
        return params
    return dataclasses.replace(
        params, run_name=params.hints_baseline_run, run_dir_override=None, hints=False, hint_spread=False
    )


def scored_sets(params: Params, photos: int = SCORED_PHOTOS) -> dict[str, list[str]]:
    """``{"test": first photos of the test split, folder name: first photos of each benchmark}``."""
    sets = {"test": workflow.load_split(params)["test"][:photos]}
    for folder in params.benchmarks:
        sets[Path(folder).name] = [str(path) for path in list_images(folder, recursive=True)[:photos]]
    return sets


def curves(
    params: Params, photos: int = SCORED_PHOTOS, progress: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """``{set name: rows of hint_curve}`` for the run (see the module docstring).

    Raises FileNotFoundError naming what to run first when a colorizer is missing.
    """
    from colorlib.archs import colorizer_arch
    from colorlib.evaluation.hintcurve import hint_curve

    if photos < 1:
        raise ValueError(f"photos must be at least 1, got {photos}.")
    automatic_path = workflow.run_paths(automatic_params(params)).colorizer
    if params.hints_baseline_run and not automatic_path.is_file():
        raise FileNotFoundError(
            f"hints_baseline_run names the run '{params.hints_baseline_run}', which has no colorizer at "
            f"{automatic_path}; train it first (its params file, e.g. make pipeline "
            f"PARAMS=params/{params.hints_baseline_run}.yaml)."
        )
    workflow.require(automatic_path, workflow.NOTEBOOKS["model"])
    hint_path = workflow.run_paths(params).colorizer if workflow.run_model(params).reads_hints else None
    if hint_path is not None:
        workflow.require(hint_path, workflow.NOTEBOOKS["model"])
    sets = scored_sets(params, photos)
    models = [path for path in (automatic_path, hint_path) if path is not None]
    step = steps.Step(
        workflow.run_paths(params).metrics_dir / "hint_curve.json",
        steps.key(
            "hint_curve",
            colorizers=steps.file_stamps(models),
            photos={name: steps.file_stamps(paths) for name, paths in sets.items()},
            counts=list(HINT_COUNTS),
            image_size=params.image_size,
            seed=SEED,
        ),
    )
    done = step.result()
    if done is not None:
        return done["curves"]
    automatic = colorizer_arch.load_model(automatic_path)
    hint_model = colorizer_arch.load_model(hint_path) if hint_path is not None else None
    result = {
        name: hint_curve(automatic, paths, hint_model, size=params.image_size, progress=progress)
        for name, paths in sets.items()
        if paths
    }
    step.finish({"curves": result})
    return result


def show(params: Params, photos: int = SCORED_PHOTOS) -> None:
    """Notebook 05: a table per image set and the chart of :func:`curves`."""
    from IPython.display import Markdown, display

    from colorlib.evaluation.hintcurve import curve_markdown
    from colorlib.reports import charts

    found = curves(params, photos)
    for name, rows in found.items():
        display(Markdown(f"**{name}** ({rows[0]['n']} photos)\n\n{curve_markdown(rows)}"))
    display(charts.hint_curve_chart(found))


__all__ = ["SCORED_PHOTOS", "automatic_params", "curves", "scored_sets", "show"]
