"""HTML reports: every executed notebook as two self-contained pages, and an index of the run.

Next to each executed notebook ``NN_name.ipynb`` of a run, :func:`render_reports` writes

* ``NN_name.html``, the **reader view**: the story without the plumbing. The code is
  hidden, the section ``## Parameters`` becomes one folded table of the resolved
  parameters, progress bars and TensorFlow's start-up lines are left out (real warnings
  and errors stay), and a bar at the top says how long the stage took;
* ``NN_name.code.html``, the **code view**: the whole executed notebook, code included.

Each links to the other and to ``index.html`` (:func:`write_index`), the page of the run:
its status, a few test photos as before/after sliders (:mod:`colorlib.slider`), the
headline metrics of notebook 05, and a link to every report.

Every page opens offline in any browser: figures and photos are base64 images inside the
page, the CSS is inlined by nbconvert's ``lab`` template, and the template's only external
resources (require.js, MathJax and Mermaid from a CDN) are left out, so nothing is fetched.
The notebooks write no LaTeX and no widgets, so nothing is lost. Inline ``<script>`` in
``text/html`` outputs (the sliders) is kept: the exporter does not sanitize.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown import markdown2html
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, Preprocessor
from nbformat import v4

from colorlib.config import TF_STARTUP_NOISE
from colorlib.io import atomic_write

if TYPE_CHECKING:
    from colorlib.params import Params

#: The reader view of ``NN_name.ipynb`` is ``NN_name.html``; the code view ``NN_name.code.html``.
READER_SUFFIX = ".html"
CODE_SUFFIX = ".code.html"
#: The page of a run, in its report folder.
INDEX_FILE = "index.html"
#: The notebook that colorizes the test photos, and the one that scores them.
COLORIZATION_NOTEBOOK = "04_colorization.ipynb"
RESULTS_NOTEBOOK = "05_results.ipynb"
#: How many test photos the index shows as sliders.
INDEX_PHOTOS = 4
#: Status of a notebook in the chain's ``timings.json`` when it ran to the end.
STATUS_OK = "ok"

#: nbconvert's JupyterLab template with the CDN scripts removed (they are the only
#: resources the template does not inline), plus the bar of links at the top of a report.
_OFFLINE_TEMPLATE = "colorlib_offline.html.j2"
_TEMPLATES = {
    _OFFLINE_TEMPLATE: """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.cl-nav{display:flex;flex-wrap:wrap;gap:.4em 1.6em;align-items:baseline;margin:0 0 1.2em;
  padding:.6em 1em;border-bottom:1px solid #ddd;background:#f6f7f9;
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.cl-nav a{color:#0b57d0;text-decoration:none}
.cl-nav a:hover{text-decoration:underline}
.cl-nav .cl-timing{color:#333}
.cl-nav .cl-failed{color:#b00020;font-weight:600}
{%- if resources.get('reader') %}
body.jp-Notebook main{max-width:1100px;margin:0 auto}
details.cl-params{margin:.5em 0 1em;padding:.4em .8em;border:1px solid #ddd;border-radius:4px}
details.cl-params>summary{cursor:pointer;color:#333}
details.cl-params table{font-size:12px}
{%- endif %}
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{%- set report = resources.get('report') -%}
{%- if report %}
<nav class="cl-nav">
<a href="{{ report.index | e }}">&#8592; All reports of this run</a>
{%- if report.note %}
<span class="{{ 'cl-failed' if report.failed else 'cl-timing' }}">{{ report.note | e }}</span>
{%- endif %}
<a href="{{ report.other | e }}">{{ report.other_label | e }}</a>
</nav>
{%- endif %}
{%- endblock body_header -%}
"""
}

#: TensorFlow's C++ start-up lines (one pattern for the command line and the reports).
RUNTIME_INFO_LINE = TF_STARTUP_NOISE
#: The last state of a tqdm progress bar: ``evaluate: 100%|████| 2/2 [00:00<00:00, 24.55image/s]``
#: (also ``12it [00:01, 9.50it/s]`` without a total and ``3.21s/image`` when slow).
PROGRESS_BAR_LINE = re.compile(
    r"^[^\n]*\[\d+:\d+(?::\d+)?(?:<(?:\?|\d+:\d+(?::\d+)?))?, *(?:\?|[\d.]+) *(?:\w*/s|s/\w+)[^\]\n]*\]"
    r"[ \t\r]*(?:\n|$)",
    re.M,
)
#: A heading that starts a section of a notebook (levels 1 and 2), and the parameters section.
_SECTION_HEADING = re.compile(r"^#{1,2} ")
_PARAMETERS_HEADING = re.compile(r"^## Parameters\b")
#: Papermill's tags of the parameters cell and of the cell it injects.
_PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})
#: The default repr of an object (``<keras.src.callbacks.history.History at 0x7f..>``): no story.
_BARE_REPR = re.compile(r"^<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>$")


class DropStderrLines(Preprocessor):
    """Leave the lines of stderr streams that match ``pattern`` out; drop streams left empty."""

    pattern: re.Pattern = RUNTIME_INFO_LINE

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                output.text = self.pattern.sub("", output.text)
        cell.outputs = [
            output
            for output in cell.get("outputs", [])
            if output.output_type != "stream" or output.text.strip()
        ]
        return cell, resources


class DropRuntimeInfo(DropStderrLines):
    """Leave TensorFlow's INFO start-up lines out of the report (the executed notebook keeps them)."""

    pattern = RUNTIME_INFO_LINE


class DropProgressBars(DropStderrLines):
    """Leave tqdm's progress bars out of the reader view: they render as red stderr boxes."""

    pattern = PROGRESS_BAR_LINE


def _is_bare_repr(output) -> bool:
    """An ``execute_result`` that is only an object's default repr (say, what ``fit`` returns)."""
    data = output.get("data", {})
    return (
        output.output_type == "execute_result"
        and set(data) == {"text/plain"}
        and bool(_BARE_REPR.match(data["text/plain"].strip()))
    )


def _fold_params_table(output) -> None:
    """Fold the table of :func:`colorlib.summaries.params_table` into a ``<details>`` block."""
    from colorlib import summaries

    table = output.get("data", {}).get("text/markdown")
    if table is None or not summaries.is_params_table(table):
        return
    changed = table.count("**`")
    summary = f"Parameters of this run ({changed} differ from the original project's defaults)"
    # As HTML: nbconvert closes an HTML block of markdown at its blank line, before the table.
    folded = f'<details class="cl-params"><summary>{summary}</summary>\n{markdown2html(table)}</details>'
    output.data = {"text/html": folded}


class ReaderView(Preprocessor):
    """The story without the plumbing: what the reader view keeps of an executed notebook.

    Drops the parameters cells (papermill's and the notebook's), the markdown of the section
    ``## Parameters`` (it explains the code, which the reader view hides), bare object reprs,
    and code cells left without output; folds the parameters table. Error outputs always stay.
    """

    def preprocess(self, nb, resources):
        cells = []
        in_parameters = False
        for cell in nb.cells:
            if cell.cell_type == "markdown" and _SECTION_HEADING.match(cell.source):
                in_parameters = bool(_PARAMETERS_HEADING.match(cell.source))
            if cell.cell_type == "markdown" and in_parameters:
                continue
            if cell.cell_type == "code":
                if _PARAMETER_TAGS & set(cell.metadata.get("tags", [])):
                    continue
                cell.outputs = [output for output in cell.outputs if not _is_bare_repr(output)]
                if not cell.outputs:
                    continue
                for output in cell.outputs:
                    _fold_params_table(output)
            cells.append(cell)
        nb.cells = cells
        return nb, resources


def html_exporter(reader: bool = False) -> HTMLExporter:
    """The exporter of the reports: JupyterLab look, images embedded, no prompts.

    Consecutive stream outputs are merged and progress bars keep only their last state;
    TensorFlow's start-up lines are dropped. ``reader=True`` gives the reader view: no code,
    no progress bars, :class:`ReaderView`.
    """
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader(_TEMPLATES)],
        template_file=_OFFLINE_TEMPLATE,
        embed_images=True,
        exclude_input=reader,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(CoalesceStreamsPreprocessor(), enabled=True)
    exporter.register_preprocessor(DropRuntimeInfo(), enabled=True)
    if reader:
        exporter.register_preprocessor(DropProgressBars(), enabled=True)
        exporter.register_preprocessor(ReaderView(), enabled=True)
    return exporter


def reader_path(notebook_path: Path | str) -> Path:
    """Where the reader view of an executed notebook goes: ``03_training.html``."""
    return Path(notebook_path).with_suffix(READER_SUFFIX)


def code_path(notebook_path: Path | str) -> Path:
    """Where the code view of an executed notebook goes: ``03_training.code.html``."""
    notebook_path = Path(notebook_path)
    return notebook_path.with_name(notebook_path.stem + CODE_SUFFIX)


def notebook_title(notebook: nbformat.NotebookNode, default: str) -> str:
    """The first heading of a notebook's markdown (``"03 · Training the decoder"``), else ``default``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#{1,6} +(.+?) *#*$", cell.source, re.M)
            if match:
                return match[1]
    return default


def format_seconds(seconds: float) -> str:
    """``"12.3 s"``, ``"4 min 05 s"`` or ``"2 h 03 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def stage_note(seconds: float | None, failed: bool = False) -> str | None:
    """The line at the top of a report: ``"This stage took 12.3 s"`` (None when not timed)."""
    if seconds is None:
        return None
    return f"This stage {'failed after' if failed else 'took'} {format_seconds(seconds)}"


def _export(notebook: nbformat.NotebookNode, title: str, reader: bool, report: dict | None) -> str:
    resources = {"metadata": {"name": title}, "reader": reader, "report": report}
    body, _ = html_exporter(reader).from_notebook_node(notebook, resources=resources)
    return body


def _write(path: Path, text: str) -> Path:
    with atomic_write(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def render_html(
    notebook_path: Path | str,
    html_path: Path | str | None = None,
    reader: bool = False,
    note: str | None = None,
    failed: bool = False,
) -> Path:
    """Write one self-contained HTML page of an (executed) notebook; return its path.

    ``reader=False`` gives the code view (``html_path`` defaults to ``NN_name.code.html``),
    ``reader=True`` the reader view (``NN_name.html``). The bar at the top links to the run's
    ``index.html`` and to the other view, and shows ``note`` (in red when ``failed``).
    Written atomically.
    """
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        raise FileNotFoundError(f"No notebook at {notebook_path} to render as HTML.")
    default = reader_path(notebook_path) if reader else code_path(notebook_path)
    html_path = Path(html_path) if html_path is not None else default
    other = code_path(notebook_path) if reader else reader_path(notebook_path)
    report = {
        "index": INDEX_FILE,
        "note": note,
        "failed": failed,
        "other": other.name,
        "other_label": "Show the code" if reader else "Hide the code (reader view)",
    }
    notebook = nbformat.read(notebook_path, as_version=4)
    return _write(html_path, _export(notebook, notebook_title(notebook, notebook_path.stem), reader, report))


def render_reports(
    notebook_path: Path | str, seconds: float | None = None, failed: bool = False
) -> tuple[Path, Path]:
    """Write both views of an executed notebook, each saying how long it ran; ``(reader, code)`` paths."""
    note = stage_note(seconds, failed)
    return (
        render_html(notebook_path, reader=True, note=note, failed=failed),
        render_html(notebook_path, reader=False, note=note, failed=failed),
    )


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
    from colorlib import data, gallery, slider, workflow
    from colorlib.io import read_json

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
    outputs = data.list_images(folder)[:INDEX_PHOTOS] if folder.is_dir() else []
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
    from colorlib import charts, summaries, viz, workflow
    from colorlib.io import read_json

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
    from colorlib.params import load_params

    report_dir = Path(report_dir)
    params = load_params(params_file)
    notebook = index_notebook(report_dir, notebooks, timings, params, params_file)
    title = f"Run {params.run_name}: {report_dir.name}"
    return _write(report_dir / INDEX_FILE, _export(notebook, title, reader=True, report=None))
