"""Before/after sliders: drag across a photo to see its gray input on one side, its colours on the other.

:func:`slider_html` makes one slider, :func:`sliders_html` a grid of them. Each returns an
HTML fragment that works by itself in any browser, offline: the photos are embedded as
base64 JPEGs (at most :data:`MAX_SIDE` pixels a side), the CSS and the few lines of
JavaScript are inline. Left of the divider is the gray input, right of it the colorized
photo; when the original is known, a switch under the photo (*colorized | original*) puts
the original on the right side instead. The divider follows a click or a drag anywhere on
the photo and, once the photo has the keyboard focus (Tab), the arrow keys, Home and End:
it is a standard ``<input type="range">`` laid over the photo.

Without JavaScript (a notebook JupyterLab does not trust, a mail client) the colorized
photo shows whole and the switch still works, since it is plain CSS. Every slider has its
own id, so several on one page, or in one notebook, do not interfere.

In a notebook: ``IPython.display.HTML(slider.sliders_html(rows))``, with the rows of
:func:`colorlib.reports.gallery.comparison_rows`.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import numpy as np
from PIL import Image

from colorlib.core.config import PIXEL_MAX
from colorlib.reports import gallery, summaries, viz

#: Longest side of an embedded photo, in pixels: enough for a report, small enough for a page.
MAX_SIDE = 512
#: JPEG quality of the embedded photos.
JPEG_QUALITY = 85
#: Where the divider starts, in percent of the photo's width from the left.
START_PERCENT = 50
#: At most this many sliders in a grid unless told otherwise (as many rows as the figure grids).
MAX_SLIDERS = viz.MAX_GRID_ROWS
#: Narrowest column of a grid of sliders, in CSS pixels.
GRID_COLUMN_PX = 280
#: The CSS class of a slider (the browser test finds them by it).
SLIDER_CLASS = "cl-slider"

#: One row of a grid: gray input, colorized, original (None when unknown).
Row = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]

_STYLE = """<style>
.cl-slider{position:relative;display:block;box-sizing:border-box;margin:0 0 1em;padding:0;
  font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222}
.cl-stage{position:relative;overflow:hidden;line-height:0;-webkit-user-select:none;user-select:none;
  touch-action:pan-y}
.cl-stage img{display:block;width:100%;height:auto;max-width:none;margin:0}
.cl-stage .cl-layer{position:absolute;top:0;left:0}
.cl-gray{clip-path:inset(0 calc(100% - var(--cl-split)) 0 0)}
.cl-stage .cl-original,.cl-stage .cl-name-original{display:none}
.cl-pick-original:checked~.cl-stage .cl-original{display:block}
.cl-pick-original:checked~.cl-stage .cl-name-original{display:inline}
.cl-pick-original:checked~.cl-stage .cl-name-colour{display:none}
.cl-divider{position:absolute;top:0;bottom:0;left:var(--cl-split);width:2px;margin-left:-1px;
  background:#fff;box-shadow:0 0 4px rgba(0,0,0,.7);pointer-events:none}
.cl-divider::after{content:"\\2194";position:absolute;top:50%;left:50%;width:26px;height:26px;
  margin:-13px 0 0 -13px;border-radius:50%;background:#fff;color:#333;font:16px/26px sans-serif;
  text-align:center;box-shadow:0 0 4px rgba(0,0,0,.6)}
.cl-range{position:absolute;top:0;left:0;width:100%;height:100%;margin:0;padding:0;opacity:0;
  cursor:ew-resize;-webkit-appearance:none;appearance:none;background:none}
.cl-range::-webkit-slider-thumb{-webkit-appearance:none;width:2px;height:2px}
.cl-range::-moz-range-thumb{width:2px;height:2px;border:0}
.cl-tag{position:absolute;top:6px;padding:0 6px;border-radius:3px;background:rgba(0,0,0,.6);
  color:#fff;font-size:12px;line-height:20px;pointer-events:none}
.cl-tag-left{left:6px}
.cl-tag-right{right:6px}
.cl-slider:not(.cl-live) .cl-gray,.cl-slider:not(.cl-live) .cl-divider,
.cl-slider:not(.cl-live) .cl-range,.cl-slider:not(.cl-live) .cl-tag-left{display:none}
.cl-stage:focus-within{outline:2px solid #1a73e8;outline-offset:2px}
.cl-pick{position:absolute;width:1px;height:1px;margin:0;opacity:0}
.cl-switch{display:flex;justify-content:flex-end;margin-top:4px}
.cl-switch label{padding:1px 10px;border:1px solid #888;background:#fff;color:#333;cursor:pointer}
.cl-switch label:first-child{border-radius:3px 0 0 3px}
.cl-switch label:last-child{border-left:0;border-radius:0 3px 3px 0}
.cl-pick-colour:checked~.cl-switch .cl-label-colour,
.cl-pick-original:checked~.cl-switch .cl-label-original{background:#333;color:#fff}
.cl-pick:focus-visible~.cl-switch{outline:2px solid #1a73e8;outline-offset:2px}
.cl-slider figcaption{margin-top:4px;color:#444}
.cl-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(%(column)spx,1fr));gap:16px;
  align-items:start;margin:0 0 1em}
.cl-grid-note{margin:0 0 .5em;color:#555;font:13px/1.4 system-ui,sans-serif}
</style>""".replace("%(column)s", str(GRID_COLUMN_PX))

_FIGURE = jinja2.Environment(autoescape=True).from_string(
    """\
<figure class="{{ css_class }}" id="{{ uid }}" style="--cl-split:{{ start }}%;max-width:{{ width }}px">
{%- if original %}
<input type="radio" class="cl-pick cl-pick-colour" name="{{ uid }}-right" id="{{ uid }}-colour" checked>
<input type="radio" class="cl-pick cl-pick-original" name="{{ uid }}-right" id="{{ uid }}-original">
{%- endif %}
<div class="cl-stage">
<img class="cl-colour" src="data:image/jpeg;base64,{{ colorized }}" width="{{ width }}" \
height="{{ height }}" alt="colorized{{ alt }}">
{%- if original %}
<img class="cl-layer cl-original" src="data:image/jpeg;base64,{{ original }}" width="{{ width }}" \
height="{{ height }}" alt="original{{ alt }}">
{%- endif %}
<img class="cl-layer cl-gray" src="data:image/jpeg;base64,{{ gray }}" width="{{ width }}" \
height="{{ height }}" alt="gray input{{ alt }}">
<span class="cl-tag cl-tag-left">gray input</span>
<span class="cl-tag cl-tag-right"><span class="cl-name-colour">colorized</span>
{%- if original %}<span class="cl-name-original">original</span>{% endif %}</span>
<span class="cl-divider" aria-hidden="true"></span>
<input type="range" class="cl-range" min="0" max="100" step="1" value="{{ start }}" \
aria-label="Divider: gray input on the left, {{ 'colorized or original' if original else 'colorized' }} \
photo on the right{{ alt }}">
</div>
{%- if original %}
<div class="cl-switch"><label for="{{ uid }}-colour" class="cl-label-colour">colorized</label>\
<label for="{{ uid }}-original" class="cl-label-original">original</label></div>
{%- endif %}
{%- if lines %}
<figcaption>{% for line in lines %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</figcaption>
{%- endif %}
</figure>
<script>(function (slider) {
  if (!slider || slider.classList.contains("cl-live")) return;
  var range = slider.querySelector(".cl-range");
  function show() { slider.style.setProperty("--cl-split", range.value + "%"); }
  range.addEventListener("input", show);
  show();
  slider.classList.add("cl-live");
})(document.getElementById("{{ uid }}"));</script>"""
)


def _display_size(image: np.ndarray, max_side: int) -> tuple[int, int]:
    """``(width, height)`` of ``image`` scaled down to at most ``max_side`` pixels a side."""
    height, width = np.asarray(image).shape[:2]
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def jpeg_base64(image: np.ndarray, size: tuple[int, int], quality: int = JPEG_QUALITY) -> str:
    """``image`` (as :mod:`colorlib.reports.viz` takes them) resized to ``size`` = (width, height),
    as base64 JPEG.

    A gray image, or an RGB image whose three channels are equal, is stored with one channel.
    """
    pixels, _ = viz.as_display(image)
    if pixels.ndim == 3 and np.array_equal(pixels, np.repeat(pixels[..., :1], 3, axis=-1)):
        pixels = pixels[..., 0]
    picture = Image.fromarray(np.round(pixels * PIXEL_MAX).astype(np.uint8))
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality, optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(
    gray: np.ndarray,
    colorized: np.ndarray,
    original: np.ndarray | None,
    title: str | None,
    max_side: int,
) -> str:
    """One slider's markup and script, without the shared style."""
    size = _display_size(colorized, max_side)
    lines = str(title).splitlines() if title else []
    return _FIGURE.render(
        css_class=SLIDER_CLASS,
        uid=f"cl-{uuid.uuid4().hex[:12]}",
        start=START_PERCENT,
        width=size[0],
        height=size[1],
        gray=jpeg_base64(gray, size),
        colorized=jpeg_base64(colorized, size),
        original=None if original is None else jpeg_base64(original, size),
        alt=f" ({lines[0]})" if lines else "",
        lines=lines,
    )


def slider_html(
    gray: np.ndarray,
    colorized: np.ndarray,
    original: np.ndarray | None = None,
    title: str | None = None,
    max_side: int = MAX_SIDE,
) -> str:
    """One before/after slider: ``gray`` left of the divider, ``colorized`` (or ``original``) right.

    Images are uint8 or float in [0, 1], RGB or gray; ``gray`` and ``original`` are resized
    to the colorized photo's size. ``title`` (several lines allowed) goes under the photo.
    Returns a self-contained HTML fragment (style, markup, script).
    """
    return _STYLE + "\n" + _figure_html(gray, colorized, original, title, max_side)


def sliders_html(
    rows: Sequence[Row],
    titles: Sequence[str] | None = None,
    max_count: int = MAX_SLIDERS,
    max_side: int = MAX_SIDE,
    total: int | None = None,
) -> str:
    """A grid of sliders, one per ``(gray, colorized, original)`` row; the first ``max_count`` only.

    A line above the grid says so when photos are left out; ``total`` is how many there are
    in all when ``rows`` already holds only the first ones. Returns a self-contained HTML fragment.
    """
    shown = viz.first_rows(rows, titles, max_count, "sliders_html")
    names = list(titles[: len(shown)]) if titles is not None else [None] * len(shown)
    figures = [_figure_html(*row, title, max_side) for row, title in zip(shown, names, strict=True)]
    total = max(total or 0, len(rows))
    note = (
        f'<p class="cl-grid-note">The first {len(shown)} of {total} photos.</p>\n'
        if total > len(shown)
        else ""
    )
    return f'{_STYLE}\n{note}<div class="cl-grid">\n' + "\n".join(figures) + "\n</div>"


def scored_sliders_html(
    scored: Sequence[Mapping[str, Any]],
    keys: Sequence[str] = ("auc", "psnr"),
    max_count: int = MAX_SLIDERS,
) -> str:
    """Sliders of scored photos (rows of ``EvaluationResult.per_image``), their scores under each.

    Only the first ``max_count`` photos are loaded.
    """
    if not scored:
        raise ValueError("No scored photos to show.")
    shown = list(scored[:max_count])
    titles = summaries.row_titles(shown, keys)
    return sliders_html(gallery.scored_rows(shown), titles, max_count, total=len(scored))
