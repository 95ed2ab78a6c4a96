"""``colorlib serve``: colour a photo by hand on a local web page (Starlette, served by uvicorn).

The page (``colorlib/cli/page/``: HTML, one script, one style sheet; nothing from the network)
talks to these routes:

=======================================  =====================================================
``GET  /``                               the page, with this server start's token in it
``GET  /api/status``                     the colorizer, how it takes hints, the folder's photos
``POST /api/photos``                     open an upload (the raw file as the body; its name
                                         in the ``X-Filename`` header, URL-encoded)
``POST /api/photos/folder``              open ``{"name": ...}``, one of the folder's photos
``GET  /api/photos/{id}``                whether a photo is still open, and its size
``GET  /api/photos/{id}/gray``           the preview's gray version (JPEG)
``POST /api/photos/{id}/render``         ``{"hints": [...], "vividness": F}`` -> the preview (JPEG)
``POST /api/photos/{id}/save``           the same at full resolution, written to the results
                                         folder and sent back as a download
``POST /api/photos/{id}/reference``      a colour photo of the same or a similar scene (the raw
                                         file, as an upload) -> ``{"hints": [...]}``: its colours
                                         matched to the photo (:mod:`colorlib.colorize.reference`)
=======================================  =====================================================

Only the page can use them (:mod:`colorlib.cli.guard`): every ``/api/`` request carries the
page's token, comes from the page's own origin and names this server in its ``Host``. Hints are
the command line's (``colorlib colorize --hints``): ``{"x", "y", "color"}`` in the photo's own
pixels, checked by :func:`colorlib.colorize.hintfile.parse_hints`. A photo is encoded once when it
opens (:class:`colorlib.colorize.editing.PhotoEditor`); an edit runs only the decoder, or the
floor. Errors are JSON ``{"error": sentence}`` with a 4xx status, and the server keeps serving.
Bodies are counted as they stream in and refused with 413 as soon as they pass their limit (an
upload ``--max-mb``, JSON :data:`~colorlib.core.config.MAX_JSON_BYTES`); an upload
over ``--max-megapixels``, a non-image and a decompression bomb are refused before they are
decoded. Files are written only into the results folder, in the folder's layout, under names made
by :func:`colorlib.cli.studio.result_name`, never a path taken from a request.
"""

from __future__ import annotations

import hashlib
import socket
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

from colorlib.cli import guard
from colorlib.cli.studio import RequestError, Studio, encode_image, size_text
from colorlib.core.config import MAX_JSON_BYTES, SERVE_HOST, SERVE_PORT
from colorlib.core.io import parse_untrusted_json
from colorlib.data.images import ImageLoadError, decode_image, open_image

#: The page's files: index.html, page.js, page.css, favicon.svg.
PAGE_DIR = Path(__file__).resolve().parent / "page"
#: Where index.html takes the server's token.
TOKEN_PLACEHOLDER = "__COLORLIB_TOKEN__"
#: The upload route, which takes a raw file; the other POST routes take JSON.
UPLOAD_PATH = "/api/photos"
#: The reference route, which also takes a raw file (a regular expression of its paths).
REFERENCE_PATHS = r"/api/photos/[A-Za-z0-9]+/reference"
#: Ctrl+C waits at most this long for requests under way before the server stops.
SHUTDOWN_SECONDS = 1


def create_app(studio: Studio, host: str = SERVE_HOST, allow_hosts: tuple[str, ...] = ()):
    """The Starlette application of the page and its routes (see the module docstring), behind the
    guards of :mod:`colorlib.cli.guard` for a server listening on ``host``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    page_html = (PAGE_DIR / "index.html").read_text().replace(TOKEN_PLACEHOLDER, studio.token)

    def image_response(rgb: np.ndarray, started: float) -> Response:
        headers = {
            "X-Colorize-Ms": f"{(time.perf_counter() - started) * 1000:.0f}",
            "Cache-Control": "no-store",
        }
        return Response(encode_image(rgb, ".jpg"), media_type="image/jpeg", headers=headers)

    async def read_body(request: Request, limit: int, what: str) -> bytes:
        """The body, counted as it streams in: 413 as soon as it passes ``limit``, before it is kept."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestError(413, f"{what} is too large ({size_text(int(declared), limit)}).")
        body, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"{what} is too large (over {limit / 2**20:g} MB, the limit).")
            body.append(chunk)
        return b"".join(body)

    async def read_json(request: Request) -> Any:
        body = await read_body(request, MAX_JSON_BYTES, "The request")
        try:
            return parse_untrusted_json(body or b"{}", "The request")
        except ValueError as error:
            raise RequestError(400, str(error)) from None

    async def page(request: Request) -> Response:
        return HTMLResponse(page_html, headers={"Cache-Control": "no-store"})

    async def favicon(request: Request) -> Response:
        return FileResponse(PAGE_DIR / "favicon.svg", media_type="image/svg+xml")

    async def status(request: Request) -> Response:
        return JSONResponse(
            {
                "model": studio.description,
                "folder": sorted(studio.folder_photos),
                "max_bytes": studio.max_bytes,
                "max_pixels": studio.max_pixels,
                "results": str(studio.results_dir),
                "instance": studio.instance,
            }
        )

    async def upload(request: Request) -> Response:
        name = urllib.parse.unquote(request.headers.get("x-filename", "")) or "photo"
        data = await read_body(request, studio.max_bytes, name)
        rgb = await run_in_threadpool(decode_upload, data, name)
        key = "upload:" + hashlib.sha256(data).hexdigest()
        return JSONResponse(await run_in_threadpool(studio.open, name, rgb, False, key))

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
        key = f"folder:{name}"
        with studio.lock:
            already = next((i for i, photo in studio.photos.items() if photo.key == key), None)
        if already is not None:  # open already: no need to read and encode it again
            return JSONResponse(studio.describe_photo(already, studio.photo(already)))

        def load() -> np.ndarray:
            try:
                return np.asarray(open_image(studio.folder_photos[name]))
            except ImageLoadError as error:
                raise RequestError(415, f"{name} was not opened: {error.reason}.") from None

        rgb = await run_in_threadpool(load)
        return JSONResponse(await run_in_threadpool(studio.open, name, rgb, True, key))

    async def reference(request: Request) -> Response:
        name = urllib.parse.unquote(request.headers.get("x-filename", "")) or "reference"
        studio.photo(request.path_params["photo_id"])  # still open: refuse before reading the body
        data = await read_body(request, studio.max_bytes, name)
        rgb = await run_in_threadpool(decode_upload, data, name)
        hints = await run_in_threadpool(studio.reference_hints, request.path_params["photo_id"], rgb)
        return JSONResponse({"reference": name, "hints": hints})

    async def photo_info(request: Request) -> Response:
        photo_id = request.path_params["photo_id"]
        return JSONResponse(studio.describe_photo(photo_id, studio.photo(photo_id)))

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
        saved_as = urllib.parse.quote(target.relative_to(studio.results_dir).as_posix())
        return FileResponse(
            target,
            media_type=media,
            filename=target.name,
            headers={"Cache-Control": "no-store", "X-Saved-As": saved_as},
        )

    async def refused(request: Request, error: Exception) -> Response:
        if isinstance(error, RequestError):
            return JSONResponse({"error": error.message}, status_code=error.status)
        status_code = getattr(error, "status_code", 500)
        return JSONResponse({"error": str(getattr(error, "detail", error))}, status_code=status_code)

    routes = [
        Route("/", page),
        Route("/favicon.ico", favicon),
        Route("/api/status", status),
        Route(UPLOAD_PATH, upload, methods=["POST"]),
        Route("/api/photos/folder", open_from_folder, methods=["POST"]),
        Route("/api/photos/{photo_id}", photo_info),
        Route("/api/photos/{photo_id}/gray", gray),
        Route("/api/photos/{photo_id}/render", render, methods=["POST"]),
        Route("/api/photos/{photo_id}/save", save, methods=["POST"]),
        Route("/api/photos/{photo_id}/reference", reference, methods=["POST"]),
        Mount("/static", StaticFiles(directory=PAGE_DIR), name="static"),
    ]
    middleware = [  # the first is the outermost: its security headers go on the Host refusals too
        Middleware(guard.PageGuard, token=studio.token, upload_paths=(UPLOAD_PATH, REFERENCE_PATHS)),
        Middleware(
            TrustedHostMiddleware, allowed_hosts=guard.allowed_hosts(host, allow_hosts), www_redirect=False
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={RequestError: refused, HTTPException: refused},
    )


def describe(model, source: str) -> str:
    """A line for the page: which colorizer, and how it takes hints."""
    from colorlib.colorize.fullres import takes_hints

    how = (
        "it was trained with hints and spreads them itself"
        if takes_hints(model)
        else "it was trained without hints, so they are spread over its colours by the joint-bilateral floor"
    )
    return f"{source}: {how}."


def check_port(host: str, port: int) -> None:
    """Refuse a port another program listens on, before the colorizer is warmed up (ValueError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ValueError(
                f"Cannot listen on {host} port {port} ({error.strerror}): another program uses it, or the "
                "address is not this machine's. Stop it, or give another --port."
            ) from None


def serve(
    studio: Studio, host: str = SERVE_HOST, port: int = SERVE_PORT, allow_hosts: tuple[str, ...] = ()
) -> None:
    """Serve the page with uvicorn until Ctrl+C; the address is printed once the server listens."""
    import uvicorn

    check_port(host, port)
    print("colorlib serve: getting the colorizer ready...", flush=True)
    studio.warm_up()
    shown = "127.0.0.1" if host in guard.WILDCARD_HOSTS else guard.url_host(host)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:
                print(
                    f"colorlib serve: open http://{shown}:{port}/ in a browser (Ctrl+C stops). "
                    f"{studio.description}\nDownloads are also written to {studio.results_dir}",
                    flush=True,
                )

    config = uvicorn.Config(
        create_app(studio, host, allow_hosts),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
    try:
        Server(config).run()
    except KeyboardInterrupt:  # uvicorn raises Ctrl+C again once it has stopped: that is the way out
        pass
    print("colorlib serve: stopped.")
