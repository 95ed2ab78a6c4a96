"""The page of a run, ``index.html``: its status, test photos as sliders, headline numbers, reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import v4

from colorlib.reports.htmlreport import (
    COLORIZATION_NOTEBOOK,
    INDEX_FILE,
    RESULTS_NOTEBOOK,
    STATUS_OK,
    code_path,
    export_page,
    format_seconds,
    notebook_title,
    reader_path,
    write_page,
)

if TYPE_CHECKING:
    from colorlib.core.params import Params


INDEX_PHOTOS = 4
#: Status of a notebook in the chain's ``timings.json`` when it ran to the end.


def _ran(timings: Mapping[str, Mapping[str, Any]], notebook: str) -> bool:
    return timings.get(notebook, {}).get("status") == STATUS_OK


def _status_markdown(report_dir: Path, notebooks: Sequence[str], timings: Mapping, params_file: str) -> str:
    """The lines under the index's title: which run, and how far the chain got."""
    lines = [f"Report folder `{report_dir.name}`, parameters `{params_file}`."]
    failed = [name for name in notebooks if timings.get(name, {}).get("status") not in (None, STATUS_OK)]
    total = format_seconds(sum(entry.get("seconds", 0.0) for entry in timings.values()))
    if failed:
        lines.append(
            f"**The chain stopped at `{failed[0]}`**: open its report below for the error, fix it "
            "and run `make pipeline` again (it resumes where it stopped)."
        )
    elif all(_ran(timings, name) for name in notebooks):
        lines.append(f"All {len(notebooks)} notebooks ran, in {total}.")
    else:
        ran = [name.removesuffix(".ipynb") for name in notebooks if _ran(timings, name)]
        lines.append(
            f"This chain ran {', '.join(ran) or 'no notebook'} ({total}); the reports of the "
            "others are in the folders of earlier or later runs."
        )
    return "\n\n".join(lines)


def _missing_reason(timings: Mapping, notebook: str) -> str:
    """Why the output of ``notebook`` is not in this run's index."""
    status = timings.get(notebook, {}).get("status")
    if status is None:
        stopped = [name for name, entry in timings.items() if entry.get("status") != STATUS_OK]
        because = f" (it stopped at `{stopped[0]}`)" if stopped else ""
        return f"`{notebook}` did not run in this chain{because}"
    return f"`{notebook}` failed: see its report below"


def _photos_cells(params: Params, timings: Mapping) -> list:
    """The test photos as before/after sliders, or a line saying why there are none."""
    from colorlib import workflow
    from colorlib.core.io import read_json
    from colorlib.data import images
    from colorlib.reports import gallery, slider

    cells = [
        v4.new_markdown_cell(
            "## Before and after\n\nA few test photos, held back from training. Drag across a photo: "
            "left of the line is the model's input (the photo's lightness, in gray), right of it the "
            "model's colours. The switch under a photo puts the **original** on the right instead."
        )
    ]
    if not (_ran(timings, COLORIZATION_NOTEBOOK) or _ran(timings, RESULTS_NOTEBOOK)):
        reason = _missing_reason(timings, COLORIZATION_NOTEBOOK)
        return [*cells, v4.new_markdown_cell(f"No colorized photos yet: {reason}.")]
    paths = workflow.run_paths(params)
    folder = paths.outputs_dir / "test"
    outputs = images.list_images(folder)[:INDEX_PHOTOS] if folder.is_dir() else []
    if not outputs:
        return [*cells, v4.new_markdown_cell(f"No colorized test photos in `{folder}`.")]
    try:
        rows = gallery.comparison_rows(outputs, read_json(paths.split_json)["test"])
    except (OSError, ValueError, KeyError) as error:
        return [*cells, v4.new_markdown_cell(f"The colorized test photos could not be shown: {error}")]
    titles = [Path(path).stem for path in outputs]
    return [*cells, _output_cell({"text/html": slider.sliders_html(rows, titles), "text/plain": "sliders"})]


def _metrics_cells(params: Params, timings: Mapping) -> list:
    """Notebook 05's headline numbers and the difference chart, or a line saying why there are none."""
    from colorlib import workflow
    from colorlib.core.io import read_json
    from colorlib.reports import charts, summaries, viz

    cells = [v4.new_markdown_cell("## Headline numbers")]
    if not _ran(timings, RESULTS_NOTEBOOK):
        reason = _missing_reason(timings, RESULTS_NOTEBOOK)
        return [*cells, v4.new_markdown_cell(f"No metrics yet: {reason}.")]
    summary_file = workflow.run_paths(params).metrics_dir / "summary.json"
    if not summary_file.is_file():
        return [*cells, v4.new_markdown_cell(f"No metrics: `{RESULTS_NOTEBOOK}` wrote no `{summary_file}`.")]
    try:
        tables = read_json(summary_file)["result"]["tables"]
    except (OSError, ValueError, KeyError) as error:
        return [*cells, v4.new_markdown_cell(f"No metrics: `{summary_file}` could not be read ({error}).")]
    cells.append(v4.new_markdown_cell(summaries.metrics_markdown(tables)))
    cells.append(v4.new_markdown_cell(summaries.summary_markdown(tables)))
    chart_cells = [
        _output_cell(
            {
                "image/png": viz.png_base64(charts.metrics_delta_chart(table, title=set_name)),
                "text/plain": set_name,
            }
        )
        for set_name, table in tables.items()
        if charts.BASELINE_METHOD in table and len(table) > 1
    ]
    if chart_cells:
        cells.append(
            v4.new_markdown_cell(
                f"Each method's difference from the **{charts.BASELINE_METHOD}** baseline (the black-and-"
                "white input itself), per metric: above zero the method is ahead of it. Notebook 05 explains "
                "the metrics and shows each photo."
            )
        )
    return [*cells, *chart_cells]


def _reports_markdown(report_dir: Path, notebooks: Sequence[str], timings: Mapping) -> str:
    """A table with a row per notebook: its reports, time and status."""
    rows = ["| Stage | Reader view | With code | Time | Status |", "|---|---|---|---:|---|"]
    for name in notebooks:
        entry = timings.get(name)
        executed = report_dir / name
        if entry is None or not executed.is_file():
            rows.append(f"| {name.removesuffix('.ipynb')} | – | – | – | did not run |")
            continue
        title = notebook_title(nbformat.read(executed, as_version=4), name.removesuffix(".ipynb"))
        status = "ok" if entry.get("status") == STATUS_OK else f"**{entry.get('status')}**"
        rows.append(
            f"| {title} | [read]({reader_path(executed).name}) | [code]({code_path(executed).name}) | "
            f"{format_seconds(entry.get('seconds', 0.0))} | {status} |"
        )
    return (
        "## The reports\n\nOne page per notebook, without code (*read*) or with it (*code*).\n\n"
        + "\n".join(rows)
    )


def _output_cell(data: dict[str, str]) -> nbformat.NotebookNode:
    """A code cell (hidden in the page) with one display output: ``data`` maps MIME types to content."""
    cell = v4.new_code_cell()
    cell.outputs = [v4.new_output("display_data", data=data)]
    return cell


def index_notebook(
    report_dir: Path,
    notebooks: Sequence[str],
    timings: Mapping[str, Mapping[str, Any]],
    params: Params,
    params_file: Path | str,
) -> nbformat.NotebookNode:
    """The index page of a run as a notebook (markdown and outputs, no code), ready to render."""
    notebook = v4.new_notebook()
    notebook.cells = [
        v4.new_markdown_cell(
            f"# Colorization run `{params.run_name}`\n\n"
            + _status_markdown(report_dir, notebooks, timings, str(params_file))
        ),
        *_photos_cells(params, timings),
        *_metrics_cells(params, timings),
        v4.new_markdown_cell(_reports_markdown(report_dir, notebooks, timings)),
    ]
    return notebook


def write_index(
    report_dir: Path | str,
    notebooks: Sequence[str],
    timings: Mapping[str, Mapping[str, Any]],
    params_file: Path | str,
) -> Path:
    """Write ``index.html`` of a run's report folder; return its path.

    ``notebooks``: the chain's notebooks in order; ``timings``: what the chain recorded
    (``{name: {"seconds", "status"}}``) for those that ran; ``params_file``: the run's
    parameters (the artifacts are read from its run folder). Photos need notebook 04 (or 05)
    and metrics notebook 05 to have run in this chain; the page says so when they did not.
    """
    from colorlib.core.params import load_params

    report_dir = Path(report_dir)
    params = load_params(params_file)
    notebook = index_notebook(report_dir, notebooks, timings, params, params_file)
    title = f"Run {params.run_name}: {report_dir.name}"
    return write_page(report_dir / INDEX_FILE, export_page(notebook, title, reader=True, report=None))
