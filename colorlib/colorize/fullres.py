"""The full-resolution trick of richzhang/colorization: predict ab small, keep the photo's own L.

The model sees a small square L image; the photo keeps its own size:

1. a copy of the photo resized to ``S × S`` (``S`` from ``model.input_shape``) gives the
   model's input L (:func:`model_input_l`), and the model predicts ab (:func:`predict_ab`);
2. the predicted ab ``(S, S, 2)`` is upscaled bilinearly to the photo's size;
3. it is joined with the photo's own full-resolution L and converted back to RGB
   (:func:`combine_full_resolution`).

Steps 2 and 3 run in horizontal strips of about :data:`STRIP_PIXELS` pixels, in float32
with OpenCV, so a 24-megapixel photo needs a few tens of MB of temporaries on top of its
8-bit input and output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from colorlib.color.lab import lab_to_rgb_fast, normalize_l, rgb_to_lab, rgb_to_lab_fast, scale_chroma
from colorlib.core.config import AB_SCALE, BATCH_SIZE, PIXEL_MAX
from colorlib.data.hints import Hint, hint_planes
from colorlib.data.images import resize_rgb

#: Pixels per strip of the full-resolution step (rows = STRIP_PIXELS // width).
STRIP_PIXELS = 1 << 19


def l_input_shape(model) -> tuple:
    """The shape of a colorizer's L input: its only input, or the first of a hint colorizer's three."""
    return tuple(model.input_shape[0] if takes_hints(model) else model.input_shape)


def takes_hints(model) -> bool:
    """Whether a colorizer takes hint planes besides L (``[L, hint_ab, hint_mask]``: ``hints: true``)."""
    return isinstance(model.input_shape, list)


def model_image_size(model) -> int:
    """``S`` of a colorizer whose input is L ``(S, S, 1)``."""
    shape = l_input_shape(model)
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1 or shape[1] is None:
        raise ValueError(
            f"Expected a colorizer with input L (S, S, 1), got input shape {shape}; give a model "
            "made by colorlib.archs.colorizer_arch.build_colorizer."
        )
    return int(shape[1])


def model_input_l(image: Image.Image | np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """A photo (Pillow RGB, or uint8 ``(H, W, 3)``) -> the model input L ``(size, size, 1)`` in [0, 1]
    (``(h, w, 1)`` for ``size=(h, w)``).

    Resized as in training (:func:`colorlib.data.images.resize_rgb`), converted with scikit-image.
    """
    small = resize_rgb(image, size)
    return normalize_l(rgb_to_lab(small)[..., :1])


def predict_ab(
    model, l_norm: np.ndarray, batch_size: int = BATCH_SIZE, hint_planes: tuple | None = None
) -> np.ndarray:
    """L ``float32 (N, S, S, 1)`` in [0, 1] -> ab ``float32 (N, S, S, 2)`` in [-1, 1].

    Runs the model ``batch_size`` images at a time. A hint colorizer also gets
    ``hint_planes`` = ``(hint_ab (N, S, S, 2), hint_mask (N, S, S, 1))``
    (:func:`colorlib.data.hints.hint_planes`), or none (zeros: the automatic colours); other
    colorizers refuse hints.
    """
    size = model_image_size(model)
    l_norm = np.asarray(l_norm, dtype=np.float32)
    if l_norm.ndim != 4 or l_norm.shape[1:] != (size, size, 1):
        raise ValueError(f"Expected L of shape (N, {size}, {size}, 1), got {l_norm.shape}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    hinted = takes_hints(model)
    if hint_planes is not None and not hinted:
        raise ValueError("This colorizer was trained without hints (hints: false); it cannot take any.")
    if hinted and hint_planes is None:
        hint_planes = (np.zeros((*l_norm.shape[:3], 2), np.float32), np.zeros_like(l_norm))
    arrays = [l_norm, *(np.asarray(plane, dtype=np.float32) for plane in hint_planes)] if hinted else [l_norm]
    parts = []
    for start in range(0, len(l_norm), batch_size):
        batch = [array[start : start + batch_size] for array in arrays]
        parts.append(np.asarray(model.predict_on_batch(batch if hinted else batch[0]), dtype=np.float32))
    if not parts:
        return np.zeros((0, size, size, 2), dtype=np.float32)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def combine_full_resolution(
    rgb: np.ndarray,
    ab_small: np.ndarray,
    bgr: bool = False,
    strip_pixels: int = STRIP_PIXELS,
    vividness: float = 1.0,
) -> np.ndarray:
    """The photo's own L plus ``ab_small`` upscaled to its size -> ``uint8 (H, W, 3)``.

    ``vividness`` scales the ab, fitted to the sRGB gamut at each pixel's L
    (:func:`colorlib.color.lab.scale_chroma`); 1 keeps the model's colours exactly.

    ``rgb``: ``uint8 (H, W, 3)``; ``ab_small``: ``float32 (s, s, 2)`` in [-1, 1]. The
    upscaling is bilinear with OpenCV's pixel-centre convention (as ``cv2.resize``):
    the horizontal pass runs once on the small ab, the vertical one per strip. With
    ``bgr=True`` the result is in OpenCV's BGR order, ready for ``cv2.imencode``.
    """
    height, width = rgb.shape[:2]
    rows_small = ab_small.shape[0]
    ab_rows = cv2.resize(
        np.ascontiguousarray(ab_small, dtype=np.float32) * np.float32(AB_SCALE),
        (width, rows_small),
        interpolation=cv2.INTER_LINEAR,
    ).reshape(rows_small, width, 2)
    out = np.empty((height, width, 3), dtype=np.uint8)
    strip_rows = max(1, min(height, strip_pixels // max(width, 1)))
    lower_ab = np.empty((strip_rows, width, 2), dtype=np.float32)
    ab = np.empty_like(lower_ab)
    scale = rows_small / height
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        rows = bottom - top
        # Source row of each output row (index vectors only, so float64 costs nothing).
        source = np.clip((np.arange(top, bottom) + 0.5) * scale - 0.5, 0, rows_small - 1)
        lower = np.floor(source).astype(np.intp)
        weight = (source - lower).astype(np.float32)[:, None, None]
        np.take(ab_rows, lower, axis=0, out=lower_ab[:rows], mode="clip")
        np.take(ab_rows, np.minimum(lower + 1, rows_small - 1), axis=0, out=ab[:rows], mode="clip")
        np.subtract(ab[:rows], lower_ab[:rows], out=ab[:rows])
        np.multiply(ab[:rows], weight, out=ab[:rows])
        np.add(ab[:rows], lower_ab[:rows], out=ab[:rows])
        lab = rgb_to_lab_fast(np.multiply(rgb[top:bottom], np.float32(1.0 / PIXEL_MAX), dtype=np.float32))
        cv2.mixChannels([ab[:rows]], [lab], [0, 1, 1, 2])  # lab[..., 1:] = ab, in place
        lab = scale_chroma(lab, vividness)
        colour = out[top:bottom]
        cv2.convertScaleAbs(lab_to_rgb_fast(lab), dst=colour, alpha=PIXEL_MAX)  # clipped >= 0
        if bgr:
            cv2.cvtColor(colour, cv2.COLOR_RGB2BGR, dst=colour)
    return out


def _as_uint8_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"Expected an 8-bit image (uint8), got dtype {image.dtype}.")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an image (H, W, 3) or (H, W), got shape {image.shape}.")
    return image


def colorize_array(
    model, rgb_uint8: np.ndarray, vividness: float = 1.0, hints: Sequence[Hint] | None = None
) -> np.ndarray:
    """One photo ``uint8 (H, W, 3)`` (colour or gray; ``(H, W)`` also taken) -> ``uint8 (H, W, 3)``.

    Only the photo's L is used; the output has the same size and the same L. ``vividness``: see
    :func:`combine_full_resolution`. ``hints``: colour points in the photo's pixels, for a hint
    colorizer (:mod:`colorlib.data.hints`); None or empty: the automatic colours.
    """
    rgb = _as_uint8_rgb(rgb_uint8)
    size = model_image_size(model)
    planes = None
    if hints:
        hint_ab, mask = hint_planes(hints, (rgb.shape[1], rgb.shape[0]), size)
        planes = (hint_ab[None], mask[None])
    ab = predict_ab(model, model_input_l(rgb, size)[None], hint_planes=planes)[0]
    return combine_full_resolution(rgb, ab, vividness=vividness)


#: Quality of the JPEG and WebP photos colorize writes.
JPEG_QUALITY = 95


def write_photo(bgr: np.ndarray, target: Path) -> Path:
    """A colorized photo ``uint8 (H, W, 3)`` BGR written to ``target`` in the format its extension
    names (JPEG and WebP at :data:`JPEG_QUALITY`), atomically. Raises OSError when OpenCV cannot."""
    from colorlib.core.io import atomic_write

    suffix = Path(target).suffix.lower()
    options = {
        ".jpg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".webp": [cv2.IMWRITE_WEBP_QUALITY, JPEG_QUALITY],
    }.get(suffix, [])
    ok, encoded = cv2.imencode(suffix, bgr, options)
    if not ok:
        raise OSError(f"OpenCV could not encode a {suffix} image")
    with atomic_write(target) as temporary:
        temporary.write_bytes(encoded.tobytes())
    return Path(target)
