"""References found automatically: an index of colour photos, searched by what the encoder sees.

``colorlib index PHOTOS --out index.npz`` runs the colorizer's encoder over colour photos (say the
training photos) and keeps one vector per photo: its bottleneck features averaged over the photo
(the encoder's pooled features, as an image classifier would see it), made unit length, with the
photo's path. ``colorlib colorize photo.jpg --reference auto`` finds the :data:`NEAREST` photos
whose vectors are closest to the gray photo's (cosine similarity) and uses them as references
(:mod:`colorlib.colorize.reference`): each gives its trusted matches, and the best
:data:`~colorlib.colorize.reference.MAX_HINTS` of all of them become the hints.

The index holds paths, not photos: the photos must still be where they were when it was built.
It is tied to the encoder and the model's size (``encoder_key``); another colorizer with the
same frozen encoder can use it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorlib.colorize.fullres import model_image_size, model_input_l
from colorlib.colorize.reference import Reference, cell_features, multiscale_encoder
from colorlib.core.io import atomic_write
from colorlib.data.hints import Hint

#: How many indexed photos guide a photo coloured with ``--reference auto``.
NEAREST = 3
#: The lowest similarity of a trusted match from an indexed photo: higher than a reference given by
#: hand (:data:`~colorlib.colorize.reference.MIN_SIMILARITY`, 0.6), since these photos show other
#: scenes. Chosen on 300 validation photos (docs/video.md): 0.6 cost 0.49 dB of PSNR, 0.75 cost
#: 0.10 dB, 0.85 gained 0.02 dB.
AUTO_MIN_SIMILARITY = 0.85
#: Photos encoded at once while indexing.
INDEX_BATCH = 16
#: References kept ready between photos (about 1.4 MB each for Lite0 at 256 × 256).
KEPT_REFERENCES = 64


def encoder_key(model) -> str:
    """What an index's vectors depend on: the encoder's name and the model's input size."""
    encoder = multiscale_encoder(model)
    return f"{encoder.name}-{model_image_size(model)}"


def pooled_features(encoder, l_batch: np.ndarray) -> np.ndarray:
    """L ``float32 (N, S, S, 1)`` in [0, 1] -> unit pooled bottleneck features ``float32 (N, C)``."""
    bottleneck = np.asarray(encoder.predict_on_batch(l_batch)["bottleneck"], np.float32)
    pooled = bottleneck.mean(axis=(1, 2))
    return pooled / (np.linalg.norm(pooled, axis=1, keepdims=True) + 1e-6)


@dataclass
class ReferenceIndex:
    """Colour photos' pooled features (``float32 (N, C)``, unit rows) and their paths."""

    features: np.ndarray
    paths: list[str]
    key: str

    @classmethod
    def build(cls, model, paths: Sequence[Path | str], progress: bool = True) -> tuple[ReferenceIndex, list]:
        """Index the photos at ``paths`` for ``model``; returns the index and ``[(path, reason)]`` of
        the photos left out (unreadable, or gray: they have no colours to give)."""
        from tqdm import tqdm

        from colorlib.data.images import ImageLoadError, is_grayscale, load_rgb

        encoder, size = multiscale_encoder(model), model_image_size(model)
        kept, vectors, left_out, batch = [], [], [], []

        def flush() -> None:
            if batch:
                vectors.append(pooled_features(encoder, np.stack([l_small for _, l_small in batch])))
                kept.extend(path for path, _ in batch)
                batch.clear()

        for path in tqdm(list(paths), desc="Indexing references", unit="photo", disable=not progress):
            try:
                rgb = load_rgb(path)
            except ImageLoadError as error:
                left_out.append((str(path), error.reason))
                continue
            if is_grayscale(rgb):
                left_out.append((str(path), "it is gray: it has no colours to give"))
                continue
            batch.append((str(path), model_input_l(rgb, size)))
            if len(batch) == INDEX_BATCH:
                flush()
        flush()
        if not kept:
            raise ValueError(
                "None of the photos could be indexed (see the ones left out); give colour photos."
            )
        return cls(np.concatenate(vectors), kept, encoder_key(model)), left_out

    def save(self, path: Path | str) -> Path:
        """Write the index (``.npz``: float16 features, the paths and the key as JSON) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"paths": self.paths, "key": self.key})
        with atomic_write(path) as temporary, open(temporary, "wb") as file:
            np.savez(file, features=self.features.astype(np.float16), meta=np.array(meta))
        return path

    @classmethod
    def load(cls, path: Path | str, model=None) -> ReferenceIndex:
        """Read an index; with ``model``, refuse one made for another encoder or size."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"No reference index at {path}. Make one from colour photos (say your training photos): "
                f"colorlib index PHOTOS --out {path}"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                features = data["features"].astype(np.float32)
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"{path} is not a reference index made by `colorlib index` ({error}).") from None
        index = cls(features, list(meta["paths"]), str(meta["key"]))
        if model is not None and index.key != encoder_key(model):
            raise ValueError(
                f"The reference index {path} was made for {index.key}, this colorizer is "
                f"{encoder_key(model)}: make it again with `colorlib index` and this colorizer."
            )
        return index

    def nearest(self, query: np.ndarray, count: int = NEAREST, exclude: str | None = None) -> list[str]:
        """The paths of the ``count`` photos most similar to the unit vector ``query``; ``exclude``
        leaves one path out (a photo must not be its own reference when scoring)."""
        order = np.argsort(-(self.features @ query))
        return [self.paths[i] for i in order if self.paths[i] != exclude][:count]


def merged_hints(
    references: Sequence[Reference],
    features: np.ndarray,
    photo_size: tuple[int, int],
    min_similarity: float | None = None,
) -> list[Hint]:
    """The hints of several references for one photo (its cell ``features``): for each cell of the
    photo the best trusted match among them (at ``min_similarity`` or more), then the best
    ``MAX_HINTS`` over the photo."""
    from colorlib.colorize.reference import MAX_HINTS

    best: dict[int, tuple[float, Hint]] = {}
    for reference in references:
        for cell, score, hint in reference.scored_hints(features, photo_size, min_similarity):
            if cell not in best or score > best[cell][0]:
                best[cell] = (score, hint)
    ranked = sorted(best.values(), key=lambda item: -item[0])[:MAX_HINTS]
    return [hint for _, hint in ranked]


class AutoReferences:
    """``--reference auto``: for each photo, the hints of its nearest indexed colour photos."""

    def __init__(
        self, model, index: ReferenceIndex, count: int = NEAREST, min_similarity: float = AUTO_MIN_SIMILARITY
    ) -> None:
        self.model, self.index, self.count = model, index, count
        self.min_similarity = min_similarity
        self.encoder = multiscale_encoder(model)
        self.size = model_image_size(model)
        self._references: OrderedDict[str, Reference | None] = OrderedDict()

    def _reference(self, path: str) -> Reference | None:
        from colorlib.data.images import ImageLoadError, load_rgb

        if path in self._references:
            self._references.move_to_end(path)
            return self._references[path]
        try:
            found = Reference.of(self.model, load_rgb(path), self.encoder)
        except ImageLoadError:  # moved or damaged since the index was made: guide without it
            found = None
        self._references[path] = found
        if len(self._references) > KEPT_REFERENCES:
            self._references.popitem(last=False)
        return found

    def references_for(self, l_small: np.ndarray, exclude: str | None = None) -> list[str]:
        """The paths of the photos that guide a photo of L ``(S, S, 1)``."""
        query = pooled_features(self.encoder, l_small[None])[0]
        return self.index.nearest(query, self.count, exclude=exclude)

    def hints(self, rgb: np.ndarray, exclude: str | None = None) -> list[Hint]:
        """Hints for the photo ``uint8 (H, W, 3)`` (only its L is read), in its own pixels."""
        l_small = model_input_l(rgb, self.size)
        found = [self._reference(path) for path in self.references_for(l_small, exclude)]
        features = cell_features(self.encoder, l_small)
        kept = [ref for ref in found if ref is not None]
        return merged_hints(kept, features, (rgb.shape[1], rgb.shape[0]), self.min_similarity)


__all__ = [
    "AUTO_MIN_SIMILARITY",
    "NEAREST",
    "AutoReferences",
    "ReferenceIndex",
    "encoder_key",
    "merged_hints",
]
