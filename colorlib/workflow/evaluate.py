"""Notebooks 04 and 05: the test and gray photos colorized, then scored with the baselines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorlib.core import steps
from colorlib.core.config import EXTRA_TEST_SPLIT
from colorlib.core.params import Params
from colorlib.data import images
from colorlib.workflow.keys import load_split, mean_ab_step, model_key
from colorlib.workflow.runs import load_run_model, run_paths


def _colorize_set(params: Params, inputs: list[str], out_dir: Path, progress: bool) -> list[Path]:
    """Colorize ``inputs`` into ``out_dir`` unless the same model already did."""
    from colorlib.colorize import colorize

    step = steps.Step(
        out_dir / "step.json",
        steps.key("colorize", model=model_key(params), inputs=steps.file_stamps(inputs)),
    )
    done = step.result()
    if done is not None:
        return [Path(path) for path in done["written"]]
    if not inputs:
        return []
    report = colorize.colorize_files(
        load_run_model(params), inputs, out_dir, batch_size=params.batch_size, progress=progress
    )
    print(f"{out_dir.name}: {report.summary()}")
    step.finish({"written": [str(path) for path in report.written], "failed": report.failed})
    return report.written


def colorize_run(params: Params, progress: bool = True) -> dict[str, list[Path]]:
    """Colorize the held-back test photos and the real grayscale photos (``class 1``).

    Outputs go to ``outputs/test/`` and ``outputs/gray/`` with the input file names, and the
    extra-test photos of a run with extra folders to ``outputs/extra-test/``.
    A set already colorized by the same model is not done again.
    """
    split = load_split(params)
    outputs_dir = run_paths(params).outputs_dir
    names = ("test", "gray", EXTRA_TEST_SPLIT) if split.get(EXTRA_TEST_SPLIT) else ("test", "gray")
    return {name: _colorize_set(params, split.get(name, []), outputs_dir / name, progress) for name in names}


@dataclass
class RunEvaluation:
    """Notebook 05's numbers: for each image set, each method's summary and per-image scores."""

    #: ``tables[set_name][method] = summary`` with the keys of
    #: :data:`colorlib.evaluation.metrics.SUMMARY_KEYS`.
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: ``results[set_name][method]``: the full :class:`colorlib.evaluation.metrics.EvaluationResult`.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    mean_ab: tuple[float, float] = (0.0, 0.0)


def training_mean_ab(params: Params, progress: bool = True) -> tuple[float, float]:
    """Mean CIE (a, b) of the training photos (the mean-ab baseline), cached in ``metrics/``."""
    from colorlib.evaluation import baselines

    step = mean_ab_step(params)
    done = step.result()
    if done is not None:
        return tuple(done["mean_ab"])
    value = baselines.mean_ab(load_split(params)["train"], params.image_size, progress=progress)
    step.finish({"mean_ab": list(value)})
    return value


def _score_set(
    params: Params,
    set_name: str,
    truths: list[str],
    predictions: list[Path],
    mean_ab: tuple[float, float],
    progress: bool,
) -> dict[str, Any]:
    from colorlib.evaluation import baselines, metrics

    results = {"model": metrics.evaluate(truths, predictions, progress=progress)}
    out_root = run_paths(params).outputs_dir / "baselines" / set_name
    results |= baselines.evaluate_baselines(truths, out_root, mean_ab, progress=progress)
    return results


def _csv_name(set_name: str, method: str) -> str:
    return f"{set_name}_{method.replace(' ', '_')}.csv"


def evaluate_run(params: Params, progress: bool = True) -> RunEvaluation:
    """Score the model and the baselines (gray, mean ab of the training set) with the same code.

    The test photos of the run are always scored, and its extra-test photos when it has some;
    each folder of ``params.benchmark`` (say Kodak24 and CBSD68) too: it is colorized into
    ``outputs/benchmark/<name>/`` first.
    Writes ``metrics/summary.json`` (the step record) and per-image CSV files; scores of
    the same predictions are read back from them.
    """
    from colorlib.evaluation import metrics

    paths = run_paths(params)
    split = load_split(params)
    outputs = colorize_run(params, progress=progress)
    evaluation = RunEvaluation(mean_ab=training_mean_ab(params, progress=progress))
    sets = {"test": (split["test"], outputs["test"])}
    if split.get(EXTRA_TEST_SPLIT):
        sets[EXTRA_TEST_SPLIT] = (split[EXTRA_TEST_SPLIT], outputs[EXTRA_TEST_SPLIT])
    for bench_dir in params.benchmarks:
        truths = [str(path) for path in images.list_images(bench_dir)]
        out_dir = paths.outputs_dir / "benchmark" / bench_dir.name
        sets[bench_dir.name] = (truths, _colorize_set(params, truths, out_dir, progress))
    step = steps.Step(
        paths.metrics_dir / "summary.json",
        steps.key(
            "evaluation",
            model=model_key(params),
            mean_ab=mean_ab_step(params).key,
            sets={name: steps.file_stamps([*truths, *preds]) for name, (truths, preds) in sets.items()},
        ),
    )
    done = step.result()
    if done is not None:
        for set_name, table in done["tables"].items():
            evaluation.results[set_name] = {
                method: metrics.EvaluationResult.read_csv(paths.metrics_dir / _csv_name(set_name, method))
                for method in table
            }
            # From the per-photo scores, so that a record older than a summary key gets it too.
            evaluation.tables[set_name] = {
                method: table[method] | result.summary
                for method, result in evaluation.results[set_name].items()
            }
        return evaluation
    for set_name, (truths, predictions) in sets.items():
        results = _score_set(params, set_name, truths, predictions, evaluation.mean_ab, progress)
        for method, result in results.items():
            result.write_csv(paths.metrics_dir / _csv_name(set_name, method))
        evaluation.results[set_name] = results
        evaluation.tables[set_name] = {method: result.summary for method, result in results.items()}
    step.finish({"mean_ab": list(evaluation.mean_ab), "tables": evaluation.tables})
    return evaluation
