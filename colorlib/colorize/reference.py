"""Colours taken from a reference: a colour photo of the same or a similar scene guides a gray one.

The encoder sees both photos at the model's size. Its features at stride 16 (with the bottleneck's,
upsampled to them, for what things are) describe each 16 × 16 cell; every cell of the gray photo is
matched to the most similar cell of the reference (cosine similarity). A match is trusted when the
two cells are each other's best match and the similarity is at least :data:`MIN_SIMILARITY`; the
:data:`MAX_HINTS` best trusted matches become hints (UniColor's way of turning an exemplar into
hint points): at the gray cell's centre, the reference cell's mean colour. A colorizer trained with
hints spreads them itself; any other gets them spread by the joint-bilateral floor.

``reference_hints(model, gray_rgb, reference_rgb)`` gives the hints; :class:`Reference` keeps a
reference's features for many photos or frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colorlib.color.lab import normalize_ab, normalize_l, rgb_to_lab
from colorlib.colorize.fullres import model_image_size, model_input_l
from colorlib.data.hints import Hint
from colorlib.data.images import resize_rgb

#: The stride of the cells matched (pixels at the model's size).
CELL = 16
#: The lowest cosine similarity of a trusted match, and the most hints one reference gives.
MIN_SIMILARITY, MAX_HINTS = 0.6, 40


def multiscale_encoder(model):
    """The colorizer's encoder, giving its features at every stride (the U-Net's, or made from it)."""
    from colorlib.archs import colorizer_arch

    encoder = colorizer_arch.split_colorizer(model)[0]
    if isinstance(encoder.output, dict):
        return encoder
    return colorizer_arch.multiscale_encoder(encoder)


def cell_features(encoder, l_small: np.ndarray) -> np.ndarray:
    """L ``(S, S, 1)`` -> unit feature vectors of its ``(S/16)²`` cells, ``float32 (cells, C)``."""
    outputs = encoder.predict_on_batch(l_small[None])
    stride16 = np.asarray(outputs["stride16"], np.float32)[0]
    side = stride16.shape[0]
    bottleneck = np.asarray(outputs["bottleneck"], np.float32)[0]
    factor = side // bottleneck.shape[0]
    upsampled = np.repeat(np.repeat(bottleneck, factor, axis=0), factor, axis=1)
    parts = []
    for block in (stride16, upsampled):
        flat = block.reshape(side * side, -1)
        flat = flat - flat.mean(axis=0, keepdims=True)
        parts.append(flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6))
    joined = np.concatenate(parts, axis=1)
    return joined / (np.linalg.norm(joined, axis=1, keepdims=True) + 1e-6)


@dataclass
class Reference:
    """A colour photo's features and colours at a colorizer's size, ready to be matched."""

    features: np.ndarray  # (cells, C), unit vectors
    cell_ab: np.ndarray  # (cells, 2): each cell's mean ab / 128
    size: int
    cell_l: np.ndarray | None = None  # (cells,): each cell's mean L / 100

    @classmethod
    def of(cls, model, rgb: np.ndarray, encoder=None) -> Reference:
        """The reference ``uint8 (H, W, 3)`` RGB photo for ``model`` (``encoder``: its
        :func:`multiscale_encoder`, when made already)."""
        size = model_image_size(model)
        small = resize_rgb(np.asarray(rgb, np.uint8), size)  # float32 in [0, 1]
        lab = rgb_to_lab(small)
        l_small, ab = normalize_l(lab[..., :1]), normalize_ab(lab[..., 1:])
        side = size // CELL
        cell_ab = ab.reshape(side, CELL, side, CELL, 2).mean(axis=(1, 3)).reshape(-1, 2)
        cell_l = l_small.reshape(side, CELL, side, CELL).mean(axis=(1, 3)).reshape(-1)
        features = cell_features(encoder or multiscale_encoder(model), l_small)
        return cls(features, cell_ab.astype(np.float32), size, cell_l.astype(np.float32))

    def colored_hints(self, features: np.ndarray, photo_size: tuple[int, int]) -> list[dict]:
        """:meth:`hints` as the hints file writes them, ``{"x", "y", "color": "#rrggbb"}``: each
        colour at the lightness of the reference cell it came from (what ``colorlib serve`` shows)."""
        from colorlib.colorize.hintfile import ab_color

        similarity_best = (features @ self.features.T).argmax(axis=1)
        found = []
        for cell, _, hint in self.scored_hints(features, photo_size)[:MAX_HINTS]:
            lightness = float(self.cell_l[similarity_best[cell]]) if self.cell_l is not None else 0.6
            found.append(
                {"x": round(hint.x, 1), "y": round(hint.y, 1), "color": ab_color(hint.ab, lightness)}
            )
        return found

    def scored_hints(
        self, features: np.ndarray, photo_size: tuple[int, int], min_similarity: float | None = None
    ) -> list[tuple[int, float, Hint]]:
        """``(gray cell, similarity, hint)`` of every trusted match (see the module docstring), best
        first, for a gray photo whose cells have ``features`` (:func:`cell_features`); the hints are
        in the photo's own pixels (``photo_size`` = (width, height)). ``min_similarity``: the lowest
        trusted similarity (default :data:`MIN_SIMILARITY`)."""
        if min_similarity is None:
            min_similarity = MIN_SIMILARITY
        similarity = features @ self.features.T  # (gray cells, reference cells)
        best = similarity.argmax(axis=1)
        back = similarity.argmax(axis=0)
        score = similarity[np.arange(len(best)), best]
        trusted = np.flatnonzero((back[best] == np.arange(len(best))) & (score >= min_similarity))
        side = self.size // CELL
        width, height = photo_size
        found = []
        for cell in trusted[np.argsort(-score[trusted])]:
            row, col = divmod(int(cell), side)
            x = (col + 0.5) * CELL * width / self.size
            y = (row + 0.5) * CELL * height / self.size
            hint = Hint(float(x), float(y), tuple(float(v) for v in self.cell_ab[best[cell]]))
            found.append((int(cell), float(score[cell]), hint))
        return found

    def hints(self, features: np.ndarray, photo_size: tuple[int, int]) -> list[Hint]:
        """The best :data:`MAX_HINTS` of :meth:`scored_hints`."""
        return [hint for _, _, hint in self.scored_hints(features, photo_size)[:MAX_HINTS]]


def reference_hints(model, rgb: np.ndarray, reference: Reference | np.ndarray, encoder=None) -> list[Hint]:
    """Hints for the photo ``rgb`` (``uint8 (H, W, 3)``, gray or not: only its L is read) from a
    reference photo (``uint8`` RGB, or a :class:`Reference` made already)."""
    encoder = encoder or multiscale_encoder(model)
    if not isinstance(reference, Reference):
        reference = Reference.of(model, reference, encoder)
    rgb = np.asarray(rgb, np.uint8)
    features = cell_features(encoder, model_input_l(rgb, reference.size))
    return reference.hints(features, (rgb.shape[1], rgb.shape[0]))


def hinted_ab(model, l_small: np.ndarray, hints: list[Hint], photo_size: tuple[int, int]) -> np.ndarray:
    """The ab ``(S, S, 2)`` of a photo with these hints (in its own pixels, ``photo_size`` = (width,
    height)): spread by a hint colorizer itself, or by the joint-bilateral floor over the automatic
    colours of any other."""
    from colorlib.colorize.fullres import predict_ab, takes_hints
    from colorlib.data.hints import hint_planes, propagate_hints

    size = l_small.shape[0]
    if takes_hints(model):
        hint_ab, mask = hint_planes(hints, photo_size, size)
        return predict_ab(model, l_small[None], hint_planes=(hint_ab[None], mask[None]))[0]
    automatic = predict_ab(model, l_small[None])[0]
    scale_x, scale_y = size / photo_size[0], size / photo_size[1]
    at_size = [Hint(hint.x * scale_x, hint.y * scale_y, hint.ab) for hint in hints]
    return propagate_hints(l_small, automatic, at_size)


def colorize_with_reference(model, scan, out_dir, reference, vividness: float = 1.0, progress=True):
    """``colorlib colorize PHOTOS --reference REF``: each photo of ``scan`` (an
    :class:`colorlib.colorize.photofiles.InputScan`, or a list of files and folders) coloured with the
    hints ``reference`` gives it, written into ``out_dir`` as colorize writes photos.

    ``reference``: a :class:`Reference`, or anything with ``hints(rgb)`` giving a photo's hints in
    its own pixels (``--reference auto``: :class:`colorlib.colorize.refindex.AutoReferences`).
    Returns the :class:`colorlib.colorize.colorize.ColorizeReport`; a bad photo is reported and skipped.
    """
    from tqdm import tqdm

    from colorlib.colorize.colorize import ColorizeReport
    from colorlib.colorize.fullres import combine_full_resolution, write_photo
    from colorlib.colorize.photofiles import InputScan, plan_outputs, scan_inputs
    from colorlib.data.images import ImageLoadError, load_rgb

    if not isinstance(scan, InputScan):
        scan = scan_inputs(scan)
    size = model_image_size(model)
    encoder = multiscale_encoder(model) if isinstance(reference, Reference) else None
    report = ColorizeReport(out_dir, left_out=scan.left_out)
    plan = plan_outputs(scan, out_dir)
    for source, target, reason in tqdm(
        plan, desc="Colorizing from references", unit="photo", disable=not progress
    ):
        if reason is not None:
            report.failed.append((source, reason))
            continue
        try:
            rgb = load_rgb(source)
            if isinstance(reference, Reference):
                hints = reference_hints(model, rgb, reference, encoder)
            else:
                hints = reference.hints(rgb)
            ab = hinted_ab(model, model_input_l(rgb, size), hints, (rgb.shape[1], rgb.shape[0]))
            target.parent.mkdir(parents=True, exist_ok=True)
            bgr = combine_full_resolution(rgb, ab, bgr=True, vividness=vividness)
            report.written.append(write_photo(bgr, target))
        except (ImageLoadError, OSError) as error:
            report.failed.append((source, getattr(error, "reason", str(error))))
    return report


__all__ = [
    "MAX_HINTS",
    "MIN_SIMILARITY",
    "Reference",
    "cell_features",
    "colorize_with_reference",
    "hinted_ab",
    "multiscale_encoder",
    "reference_hints",
]
