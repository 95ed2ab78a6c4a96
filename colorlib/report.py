"""What the notebooks show: HTML reports, the short facts they print, the photos in their figures.

:func:`render_html` turns an executed notebook into one HTML file that opens offline in
any browser: figures are base64 PNGs inside the page (``<img src="data:image/png;base64,...">``),
the CSS is inlined by nbconvert's ``lab`` template, and the template's only external
resources (require.js, MathJax and Mermaid from a CDN) are left out, so nothing is fetched.
The notebooks write no LaTeX and no widgets, so nothing is lost.

:func:`describe_array` and :func:`describe_names` give one deterministic line about an array
or a list of names. The notebooks print them in cells marked ``# NBVAL_CHECK_OUTPUT``, whose
output the notebook tests compare with ``tests/nbval_expected.json``.

The rest gathers what a figure or table shows (example photos, best and worst images,
the metrics tables), so that the notebooks' cells stay one short call each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import numpy as np
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, Preprocessor
from PIL import Image

from colorlib import augment, data, lab
from colorlib.config import PIXEL_MAX
from colorlib.io import atomic_write

#: Longest side of the photos in figures, in pixels.
DISPLAY_SIDE = 384

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

#: An embedded figure in a report, as a browser sees it.
EMBEDDED_PNG = re.compile(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=\s]{100,}"')
#: A resource the browser would fetch from the network.
EXTERNAL_RESOURCE = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', re.I)


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


def count_embedded_figures(html: str) -> int:
    """How many embedded PNG figures an HTML report holds."""
    return len(EMBEDDED_PNG.findall(html))


def external_resources(html: str) -> list[str]:
    """Tags in an HTML report that would fetch something from the network (should be none)."""
    return EXTERNAL_RESOURCE.findall(html)


def describe_array(name: str, array: np.ndarray, decimals: int | None = 2) -> str:
    """One line: ``"L: float32 (4, 64, 64, 1) in [0.00, 1.00]"`` (range rounded to ``decimals``).

    ``decimals=None`` leaves the range out, for values that vary between machines.
    """
    array = np.asarray(array)
    if decimals is None:
        return f"{name}: {array.dtype} {tuple(array.shape)}"
    if array.size == 0:
        return f"{name}: {array.dtype} {array.shape} (empty)"
    low, high = float(np.min(array)), float(np.max(array))
    return f"{name}: {array.dtype} {tuple(array.shape)} in [{low:.{decimals}f}, {high:.{decimals}f}]"


def describe_names(title: str, names: Iterable[str]) -> str:
    """One line listing names in order, e.g. the metrics a table holds."""
    return f"{title}: {', '.join(str(name) for name in names)}"


def describe_counts(title: str, counts: Mapping[str, Any]) -> str:
    """One line of counts, e.g. ``"split: train 5, validation 2, test 2"``.

    A value with a length (a list of files) is counted; a number is shown as it is.
    """
    parts = [
        f"{name} {len(value) if isinstance(value, Sized) and not isinstance(value, str) else value}"
        for name, value in counts.items()
    ]
    return f"{title}: {', '.join(parts)}"


def describe_model(model: Any) -> str:
    """One line about a Keras model: layers, input and output shapes, weights (trainable)."""
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    total = sum(int(np.prod(weight.shape)) for weight in model.weights)
    return (
        f"{model.name}: {len(model.layers)} layers, input {tuple(model.input_shape)} -> output "
        f"{tuple(model.output_shape)}, {total:,} weights ({trainable:,} trainable)"
    )


def describe_params(params: Any) -> str:
    """The run's parameters, one ``name: value`` per line (shown at the top of every report)."""
    values = params.as_dict()
    width = max(len(name) for name in values)
    return "\n".join(f"{name:<{width}}  {value!r}" for name, value in values.items())


def load_examples(paths: Sequence[Path | str], size: int) -> np.ndarray:
    """A few photos resized for the model: float32 ``(N, size, size, 3)`` in [0, 1]."""
    if not paths:
        raise ValueError("No photos to show: the list of paths is empty.")
    return np.stack([data.load_resized(path, size) for path in paths])


def augmentation_views(path: Path | str, count: int, seed: int, max_rotation: float) -> list:
    """The augmentations of views 1..count of a photo, exactly as the feature cache makes them."""
    key = data.file_hash(path)
    return [augment.view_params(key, view, seed, max_rotation) for view in range(1, count + 1)]


def load_for_display(path: Path | str, max_side: int = DISPLAY_SIDE) -> np.ndarray:
    """A photo for a figure, aspect ratio kept, at most ``max_side`` pixels: uint8 ``(H, W, 3)``."""
    image = data.open_image(path, draft_size=max_side).convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def gray_version(rgb: np.ndarray) -> np.ndarray:
    """What the model sees of a colour photo: its L channel as a gray RGB image, float32 [0, 1]."""
    rgb = np.asarray(rgb, dtype=np.float32) / (PIXEL_MAX if np.asarray(rgb).dtype == np.uint8 else 1.0)
    return lab.gray_rgb_from_l(lab.split_lab(rgb)[0])


def comparison_rows(
    predictions: Sequence[Path | str], truths: Sequence[Path | str] | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """``(gray input, colorized, original)`` rows for :func:`colorlib.viz.comparison_grid`.

    With ``truths`` (colour originals, matched to the predictions by file stem) the input
    is the original's L shown in gray and the original is the third panel; without, the
    input is the prediction's own L (the real grayscale photo it was made from, since
    colorizing keeps L) and there is no original.
    """
    by_stem = {Path(truth).stem: truth for truth in truths or []}
    rows = []
    for prediction in predictions:
        colorized = load_for_display(prediction)
        truth = by_stem.get(Path(prediction).stem)
        if truths is not None and truth is None:
            raise ValueError(f"No original among the truths for the prediction {prediction}.")
        original = load_for_display(truth) if truth is not None else None
        rows.append((gray_version(colorized if original is None else original), colorized, original))
    return rows


def scored_rows(scored: Sequence[Mapping[str, Any]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Comparison rows of scored images (rows of ``EvaluationResult.per_image``)."""
    return comparison_rows([row["prediction"] for row in scored], [row["truth"] for row in scored])


def ranked(per_image: Sequence[Mapping[str, Any]], key: str = "auc", count: int = 3) -> dict[str, list]:
    """The ``count`` best and worst images by ``key`` (higher is better), best first in each.

    Returns ``{"best": rows, "worst": rows}``; ``worst`` starts with the very worst.
    """
    if not per_image:
        raise ValueError("No scored images to rank.")
    order = sorted(per_image, key=lambda row: row[key], reverse=True)
    return {"best": order[:count], "worst": order[::-1][:count]}


def row_titles(rows: Sequence[Mapping[str, Any]], keys: Sequence[str] = ("auc", "psnr")) -> list[str]:
    """Short titles for scored images: ``"coffee\\nauc 81.2, psnr 24.1"``."""
    return [f"{row['name']}\n" + ", ".join(f"{key} {row[key]:.1f}" for key in keys) for row in rows]


def metrics_markdown(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """One Markdown table per image set (the run's test photos, a benchmark): methods × metrics."""
    from colorlib import metrics

    sections = []
    for set_name, table in tables.items():
        count = max((summary.get("n") or 0 for summary in table.values()), default=0)
        sections.append(f"**{set_name}** ({count} photos)\n\n{metrics.comparison_table(table)}")
    return "\n\n".join(sections)


def summary_markdown(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The written reading of the numbers (:func:`colorlib.metrics.describe_results`) per image set."""
    from colorlib import metrics

    return "\n\n".join(f"**{name}**: {metrics.describe_results(table)}" for name, table in tables.items())


def describe_skipped(skipped: Sequence[tuple[str, str]]) -> str:
    """One line per file left out, ``path: reason``, or a line saying none was."""
    if not skipped:
        return "No file was skipped."
    return "\n".join(f"skipped {path}: {reason}" for path, reason in skipped)
