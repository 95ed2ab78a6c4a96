"""Notebook 06's still-photo experiment: does ``--reference auto`` colour photos better?

The shipped colorizer colours the test split, Kodak24 and CBSD68 twice: alone, and with the
nearest training photos as references (:mod:`colorlib.colorize.refindex`). Both are scored with the
same code as notebook 05, beside the gray and mean-ab baselines, and judged by ``colorlib ship``'s
rule (:func:`colorlib.workflow.ship.shortfalls` and :func:`colorlib.workflow.ship.stays`): above gray
on PSNR and AuC on every set, and a lower test ΔCF than the shipped colorizer alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorlib.core import steps
from colorlib.core.params import Params
from colorlib.data import images
from colorlib.workflow.evaluate import training_mean_ab
from colorlib.workflow.keys import load_split
from colorlib.workflow.prepare import prepare_dataset
from colorlib.workflow.runs import run_paths
from colorlib.workflow.ship import GRAY, MODEL, TEST_SET, delta_cf, shortfalls

#: The methods of the table: the shipped colorizer alone, and with automatic references.
ALONE, AUTO = "shipped", "reference auto"


@dataclass
class AutoReferenceScores:
    """``tables[set][method] = summary`` (methods: :data:`ALONE`, :data:`AUTO`, gray, mean ab), and
    the verdict of ``colorlib ship``'s rule for the automatic references."""

    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    shortfalls: list[str] = field(default_factory=list)
    passes: bool = False
    verdict: str = ""
    outputs: dict[str, dict[str, list[Path]]] = field(default_factory=dict)


def reference_index(params: Params, model, progress: bool = True):
    """The index of the run's training photos for ``model`` (made once, kept in the run's folder)."""
    from colorlib.colorize.refindex import ReferenceIndex, encoder_key

    train = load_split(params)["train"]
    path = run_paths(params).run_dir / "reference-index.npz"
    step = steps.Step(
        run_paths(params).run_dir / "reference-index.json",
        steps.key("reference-index", encoder=encoder_key(model), photos=steps.file_stamps(train)),
    )
    if step.result() is not None and path.is_file():
        return ReferenceIndex.load(path, model)
    index, left_out = ReferenceIndex.build(model, train, progress=progress)
    index.save(path)
    step.finish({"photos": len(index.paths), "left_out": left_out})
    return index


def _colorize_both(model, auto, truths: list[str], out_dir: Path, progress: bool) -> dict[str, list[Path]]:
    from colorlib.colorize import colorize
    from colorlib.colorize.reference import colorize_with_reference

    written = {}
    for method, folder in ((ALONE, "alone"), (AUTO, "auto")):
        target = out_dir / folder
        step = steps.Step(
            target / "step.json",
            steps.key(
                "reference-auto",
                method=method,
                index=auto.index.key,
                settings=[auto.count, auto.min_similarity] if method == AUTO else None,
                inputs=steps.file_stamps(truths),
            ),
        )
        done = step.result()
        if done is None:
            if method == ALONE:
                report = colorize.colorize_files(model, truths, target, progress=progress)
            else:
                report = colorize_with_reference(model, truths, target, auto, progress=progress)
            done = {"written": [str(path) for path in report.written], "failed": report.failed}
            step.finish(done)
        written[method] = [Path(path) for path in done["written"]]
    return written


def score_reference_auto(params: Params, progress: bool = True) -> AutoReferenceScores:
    """Colour and score the test split and ``params.benchmarks`` with the shipped colorizer alone and
    with ``--reference auto`` (its index: the run's training photos), and judge the references by
    the shipping rule. The run's split is made first when notebook 01 has not made it."""
    from colorlib.colorize.pretrained import load_pretrained
    from colorlib.colorize.refindex import AutoReferences
    from colorlib.evaluation import baselines, metrics

    prepare_dataset(params, progress=progress)
    model = load_pretrained()
    auto = AutoReferences(model, reference_index(params, model, progress))
    root = run_paths(params).outputs_dir / "reference-auto"
    sets = {TEST_SET: load_split(params)["test"]}
    for folder in params.benchmarks:
        sets[folder.name] = [str(path) for path in images.list_images(folder)]
    mean_ab = training_mean_ab(params, progress=progress)
    scores = AutoReferenceScores()
    for set_name, truths in sets.items():
        predictions = _colorize_both(model, auto, truths, root / set_name, progress)
        scores.outputs[set_name] = predictions
        table = {
            method: metrics.evaluate(truths, paths, progress=progress).summary
            for method, paths in predictions.items()
        }
        found = baselines.evaluate_baselines(
            truths, root / set_name / "baselines", mean_ab, progress=progress
        )
        scores.tables[set_name] = table | {method: result.summary for method, result in found.items()}
    as_model = {name: {MODEL: table[AUTO], GRAY: table[GRAY]} for name, table in scores.tables.items()}
    scores.shortfalls = shortfalls(as_model)
    alone, with_refs = (delta_cf(scores.tables[TEST_SET][method]) for method in (ALONE, AUTO))
    scores.passes = not scores.shortfalls and with_refs < alone
    if scores.shortfalls:
        scores.verdict = f"It does not qualify: {'; '.join(scores.shortfalls)}."
    elif with_refs >= alone:
        scores.verdict = (
            f"Its test ΔCF {with_refs:.2f} is not lower than the shipped colorizer's {alone:.2f}."
        )
    else:
        scores.verdict = f"It qualifies, and its test ΔCF {with_refs:.2f} is lower than {alone:.2f}."
    return scores


__all__ = ["ALONE", "AUTO", "AutoReferenceScores", "reference_index", "score_reference_auto"]
