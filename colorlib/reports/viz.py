"""Figures for the notebooks and reports.

Every function returns a :class:`matplotlib.figure.Figure` and shows nothing. The
figures are made with pyplot and then closed in pyplot's registry, so they neither pile
up in long runs nor show twice in a notebook: display one with ``display(fig)`` or as
the last expression of a cell, save one with :func:`save_figure`. Any backend works
(Agg included).

Images may be ``uint8`` (0-255) or float in [0, 1], RGB ``(H, W, 3)`` or gray
``(H, W)`` / ``(H, W, 1)``. The charts of the metrics are in :mod:`colorlib.reports.charts`.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from colorlib.color.lab import rgb_to_lab
from colorlib.core.config import AB_SCALE, L_MAX, PIXEL_MAX
from colorlib.core.io import atomic_write
from colorlib.data.augment import AugmentParams, apply

#: Width and height of one image panel, in inches.
PANEL_INCHES = 3.0


#: Resolution of saved figures.
SAVE_DPI = 120


#: At most this many rows in :func:`comparison_grid` unless told otherwise.
MAX_GRID_ROWS = 8


#: Colormaps of the LAB channels: L as gray, a from green to magenta, b from blue to yellow.
LAB_CMAPS = {"L": "gray", "a": "PiYG_r", "b": "cividis"}


def finish_figure(fig: Figure) -> Figure:
    """Detach ``fig`` from pyplot, so it is shown only where the caller displays it."""
    plt.close(fig)
    return fig


def as_display(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An image as floats in [0, 1] and its colormap: ``"gray"`` for one channel, else None.

    Takes the images this module takes (uint8 or float, RGB or gray); used by ``imshow``
    here and by :mod:`colorlib.reports.slider`.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"Expected an image (H, W, 3), (H, W, 1) or (H, W), got shape {image.shape}.")
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / PIXEL_MAX
    elif np.issubdtype(image.dtype, np.floating):
        image = np.clip(image, 0.0, 1.0)
    else:
        raise ValueError(f"Expected uint8 or float images, got dtype {image.dtype}.")
    return image, ("gray" if image.ndim == 2 else None)


def _clean(ax) -> None:
    """No ticks and no frame, but room for a y label."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _show(ax, image: np.ndarray, title: str | None = None) -> None:
    pixels, cmap = as_display(image)
    ax.imshow(pixels, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="antialiased")
    if title:
        ax.set_title(title, fontsize=10)
    _clean(ax)


def _grid(rows: int, cols: int, panel: float = PANEL_INCHES, aspect: float = 1.0, extra_width: float = 0.0):
    """A constrained-layout grid of image panels ``panel`` wide and ``aspect × panel`` high."""
    aspect = min(max(aspect, 0.3), 3.0)
    size = (panel * cols + extra_width, panel * aspect * rows + 0.4)
    return plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")


def _aspect(image: np.ndarray) -> float:
    """Height over width of an image."""
    return image.shape[0] / image.shape[1]


def first_rows(rows: Sequence, titles: Sequence[str] | None, max_rows: int, caller: str) -> list:
    """The first ``max_rows`` of the ``(gray, colorized, original)`` rows of a grid, the arguments checked.

    ``caller`` names the function in the error messages.
    """
    if not rows:
        raise ValueError(f"{caller} needs at least one (gray, colorized, original) row.")
    if max_rows < 1:
        raise ValueError(f"{caller}: the most rows to show must be at least 1, got {max_rows}.")
    if titles is not None and len(titles) != len(rows):
        raise ValueError(f"Got {len(titles)} titles for {len(rows)} rows; give one per row.")
    return list(rows[:max_rows])


def comparison_grid(
    rows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    titles: Sequence[str] | None = None,
    max_rows: int = MAX_GRID_ROWS,
) -> Figure:
    """Several photos, one per row: grayscale input | colorized | original.

    The original column is there when any row has one (an empty panel says "no
    original" for the others). Only the first ``max_rows`` rows are drawn, and the
    figure title says so. Axes: rows × (2 or 3).
    """
    shown = first_rows(rows, titles, max_rows, "comparison_grid")
    with_original = any(row[2] is not None for row in shown)
    headers = ["grayscale input", "colorized"] + (["original"] if with_original else [])
    fig, axes = _grid(len(shown), len(headers), aspect=_aspect(np.asarray(shown[0][1])))
    for index, (gray, colorized, original) in enumerate(shown):
        images = [gray, colorized] + ([original] if with_original else [])
        for col, image in enumerate(images):
            ax = axes[index, col]
            if image is None:
                ax.text(0.5, 0.5, "no original", ha="center", va="center", color="0.5")
                _clean(ax)
            else:
                _show(ax, image, headers[col] if index == 0 else None)
        if titles is not None:
            axes[index, 0].set_ylabel(titles[index], fontsize=9)
    if len(rows) > len(shown):
        fig.suptitle(f"first {len(shown)} of {len(rows)} photos")
    return finish_figure(fig)


def show_lab_channels(rgb_images: Sequence[np.ndarray] | np.ndarray) -> Figure:
    """A few RGB photos and their CIE L, a and b channels, one photo per row.

    L is drawn in gray over [0, 100]; a (green to magenta) and b (blue to yellow) over a
    symmetric range that fits every photo. Axes: 4 per photo plus one colorbar per channel.
    """
    if isinstance(rgb_images, np.ndarray) and rgb_images.ndim == 3:
        rgb_images = [rgb_images]
    if len(rgb_images) == 0:
        raise ValueError("show_lab_channels needs at least one image.")
    images = []
    for image in rgb_images:
        pixels, cmap = as_display(image)
        if cmap is not None:
            raise ValueError(f"show_lab_channels takes RGB images (H, W, 3), got shape {np.shape(image)}.")
        images.append(pixels)
    labs = [rgb_to_lab(pixels) for pixels in images]
    ab_limit = max(10.0, max(float(np.abs(lab[..., 1:]).max()) for lab in labs))
    ab_limit = min(AB_SCALE, math.ceil(ab_limit / 10) * 10)
    fig, axes = _grid(len(images), 4, aspect=_aspect(images[0]), extra_width=1.5)
    channels = [("L", 0, 0.0, L_MAX), ("a", 1, -ab_limit, ab_limit), ("b", 2, -ab_limit, ab_limit)]
    mappables = {}
    for row, (pixels, lab) in enumerate(zip(images, labs, strict=True)):
        _show(axes[row, 0], pixels, "RGB" if row == 0 else None)
        for col, (name, channel, low, high) in enumerate(channels, start=1):
            ax = axes[row, col]
            mappables[name] = ax.imshow(lab[..., channel], cmap=LAB_CMAPS[name], vmin=low, vmax=high)
            if row == 0:
                ax.set_title(f"{name} channel", fontsize=10)
            _clean(ax)
    for col, (name, _, _, _) in enumerate(channels, start=1):
        fig.colorbar(mappables[name], ax=axes[:, col], shrink=0.8, label=name)
    return finish_figure(fig)


def _describe(params: AugmentParams) -> str:
    if params.is_identity:
        return "identity"
    parts = [f"rotate {params.angle:+.1f}°"] if params.angle else []
    parts += ["h-flip"] * params.hflip + ["v-flip"] * params.vflip
    return ", ".join(parts)


def show_augmentations(rgb: np.ndarray, params_list: Sequence[AugmentParams], max_cols: int = 4) -> Figure:
    """A photo and its augmented views (rotation and flips named above each). 1 + views axes."""
    original, _ = as_display(rgb)
    channels_last = original if original.ndim == 3 else original[..., None]
    panels = [(original, "original")]
    panels += [
        (apply(channels_last, params).reshape(original.shape), _describe(params)) for params in params_list
    ]
    cols = min(max_cols, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = _grid(rows, cols, aspect=_aspect(original))
    for ax in axes.flat[len(panels) :]:
        fig.delaxes(ax)
    for ax, (image, label) in zip(axes.flat, panels, strict=False):
        _show(ax, image, label)
    return finish_figure(fig)


def show_feature_maps(features: np.ndarray, n: int = 16) -> Figure:
    """The ``n`` most active channels (highest mean) of one encoder output ``(s, s, C)``. n axes."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 3:
        raise ValueError(
            f"Expected the features of one image (s, s, C), got shape {features.shape}; "
            "take one image of a batch with features[i]."
        )
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    n = min(n, features.shape[-1])
    order = np.argsort(features.mean(axis=(0, 1)))[::-1][:n]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = _grid(rows, cols, panel=PANEL_INCHES * 0.6)
    for ax in axes.flat[n:]:
        fig.delaxes(ax)
    for ax, channel in zip(axes.flat, order, strict=False):
        ax.imshow(features[..., channel], cmap="viridis", interpolation="nearest")
        ax.set_title(f"channel {channel}", fontsize=8)
        _clean(ax)
    fig.suptitle(
        f"{n} most active of {features.shape[-1]} feature maps ({features.shape[0]}×{features.shape[1]})"
    )
    return finish_figure(fig)


def _read_history_csv(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        raise FileNotFoundError(f"No training history at {path}; train a model first (notebook 03).")
    with open(path, newline="") as handle:
        records = list(csv.DictReader(handle))
    if not records:
        raise ValueError(f"The training history {path} has no epochs yet.")
    return {key: [float(record[key]) for record in records] for key in records[0] if key != "epoch"}


def plot_history(history: Mapping[str, Sequence[float]] | Path | str) -> Figure:
    """Training and validation loss per epoch, from a Keras history dict or CSVLogger file. 1 axis.

    Every series whose name ends in ``loss`` is drawn; the best validation epoch is marked.
    """
    if isinstance(history, (str, Path)):
        history = _read_history_csv(Path(history))
    series = {key: list(values) for key, values in history.items() if key.endswith("loss")}
    if not series or not any(series.values()):
        raise ValueError(f"The history has no loss values (keys: {', '.join(history) or 'none'}).")
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for key, values in series.items():
        label = "validation" if key == "val_loss" else ("training" if key == "loss" else key)
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    if series.get("val_loss"):
        values = series["val_loss"]
        best = int(np.nanargmin(values))
        ax.axvline(best + 1, color="0.6", linestyle="--", linewidth=1)
        ax.annotate(
            f"best {values[best]:.4g}", (best + 1, values[best]), textcoords="offset points", xytext=(5, 8)
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MSE of ab)")
    ax.set_title("Training history")
    ax.grid(alpha=0.3)
    ax.legend()
    return finish_figure(fig)


def save_figure(fig: Figure, path: Path | str, dpi: int = SAVE_DPI) -> Path:
    """Save ``fig`` atomically (PNG unless ``path`` names another format matplotlib knows)."""
    path = Path(path)
    file_format = path.suffix.lstrip(".").lower() or "png"
    with atomic_write(path, suffix=path.suffix or ".png") as temporary:
        fig.savefig(temporary, format=file_format, dpi=dpi, bbox_inches="tight")
    return path


def png_base64(fig: Figure, dpi: int = SAVE_DPI) -> str:
    """``fig`` as a base64 PNG, as a notebook stores a figure (for pages made without a kernel)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
