"""The hints file of ``colorlib colorize --hints`` (and of the web page's save and load).

A JSON list of points, in the photo's own pixels from its top-left corner, each with an sRGB
colour whose CIE ab the hint carries::

    [{"x": 120, "y": 64, "color": "#3a6ec8"}, {"x": 300.5, "y": 210, "color": "#c83a3a"}]

Every entry is checked; a malformed one (not an object, a missing or non-numeric x or y, a colour
that is not ``#rrggbb``, a point outside the photo) is refused with a message naming it; so is a file
that is not JSON, nested too deeply, or over :data:`~colorlib.core.config.MAX_JSON_BYTES`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from colorlib.color.lab import denormalize_ab, lab_to_rgb, normalize_ab, rgb_to_lab
from colorlib.core.config import MAX_JSON_BYTES, PIXEL_MAX
from colorlib.core.io import parse_untrusted_json
from colorlib.data.hints import Hint

#: A colour as the file writes it.
COLOR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")


def color_ab(color: str) -> tuple[float, float]:
    """``"#rrggbb"`` (sRGB) -> its CIE (a, b) / 128."""
    if not isinstance(color, str) or not COLOR_PATTERN.fullmatch(color):
        raise ValueError(f"{color!r} is not a colour written #rrggbb.")
    rgb = np.array([[[int(color[i : i + 2], 16) for i in (1, 3, 5)]]], dtype=np.float32) / PIXEL_MAX
    a, b = normalize_ab(rgb_to_lab(rgb)[0, 0, 1:])
    return float(a), float(b)


def ab_color(ab: Sequence[float], lightness: float = 0.6) -> str:
    """CIE (a, b) / 128 at a lightness L / 100 -> ``"#rrggbb"``, the colour a hint of that ab is
    written with (the inverse of :func:`color_ab`, up to rounding and the sRGB gamut)."""
    lab = np.array([[[100 * lightness, *denormalize_ab(np.asarray(ab, np.float32))]]], np.float32)
    rgb = np.clip(lab_to_rgb(lab)[0, 0], 0, 1)
    return "#" + "".join(f"{round(float(v) * PIXEL_MAX):02x}" for v in rgb)


def parse_hints(entries: Any, photo_size: tuple[int, int], source: str = "the hints") -> list[Hint]:
    """The JSON value of a hints file -> hints; ValueError naming the first bad entry (1-based)."""
    if not isinstance(entries, list):
        raise ValueError(f'{source} must be a JSON list of {{"x", "y", "color"}} objects.')
    width, height = photo_size
    hints = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}, entry {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: {entry!r} is not an object with x, y and color.")
        missing = [key for key in ("x", "y", "color") if key not in entry]
        if missing:
            raise ValueError(f"{where}: {', '.join(missing)} missing.")
        x, y = entry["x"], entry["y"]
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)
        )
        if not numbers:
            raise ValueError(f"{where}: x and y must be numbers of pixels, got {x!r} and {y!r}.")
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"{where}: ({x}, {y}) is outside the photo ({width} × {height} pixels).")
        try:
            ab = color_ab(entry["color"])
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        hints.append(Hint(float(x), float(y), ab))
    return hints


def read_hints(path: Path | str, photo_size: tuple[int, int]) -> list[Hint]:
    """The hints of a file for a photo of ``photo_size`` = (width, height)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No hints file at {path}; write one as docs/cli.md shows.")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise ValueError(
            f"{path} is {size:,} bytes; a hints file is at most {MAX_JSON_BYTES:,} bytes "
            f"({MAX_JSON_BYTES // 2**20} MB, far more than 500 hints need)."
        )
    try:
        entries = parse_untrusted_json(path.read_bytes(), source=f"The hints file {path}")
    except ValueError as error:
        raise ValueError(
            f"{error} A hints file is a JSON list of x, y, color objects (docs/cli.md)."
        ) from None
    return parse_hints(entries, photo_size, source=str(path))


def hints_json(points: Sequence[tuple[float, float, str]]) -> str:
    """``[(x, y, "#rrggbb"), ...]`` as the file's JSON (what the page saves)."""
    return json.dumps([{"x": x, "y": y, "color": color} for x, y, color in points], indent=1)
