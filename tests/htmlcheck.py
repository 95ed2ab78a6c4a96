"""What the tests check in a rendered HTML page: figures, sliders, links, code, nothing fetched."""

from __future__ import annotations

import re

#: An embedded figure in a report, as a browser sees it.
EMBEDDED_PNG = re.compile(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=\s]{100,}"')
#: A resource the browser would fetch from the network.
EXTERNAL_RESOURCE = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', re.I)
#: A before/after slider of colorlib.reports.slider (its figure element).
SLIDER = re.compile(r'<figure class="cl-slider" id="(cl-[0-9a-f]+)"')
#: The code of a cell, as nbconvert's lab template renders it.
CODE_INPUT = re.compile(r'<div class="jp-CodeMirrorEditor ')
#: A link of the page.
LINK = re.compile(r'<a [^>]*href="([^"]+)"')


def count_embedded_figures(html: str) -> int:
    """How many embedded PNG figures an HTML report holds."""
    return len(EMBEDDED_PNG.findall(html))


def external_resources(html: str) -> list[str]:
    """Tags in an HTML report that would fetch something from the network (should be none)."""
    return EXTERNAL_RESOURCE.findall(html)


def slider_ids(html: str) -> list[str]:
    """The ids of the before/after sliders of a page, in order."""
    return SLIDER.findall(html)


def shows_code(html: str) -> bool:
    """Whether a report shows the code of its cells."""
    return bool(CODE_INPUT.search(html))


def links(html: str) -> list[str]:
    """The pages a page links to, in order (links to its own headings left out)."""
    return [target for target in LINK.findall(html) if not target.startswith("#")]
