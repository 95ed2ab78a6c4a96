"""Colours that hold still across the frames of a clip: the last frame's colours carried along the flow.

Coloured one by one, the frames of a clip flicker: each is a new guess. :class:`ClipColorizer`
colours them in order, and for each frame after the first:

1. the colorizer's automatic ab for the frame, ``(S, S, 2)`` at the model's size;
2. the optical flow between this frame's L and the last one's, both ways (OpenCV's DIS, at the
   model's size: fast on a CPU), and the last output's ab warped along it;
3. the pixels where the two flows agree and no motion boundary runs (the tests of
   :func:`colorlib.data.flow.valid_mask`) take ``CARRY`` (0.9) of the carried colour
   and the rest of the automatic one; the others keep the automatic colour;
4. a scene cut (the mean change of L over :data:`CUT_L`) starts afresh: nothing is carried.

Measured on three clips (docs/video.md): feeding the carried colours to the hint head as hints
instead lowered the colourfulness by a third and raised the colour-distribution flicker, and
requiring L to match along the flow kept most of the flicker, so neither is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from colorlib.colorize.fullres import model_image_size, model_input_l, predict_ab
from colorlib.core.config import PIXEL_MAX
from colorlib.data.flow import dis_flow, valid_mask, warp

#: The share of a carried colour where the flow is trusted (the rest is the frame's own guess).
CARRY = 0.9
#: A scene cut: the mean absolute change of L (in [0, 1]) from the last frame above this.
CUT_L = 0.15
#: Ways of colouring a clip: frame by frame, or with the colours carried along the flow.
METHODS = ("frame", "temporal")


@dataclass
class ClipColorizer:
    """Colours the frames of one clip, in order (see the module docstring).

    ``model``: any colorizer (its automatic colours); ``method``: ``"temporal"`` (default) or
    ``"frame"`` (each frame alone). :meth:`ab` takes a frame's L at the model's size and returns its
    ab, ``float32 (S, S, 2)`` in [-1, 1]; ``cuts`` counts the scene cuts met.
    """

    model: object
    method: str = "temporal"
    carry: float = CARRY
    cut_l: float = CUT_L
    #: Reference photos (:class:`colorlib.colorize.reference.Reference`), each at a frame number or
    #: None (the whole clip): a frame takes hints from the one nearest to it.
    references: Sequence[tuple[int | None, object]] = ()
    cuts: int = 0
    frame: int = 0
    _last: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} is not known; choose one of {', '.join(METHODS)}.")
        if not 0 <= self.carry <= 1:
            raise ValueError(f"carry must be in [0, 1], got {self.carry}.")
        self.size = model_image_size(self.model)

    def reset(self) -> None:
        """Forget the last frame: the next one is coloured afresh (a new clip, a scene cut)."""
        self._last = None

    def ab(self, l_small: np.ndarray, automatic: np.ndarray | None = None) -> np.ndarray:
        """The ab of the next frame from its L ``(S, S, 1)`` in [0, 1]; ``automatic``: its own ab
        when already predicted (a batch of frames through the model at once)."""
        if automatic is None:
            automatic = self._own_ab(l_small)
        self.frame += 1
        ab = automatic
        if self.method == "temporal" and self._last is not None:
            last_l, last_ab = self._last
            if float(np.mean(np.abs(l_small - last_l))) > self.cut_l:
                self.cuts += 1
            else:
                ab = self._carried(l_small, last_l, last_ab, automatic)
        self._last = (l_small, ab)
        return ab

    def _own_ab(self, l_small: np.ndarray) -> np.ndarray:
        """The frame's colours before any carrying: automatic, or from the nearest reference's hints."""
        if not self.references:
            return predict_ab(self.model, l_small[None])[0]
        from colorlib.colorize.reference import cell_features, hinted_ab

        _, reference = min(self.references, key=lambda item: abs((item[0] or 0) - self.frame))
        features = cell_features(self._encoder(), l_small)
        hints = reference.hints(features, (self.size, self.size))
        return hinted_ab(self.model, l_small, hints, (self.size, self.size))

    def _encoder(self):
        if not hasattr(self, "_multiscale"):
            from colorlib.colorize.reference import multiscale_encoder

            self._multiscale = multiscale_encoder(self.model)
        return self._multiscale

    def _carried(self, l_small, last_l, last_ab, automatic) -> np.ndarray:
        now = np.round(l_small[..., 0] * PIXEL_MAX).astype(np.uint8)
        before = np.round(last_l[..., 0] * PIXEL_MAX).astype(np.uint8)
        backward = dis_flow(now, before)  # each pixel of this frame -> where it was in the last
        forward = dis_flow(before, now)
        trusted = valid_mask(backward, forward)[..., None]
        carried = warp(np.ascontiguousarray(last_ab, dtype=np.float32), backward)
        weight = self.carry * trusted
        return (automatic * (1 - weight) + carried * weight).astype(np.float32)

    def frame_l(self, rgb: np.ndarray) -> np.ndarray:
        """A frame ``uint8 (H, W, 3)`` -> its L at the model's size, ``(S, S, 1)`` in [0, 1]."""
        return model_input_l(rgb, self.size)


__all__ = ["CARRY", "CUT_L", "METHODS", "ClipColorizer"]
