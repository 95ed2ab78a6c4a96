"""HTML reports: every executed notebook as two self-contained pages, and an index of the run.

Next to each executed notebook ``NN_name.ipynb`` of a run, :func:`render_reports` writes

* ``NN_name.html``, the **reader view**: the story without the plumbing. The code is
  hidden, the section ``## Parameters`` becomes one folded table of the resolved
  parameters, progress bars and TensorFlow's start-up lines are left out (real warnings
  and errors stay), and a bar at the top says how long the stage took;
* ``NN_name.code.html``, the **code view**: the whole executed notebook, code included.

Each links to the other and to ``index.html`` (:func:`write_index`), the page of the run:
its status, a few test photos as before/after sliders (:mod:`colorlib.reports.slider`), the
headline metrics of notebook 05, and a link to every report.

Every page opens offline in any browser: figures and photos are base64 images inside the
page, the CSS is inlined by nbconvert's ``lab`` template, and the template's only external
resources (require.js, MathJax and Mermaid from a CDN) are left out, so nothing is fetched.
The notebooks write no LaTeX and no widgets, so nothing is lost. Inline ``<script>`` in
``text/html`` outputs (the sliders) is kept: the exporter does not sanitize.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown import markdown2html
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, Preprocessor

from colorlib.core.config import TF_STARTUP_NOISE
from colorlib.core.io import atomic_write

if TYPE_CHECKING:
    pass

#: The reader view of ``NN_name.ipynb`` is ``NN_name.html``; the code view ``NN_name.code.html``.
READER_SUFFIX = ".html"
CODE_SUFFIX = ".code.html"
#: The page of a run, in its report folder.
INDEX_FILE = "index.html"


#: The notebook that colorizes the test photos, and the one that scores them.
COLORIZATION_NOTEBOOK = "04_colorization.ipynb"
RESULTS_NOTEBOOK = "05_results.ipynb"
#: How many test photos the index shows as sliders.


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
    """Fold the table of :func:`colorlib.reports.summaries.params_table` into a ``<details>`` block."""
    from colorlib.reports import summaries

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


def export_page(notebook: nbformat.NotebookNode, title: str, reader: bool, report: dict | None) -> str:
    resources = {"metadata": {"name": title}, "reader": reader, "report": report}
    body, _ = html_exporter(reader).from_notebook_node(notebook, resources=resources)
    return body


def write_page(path: Path, text: str) -> Path:
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
    return write_page(
        html_path, export_page(notebook, notebook_title(notebook, notebook_path.stem), reader, report)
    )


def render_reports(
    notebook_path: Path | str, seconds: float | None = None, failed: bool = False
) -> tuple[Path, Path]:
    """Write both views of an executed notebook, each saying how long it ran; ``(reader, code)`` paths."""
    note = stage_note(seconds, failed)
    return (
        render_html(notebook_path, reader=True, note=note, failed=failed),
        render_html(notebook_path, reader=False, note=note, failed=failed),
    )
