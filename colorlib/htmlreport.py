"""HTML reports: an executed notebook rendered as one self-contained page.

:func:`render_html` turns an executed notebook into one HTML file that opens offline in
any browser: figures are base64 PNGs inside the page (``<img src="data:image/png;base64,...">``),
the CSS is inlined by nbconvert's ``lab`` template, and the template's only external
resources (require.js, MathJax and Mermaid from a CDN) are left out, so nothing is fetched.
The notebooks write no LaTeX and no widgets, so nothing is lost.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, Preprocessor

from colorlib.io import atomic_write

#: nbconvert's JupyterLab template with the CDN scripts removed (they are the only
#: resources the template does not inline).
_OFFLINE_TEMPLATE = "colorlib_offline.html.j2"
_TEMPLATES = {
    _OFFLINE_TEMPLATE: (
        "{%- extends 'lab/index.html.j2' -%}\n"
        "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}\n"
        "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}\n"
        "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    )
}

#: Start-up lines of TensorFlow's C++ runtime at INFO level (``I0000 00:00:17.. 123 port.cc:153] ...``),
#: absl's banner before them, and the one error line every machine without an NVIDIA driver
#: prints (``failed call to cuInit``); TF_CPP_MIN_LOG_LEVEL does not hide the first two.
#: Every other warning and error (``W``/``E`` lines) is kept.
RUNTIME_INFO_LINE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|E\d{4} [\d:.]+\s+\d+ cuda_platform\.cc:\d+\] failed call to cuInit: .*)\n?",
    re.M,
)


class DropRuntimeInfo(Preprocessor):
    """Leave TensorFlow's INFO start-up lines out of the report (the executed notebook keeps them)."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                output.text = RUNTIME_INFO_LINE.sub("", output.text)
        cell.outputs = [
            output
            for output in cell.get("outputs", [])
            if output.output_type != "stream" or output.text.strip()
        ]
        return cell, resources


def html_exporter() -> HTMLExporter:
    """The exporter used for reports: JupyterLab look, images embedded, no prompts.

    Consecutive stream outputs are merged and progress bars keep only their last state.
    """
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader(_TEMPLATES)],
        template_file=_OFFLINE_TEMPLATE,
        embed_images=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(CoalesceStreamsPreprocessor(), enabled=True)
    exporter.register_preprocessor(DropRuntimeInfo(), enabled=True)
    return exporter


def render_html(notebook_path: Path | str, html_path: Path | str | None = None) -> Path:
    """Write a self-contained HTML report of an (executed) notebook; return its path.

    ``html_path`` defaults to the notebook's path with ``.html``. Written atomically.
    """
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        raise FileNotFoundError(f"No notebook at {notebook_path} to render as HTML.")
    html_path = Path(html_path) if html_path is not None else notebook_path.with_suffix(".html")
    notebook = nbformat.read(notebook_path, as_version=4)
    body, _ = html_exporter().from_notebook_node(
        notebook, resources={"metadata": {"name": notebook_path.stem}}
    )
    with atomic_write(html_path) as temporary:
        temporary.write_text(body, encoding="utf-8")
    return html_path
