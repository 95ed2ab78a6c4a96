"""What ``colorlib serve`` holds between requests: the open photos, each encoded once, and the results.

A :class:`Studio` keeps the colorizer, the folder's photos (by their path below the folder), the
results folder and the photos open now (the :data:`MAX_OPEN_PHOTOS` used last). Results keep the
folder's layout (:meth:`Studio.result_path`), so two photos of the same name in two sub-folders never
write over each other. The web routes are in :mod:`colorlib.cli.serve`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from colorlib.cli import guard
from colorlib.color.lab import check_vividness
from colorlib.colorize.editing import PREVIEW_SIDE, PhotoEditor
from colorlib.colorize.hintfile import parse_hints
from colorlib.colorize.photofiles import scan_inputs
from colorlib.core.config import MAX_UPLOAD_MB, MAX_UPLOAD_MEGAPIXELS
from colorlib.core.io import atomic_write

#: The largest upload, in bytes and in pixels.
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 2**20
MAX_UPLOAD_PIXELS = MAX_UPLOAD_MEGAPIXELS * 1_000_000
#: At most this many hints in one request (the paper's curve stops at 50).
MAX_REQUEST_HINTS = 500
#: Photos kept open at once; opening one more closes the one used longest ago.
MAX_OPEN_PHOTOS = 8
#: JPEG quality of the previews and of JPEG results.
PREVIEW_QUALITY, RESULT_QUALITY = 90, 95
#: Characters kept in result names; any other run becomes one "_".
UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_LENGTH = 100


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a sentence for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def result_name(photo_name: str) -> str:
    """The results folder's file for a photo of this name: ``"a b/../x.jpeg"`` -> ``"x-colorized.jpg"``.

    Only the last part of the name is kept, and only letters, digits, ``.``, ``_`` and ``-`` (a
    leading dot removed), so no name can reach outside the folder. JPEG photos give JPEG, the rest PNG.
    """
    base = Path(photo_name.replace("\\", "/")).name
    stem = UNSAFE_NAME_CHARS.sub("_", Path(base).stem).lstrip("._")[:MAX_NAME_LENGTH] or "photo"
    suffix = ".jpg" if Path(base).suffix.lower() in (".jpg", ".jpeg") else ".png"
    return f"{stem}-colorized{suffix}"


def size_text(size: int, limit: int) -> str:
    """A size against its limit, exact where MB hide the difference: ``"52,428,801 bytes; at most
    52,428,800 (50 MB)"``, else ``"61.2 MB; at most 50 MB"``."""
    shown, most = f"{size / 2**20:.1f} MB", f"{limit / 2**20:g} MB"
    if shown == f"{limit / 2**20:.1f} MB":  # one decimal hides the difference
        return f"{size:,} bytes; at most {limit:,} ({most})"
    return f"{shown}; at most {most}"


def encode_image(rgb: np.ndarray, suffix: str, quality: int = PREVIEW_QUALITY) -> bytes:
    """``uint8 (H, W, 3)`` RGB -> the bytes of a ``.jpg`` or ``.png`` file."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else []
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {suffix} image.")
    return data.tobytes()


@dataclass
class OpenPhoto:
    """A photo being edited: its name (the folder's path below it, or the upload's file name), whether it
    came from the folder, its key (the same photo opened again has the same key) and its editor."""

    name: str
    editor: PhotoEditor
    from_folder: bool = False
    key: str = ""


@dataclass
class Studio:
    """What the server knows: the colorizer, the folder's photos, the results folder, the open photos."""

    model: Any
    results_dir: Path
    folder_photos: dict[str, Path] = field(default_factory=dict)
    max_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int = MAX_UPLOAD_PIXELS
    description: str = ""
    photos: OrderedDict[str, OpenPhoto] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0
    #: This server start's token (:mod:`colorlib.cli.guard`), and an id the page keeps its hints under.
    token: str = field(default_factory=guard.new_token)
    instance: str = field(default_factory=lambda: guard.new_token()[:12])
    #: The results written since the server started, and the key of the photo each came from.
    written: dict[Path, str] = field(default_factory=dict)
    #: When ``model`` runs on ONNX Runtime: a function giving the same colorizer in Keras, whose
    #: encoder's features the references need (called for the first reference; None: none to give).
    keras_twin: Any = None
    #: The colorizer's encoder with its features at every stride, made for the first reference.
    _encoder: Any = field(default=None, repr=False)
    _keras_model: Any = field(default=None, repr=False)

    def open(self, name: str, rgb: np.ndarray, from_folder: bool = False, key: str = "") -> dict[str, Any]:
        """Encode a photo once and keep it; returns what the page needs to show it.

        A photo that is open already (the same ``key`` and name) is not encoded again.
        """
        with self.lock:
            for photo_id, photo in self.photos.items():
                if key and photo.key == key and photo.name == name:
                    self.photos.move_to_end(photo_id)
                    return self.describe_photo(photo_id, photo)
            editor = PhotoEditor(self.model, rgb, PREVIEW_SIDE)
            self.counter += 1
            photo_id = f"p{self.counter}"
            self.photos[photo_id] = OpenPhoto(name, editor, from_folder, key)
            while len(self.photos) > MAX_OPEN_PHOTOS:
                self.photos.popitem(last=False)
            return self.describe_photo(photo_id, self.photos[photo_id])

    @staticmethod
    def describe_photo(photo_id: str, photo: OpenPhoto) -> dict[str, Any]:
        editor = photo.editor
        return {
            "id": photo_id,
            "name": photo.name,
            "folder": photo.from_folder,
            "width": editor.width,
            "height": editor.height,
        }

    def photo(self, photo_id: str) -> OpenPhoto:
        with self.lock:
            if photo_id not in self.photos:
                raise RequestError(
                    404,
                    f"That photo is no longer open (the server keeps the {MAX_OPEN_PHOTOS} used last); "
                    "open it again.",
                )
            self.photos.move_to_end(photo_id)
            return self.photos[photo_id]

    def render(self, photo_id: str, edit: Any, full_resolution: bool = False) -> np.ndarray:
        """The photo with the edit's hints and vividness: the preview, or the full resolution."""
        photo = self.photo(photo_id)
        hints, vividness = self.parse_edit(edit, photo.editor)
        with self.lock:
            return photo.editor.render(hints, vividness, full_resolution)

    @staticmethod
    def parse_edit(edit: Any, editor: PhotoEditor) -> tuple[list, float]:
        if not isinstance(edit, dict):
            raise RequestError(400, 'Send a JSON object: {"hints": [...], "vividness": 1.0}.')
        entries = edit.get("hints", [])
        if isinstance(entries, list) and len(entries) > MAX_REQUEST_HINTS:
            raise RequestError(400, f"Too many hints ({len(entries)}); at most {MAX_REQUEST_HINTS}.")
        vividness = edit.get("vividness", 1.0)
        try:
            hints = parse_hints(entries, (editor.width, editor.height), source="the hints")
            if isinstance(vividness, bool) or not isinstance(vividness, (int, float)):
                raise ValueError(f"vividness must be a number, got {vividness!r}.")
            check_vividness(float(vividness))
        except ValueError as error:
            raise RequestError(400, str(error)) from None
        return hints, float(vividness)

    def reference_hints(self, photo_id: str, rgb: np.ndarray) -> list[dict[str, Any]]:
        """Hints for an open photo from a colour reference photo ``uint8 (H, W, 3)``, as the page keeps
        them (``{"x", "y", "color"}`` in the photo's pixels): its trusted feature matches
        (:mod:`colorlib.colorize.reference`). Refuses a gray reference: it has no colours to give."""
        from colorlib.colorize.onnxmodel import OnnxColorizer
        from colorlib.colorize.reference import Reference, cell_features, multiscale_encoder
        from colorlib.data.images import is_grayscale

        photo = self.photo(photo_id)
        if isinstance(self.model, OnnxColorizer) and self.keras_twin is None:
            raise RequestError(
                422,
                "Colours from a reference read the encoder's features, which the ONNX file does not "
                "give: restart colorlib serve with --runtime keras to use them.",
            )
        if is_grayscale(rgb):
            raise RequestError(
                422, "That reference is gray: give a colour photo of the same or a similar scene."
            )
        editor = photo.editor
        with self.lock:
            if self._encoder is None:
                if isinstance(self.model, OnnxColorizer):  # the same weights, in Keras (a few seconds, once)
                    self._keras_model = self.keras_twin()
                else:
                    self._keras_model = self.model
                self._encoder = multiscale_encoder(self._keras_model)
            found = Reference.of(self._keras_model, rgb, self._encoder)
            features = cell_features(self._encoder, editor.l_small)
        return found.colored_hints(features, (editor.width, editor.height))

    def result_path(self, photo: OpenPhoto) -> Path:
        """Where a photo's result goes: the folder's layout, ``1950s/street.png`` ->
        ``results/1950s/street-colorized.png``; an upload at the top, ``street-colorized.png``.

        Saving the same photo again writes over its result; nothing else is overwritten. A name that
        another photo's result took since the server started, or, for an upload, any existing file,
        gets ``-2``, ``-3``, ...
        """
        below = Path(photo.name).parent if photo.from_folder else Path()
        first = self.results_dir / below / result_name(photo.name)
        candidate, number = first, 1
        while True:
            owner = self.written.get(candidate)
            if owner == photo.key or (
                owner is None and ((photo.from_folder and candidate == first) or not candidate.exists())
            ):
                break
            number += 1
            candidate = first.with_stem(f"{first.stem}-{number}")
        results = self.results_dir.resolve()
        if not candidate.resolve().is_relative_to(results):  # names come from the folder's own listing
            raise RequestError(400, f"Refused to write {candidate}: it is outside the results folder.")
        return candidate

    def save(self, photo_id: str, edit: Any) -> Path:
        """Write the full-resolution result into the results folder; returns its path."""
        photo = self.photo(photo_id)
        rgb = self.render(photo_id, edit, full_resolution=True)
        with self.lock:
            target = self.result_path(photo)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = encode_image(rgb, target.suffix, RESULT_QUALITY)
            with atomic_write(target) as temporary:
                temporary.write_bytes(data)
            self.written[target] = photo.key
        return target

    def warm_up(self) -> None:
        """Open, edit and close a small blank photo, so that the first real photo does not wait for
        TensorFlow to build the model's graphs (about a second per network on 2 cores), or for ONNX
        Runtime's first run."""
        editor = PhotoEditor(self.model, np.full((64, 96, 3), 128, np.uint8), PREVIEW_SIDE)
        editor.render(parse_hints([{"x": 10, "y": 10, "color": "#3a7bd5"}], (96, 64)))
        editor.gray_preview()


def folder_photos(folder: Path | str | None) -> dict[str, Path]:
    """The photos of a folder (and its sub-folders) by their path below it, ``"1950s/a.jpg"``."""
    if folder is None:
        return {}
    scan = scan_inputs([folder], recursive=True)
    return {relative.as_posix(): path for path, relative in scan.photos}
