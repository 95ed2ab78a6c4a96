"""What the tests check in a rendered HTML report: embedded figures, and nothing fetched."""

from __future__ import annotations

import re

#: An embedded figure in a report, as a browser sees it.
EMBEDDED_PNG = re.compile(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=\s]{100,}"')
#: A resource the browser would fetch from the network.
EXTERNAL_RESOURCE = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', re.I)


def count_embedded_figures(html: str) -> int:
    """How many embedded PNG figures an HTML report holds."""
    return len(EMBEDDED_PNG.findall(html))


def external_resources(html: str) -> list[str]:
    """Tags in an HTML report that would fetch something from the network (should be none)."""
    return EXTERNAL_RESOURCE.findall(html)
