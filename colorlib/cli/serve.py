"""``colorlib serve``: colour a photo by hand on a local web page (Starlette, served by uvicorn).

The page (``colorlib/cli/page/``: HTML, one script, one style sheet; nothing from the network)
talks to these routes:

=======================================  =====================================================
``GET  /``                               the page
``GET  /api/status``                     the colorizer, how it takes hints, the folder's photos
``POST /api/photos``                     open an upload (the raw file as the body; its name
                                         in the ``X-Filename`` header, URL-encoded)
``POST /api/photos/folder``              open ``{"name": ...}``, one of the folder's photos
``GET  /api/photos/{id}/gray``           the preview's gray version (JPEG)
``POST /api/photos/{id}/render``         ``{"hints": [...], "vividness": F}`` -> the preview (JPEG)
``POST /api/photos/{id}/save``           the same at full resolution, written to the results
                                         folder and sent back as a download
=======================================  =====================================================

Hints are the command line's (``colorlib colorize --hints``): ``{"x", "y", "color"}`` in the
photo's own pixels, checked by :func:`colorlib.colorize.hintfile.parse_hints`. A photo is encoded
once when it opens (:class:`colorlib.colorize.editing.PhotoEditor`); an edit runs only the
decoder, or the floor. Errors are JSON ``{"error": sentence}`` with a 4xx status, and the server
keeps serving: an upload over :data:`MAX_UPLOAD_BYTES` or :data:`MAX_UPLOAD_PIXELS`, a
non-image and a decompression bomb are refused before they are decoded. Files are written only
into the results folder, under names made from the photo's name by :func:`result_name`, never a
path taken from a request.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from colorlib.color.lab import check_vividness
from colorlib.colorize.editing import PREVIEW_SIDE, PhotoEditor
from colorlib.colorize.hintfile import parse_hints
from colorlib.colorize.photofiles import scan_inputs
from colorlib.core.config import MAX_UPLOAD_MB, MAX_UPLOAD_MEGAPIXELS, SERVE_HOST, SERVE_PORT
from colorlib.core.io import atomic_write
from colorlib.data.images import ImageLoadError, decode_image, open_image

#: The page's files: index.html, page.js, page.css.
PAGE_DIR = Path(__file__).resolve().parent / "page"
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


def encode_image(rgb: np.ndarray, suffix: str, quality: int = PREVIEW_QUALITY) -> bytes:
    """``uint8 (H, W, 3)`` RGB -> the bytes of a ``.jpg`` or ``.png`` file."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else []
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {suffix} image.")
    return data.tobytes()


@dataclass
class OpenPhoto:
    name: str
    editor: PhotoEditor


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

    def open(self, name: str, rgb: np.ndarray) -> dict[str, Any]:
        """Encode a photo once and keep it; returns what the page needs to show it."""
        with self.lock:
            editor = PhotoEditor(self.model, rgb, PREVIEW_SIDE)
            self.counter += 1
            photo_id = f"p{self.counter}"
            self.photos[photo_id] = OpenPhoto(name, editor)
            while len(self.photos) > MAX_OPEN_PHOTOS:
                self.photos.popitem(last=False)
        return {"id": photo_id, "name": name, "width": editor.width, "height": editor.height}

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

    def save(self, photo_id: str, edit: Any) -> Path:
        """Write the full-resolution result into the results folder; returns its path."""
        photo = self.photo(photo_id)
        rgb = self.render(photo_id, edit, full_resolution=True)
        target = self.results_dir / result_name(photo.name)
        if target.resolve().parent != self.results_dir.resolve():  # result_name makes this impossible
            raise RequestError(400, f"Refused to write {target}: it is outside the results folder.")
        self.results_dir.mkdir(parents=True, exist_ok=True)
        data = encode_image(rgb, target.suffix, RESULT_QUALITY)
        with atomic_write(target) as temporary:
            temporary.write_bytes(data)
        return target


def folder_photos(folder: Path | str | None) -> dict[str, Path]:
    """The photos of a folder (and its sub-folders) by their path below it, ``"1950s/a.jpg"``."""
    if folder is None:
        return {}
    scan = scan_inputs([folder], recursive=True)
    return {relative.as_posix(): path for path, relative in scan.photos}


def create_app(studio: Studio):
    """The Starlette application of the page and its routes (see the module docstring)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def image_response(rgb: np.ndarray, started: float) -> Response:
        headers = {
            "X-Colorize-Ms": f"{(time.perf_counter() - started) * 1000:.0f}",
            "Cache-Control": "no-store",
        }
        return Response(encode_image(rgb, ".jpg"), media_type="image/jpeg", headers=headers)

    async def read_json(request: Request) -> Any:
        body = await request.body()
        if len(body) > studio.max_bytes:
            raise RequestError(413, "The request is too large.")
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise RequestError(400, "The request is not valid JSON.") from None

    async def page(request: Request) -> Response:
        return FileResponse(PAGE_DIR / "index.html")

    async def status(request: Request) -> Response:
        return JSONResponse(
            {
                "model": studio.description,
                "folder": sorted(studio.folder_photos),
                "max_bytes": studio.max_bytes,
                "max_pixels": studio.max_pixels,
                "results": str(studio.results_dir),
            }
        )

    async def upload(request: Request) -> Response:
        name = urllib.parse.unquote(request.headers.get("x-filename", "")) or "photo"
        declared = request.headers.get("content-length", "")
        limit = f"at most {studio.max_bytes // 2**20} MB"
        if declared.isdigit() and int(declared) > studio.max_bytes:
            raise RequestError(413, f"{name} is too large ({int(declared) / 2**20:.1f} MB; {limit}).")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > studio.max_bytes:
                raise RequestError(413, f"{name} is too large (over {limit}).")
            chunks.append(chunk)
        rgb = await run_in_threadpool(decode_upload, b"".join(chunks), name)
        return JSONResponse(await run_in_threadpool(studio.open, name, rgb))

    def decode_upload(data: bytes, name: str) -> np.ndarray:
        try:
            return np.asarray(decode_image(data, name, studio.max_pixels))
        except ImageLoadError as error:
            status_code = 413 if "too many pixels" in error.reason else 415
            raise RequestError(status_code, f"{name} was not opened: {error.reason}.") from None

    async def open_from_folder(request: Request) -> Response:
        body = await read_json(request)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or name not in studio.folder_photos:
            raise RequestError(404, f"{name!r} is not one of the folder's photos.")

        def load() -> np.ndarray:
            try:
                return np.asarray(open_image(studio.folder_photos[name]))
            except ImageLoadError as error:
                raise RequestError(415, f"{name} was not opened: {error.reason}.") from None

        rgb = await run_in_threadpool(load)
        return JSONResponse(await run_in_threadpool(studio.open, name, rgb))

    async def gray(request: Request) -> Response:
        started = time.perf_counter()
        photo = studio.photo(request.path_params["photo_id"])
        return image_response(await run_in_threadpool(photo.editor.gray_preview), started)

    async def render(request: Request) -> Response:
        started = time.perf_counter()
        edit = await read_json(request)
        rgb = await run_in_threadpool(studio.render, request.path_params["photo_id"], edit)
        return image_response(rgb, started)

    async def save(request: Request) -> Response:
        edit = await read_json(request)
        target = await run_in_threadpool(studio.save, request.path_params["photo_id"], edit)
        media = "image/jpeg" if target.suffix == ".jpg" else "image/png"
        return FileResponse(
            target, media_type=media, filename=target.name, headers={"Cache-Control": "no-store"}
        )

    async def refused(request: Request, error: Exception) -> Response:
        if isinstance(error, RequestError):
            return JSONResponse({"error": error.message}, status_code=error.status)
        status_code = getattr(error, "status_code", 500)
        return JSONResponse({"error": str(getattr(error, "detail", error))}, status_code=status_code)

    routes = [
        Route("/", page),
        Route("/api/status", status),
        Route("/api/photos", upload, methods=["POST"]),
        Route("/api/photos/folder", open_from_folder, methods=["POST"]),
        Route("/api/photos/{photo_id}/gray", gray),
        Route("/api/photos/{photo_id}/render", render, methods=["POST"]),
        Route("/api/photos/{photo_id}/save", save, methods=["POST"]),
        Mount("/static", StaticFiles(directory=PAGE_DIR), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={RequestError: refused, HTTPException: refused})


def describe(model, source: str) -> str:
    """A line for the page: which colorizer, and how it takes hints."""
    from colorlib.colorize.fullres import takes_hints

    how = (
        "it was trained with hints and spreads them itself"
        if takes_hints(model)
        else "it was trained without hints, so they are spread over its colours by the joint-bilateral floor"
    )
    return f"{source}: {how}."


def serve(studio: Studio, host: str = SERVE_HOST, port: int = SERVE_PORT) -> None:
    """Serve the page with uvicorn until Ctrl+C."""
    import uvicorn

    print(f"colorlib serve: open http://{host}:{port}/ in a browser (Ctrl+C stops). {studio.description}")
    print(f"Downloads are also written to {studio.results_dir}")
    uvicorn.run(create_app(studio), host=host, port=port, log_level="warning")
