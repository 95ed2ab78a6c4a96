"""Seeded augmentation: a rotation plus horizontal and vertical flips.

The same :class:`AugmentParams` is applied to the model input (L) and the target
(ab), or to the RGB image before it is split, so input and target stay aligned.
View 0 of every image is the identity; views 1..K-1 are random but reproducible
from the seed and the image's content hash, which is what the feature cache needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from colorlib.core.config import ROTATION_DEGREES, SEED


@dataclass(frozen=True)
class AugmentParams:
    """One augmentation: rotate by ``angle`` degrees (counter-clockwise), then flip."""

    angle: float = 0.0
    hflip: bool = False
    vflip: bool = False

    def as_dict(self) -> dict[str, float | bool]:
        """A JSON-friendly dict, for manifests."""
        return asdict(self)

    @property
    def is_identity(self) -> bool:
        return self.angle == 0.0 and not self.hflip and not self.vflip


IDENTITY = AugmentParams()


def sample_params(rng: np.random.Generator, max_rotation: float = ROTATION_DEGREES) -> AugmentParams:
    """Draw a rotation in ±``max_rotation`` degrees and two fair coin flips."""
    if max_rotation < 0:
        raise ValueError(f"max_rotation must be zero or positive, got {max_rotation}.")
    angle = float(np.round(rng.uniform(-max_rotation, max_rotation), 3)) if max_rotation else 0.0
    return AugmentParams(angle=angle, hflip=bool(rng.random() < 0.5), vflip=bool(rng.random() < 0.5))


def view_params(
    image_key: str, view: int, seed: int = SEED, max_rotation: float = ROTATION_DEGREES
) -> AugmentParams:
    """The augmentation of view ``view`` of the image identified by ``image_key``.

    View 0 is the identity. Other views depend only on (seed, image_key, view), so
    the same image always gets the same views, whatever else is in the dataset.
    """
    if view < 0:
        raise ValueError(f"view must be zero or positive, got {view}.")
    if view == 0:
        return IDENTITY
    digest = hashlib.sha256(f"{seed}:{image_key}:{view}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return sample_params(rng, max_rotation)


def apply(image: np.ndarray, params: AugmentParams) -> np.ndarray:
    """Augment one image ``(H, W, C)`` (any C, float or uint8) -> same shape and dtype.

    Rotation is bilinear about the centre, with the border reflected so that no
    black corners appear (they would teach the model that corners are black).
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"Expected one image (H, W, C), got shape {image.shape}.")
    out = image
    if params.angle:
        height, width = image.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2 - 0.5, height / 2 - 0.5), params.angle, 1.0)
        channels = [
            cv2.warpAffine(
                np.ascontiguousarray(image[..., c]),
                matrix,
                (width, height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            for c in range(image.shape[-1])
        ]
        out = np.stack(channels, axis=-1).astype(image.dtype, copy=False)
    if params.hflip:
        out = out[:, ::-1]
    if params.vflip:
        out = out[::-1]
    return np.ascontiguousarray(out)
