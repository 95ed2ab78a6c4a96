"""One photo coloured by hand (``colorlib serve``): encoded once, re-coloured at every edit.

A :class:`PhotoEditor` holds one photo. When it opens, the photo's L at the model's size
``S × S`` goes through the frozen encoder once; every edit (a hint placed, moved, recoloured or
removed; the vividness changed) then runs only what depends on the hints:

- a **hint colorizer** (``hints: true``) runs its decoder alone on the kept encoder features and
  the new hint planes (:func:`colorlib.data.hints.hint_planes`);
- an **ONNX colorizer** (``--runtime onnx``) runs its one graph, encoder too, with the new planes;
- any **other colorizer** keeps its automatic ab and spreads the hints over it with the
  joint-bilateral floor (:func:`colorlib.data.hints.propagate_hints`): no network at all.

The page shows a preview at most :data:`PREVIEW_SIDE` pixels on its longer side; the download
is the photo at its own resolution, its own L with the ab upscaled (:mod:`colorlib.colorize.fullres`).
Hints are points in the photo's own pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from colorlib.colorize.fullres import (
    _as_uint8_rgb,
    combine_full_resolution,
    model_image_size,
    model_input_l,
    predict_ab,
    takes_hints,
)
from colorlib.colorize.onnxmodel import OnnxColorizer
from colorlib.core.config import HINT_AB, HINT_MASK
from colorlib.data.hints import Hint, hint_planes, propagate_hints

#: Longer side of the preview the page shows, in pixels (smaller photos are shown as they are).
PREVIEW_SIDE = 1024
#: How hints are applied: by the hint colorizer itself, or by the floor over automatic colours.
BY_MODEL, BY_FLOOR = "model", "floor"


def preview_size(width: int, height: int, side: int = PREVIEW_SIDE) -> tuple[int, int]:
    """``(width, height)`` scaled so that the longer side is at most ``side`` (never enlarged)."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


class PhotoEditor:
    """A photo ``uint8 (H, W, 3)`` (or ``(H, W)``) and a colorizer, ready for edits.

    ``automatic_ab`` is the colorizer's ab without hints, ``float32 (S, S, 2)`` in [-1, 1];
    ``hints_by`` is :data:`BY_MODEL` or :data:`BY_FLOOR`. Not thread-safe: one edit at a time
    (the server holds a lock around the model).
    """

    def __init__(self, model, rgb: np.ndarray, preview_side: int = PREVIEW_SIDE) -> None:
        self.rgb = _as_uint8_rgb(rgb)
        self.height, self.width = self.rgb.shape[:2]
        self.size = model_image_size(model)
        self.l_small = model_input_l(self.rgb, self.size)
        shown = preview_size(self.width, self.height, preview_side)
        self.preview = (
            self.rgb
            if shown == (self.width, self.height)
            else cv2.resize(self.rgb, shown, interpolation=cv2.INTER_AREA)
        )
        self.hints_by = BY_MODEL if takes_hints(model) else BY_FLOOR
        self._whole = isinstance(model, OnnxColorizer)  # one graph: no encoder to keep apart
        if self.hints_by == BY_MODEL and self._whole:
            self._model = model
            self.automatic_ab = self.ab([])
        elif self.hints_by == BY_MODEL:
            from colorlib.archs import colorizer_arch, unet_arch

            encoder, self._decoder = colorizer_arch.split_colorizer(model)
            l_batch = self.l_small[None]
            self._inputs = unet_arch.decoder_inputs(encoder.predict_on_batch(l_batch), l_batch)
            self.automatic_ab = self.ab([])
        else:
            self.automatic_ab = predict_ab(model, self.l_small[None])[0]

    def ab(self, hints: Sequence[Hint]) -> np.ndarray:
        """The ab with these hints, ``float32 (S, S, 2)`` in [-1, 1]; no hints: the automatic colours.

        Raises ValueError for a hint outside the photo.
        """
        planes = hint_planes(hints, (self.width, self.height), self.size)  # checks every point
        if self.hints_by == BY_MODEL and self._whole:
            return self._model.predict_on_batch([self.l_small[None], planes[0][None], planes[1][None]])[0]
        if self.hints_by == BY_MODEL:
            inputs = {**self._inputs, HINT_AB: planes[0][None], HINT_MASK: planes[1][None]}
            return np.asarray(self._decoder.predict_on_batch(inputs), dtype=np.float32)[0]
        scale_x, scale_y = self.size / self.width, self.size / self.height
        at_model_size = [Hint(hint.x * scale_x, hint.y * scale_y, hint.ab) for hint in hints]
        return propagate_hints(self.l_small, self.automatic_ab, at_model_size)

    def render(
        self, hints: Sequence[Hint], vividness: float = 1.0, full_resolution: bool = False
    ) -> np.ndarray:
        """The coloured photo ``uint8``: the preview ``(h, w, 3)``, or ``(H, W, 3)`` at full resolution."""
        photo = self.rgb if full_resolution else self.preview
        return combine_full_resolution(photo, self.ab(hints), vividness=vividness)

    def gray_preview(self) -> np.ndarray:
        """The preview's gray version (its own L, no colour): what the model sees. ``uint8 (h, w, 3)``."""
        return combine_full_resolution(self.preview, np.zeros((self.size, self.size, 2), np.float32))
