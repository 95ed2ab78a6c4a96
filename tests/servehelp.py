"""What the tests of ``colorlib serve`` share: a test photo and a real uvicorn server on a free port."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator

import numpy as np
from chromium import wait_for
from PIL import Image

from colorlib.cli import serve, studio

#: The test photo: a gray left half and a lighter right half, so the floor stops at the edge.
WIDTH, HEIGHT = 120, 80


def photo_bytes(suffix: str = ".png", size: tuple[int, int] = (WIDTH, HEIGHT), left: int = 90) -> bytes:
    pixels = np.full((size[1], size[0], 3), left, np.uint8)
    pixels[:, size[0] // 2 :] = 200
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG" if suffix == ".png" else "JPEG")
    return buffer.getvalue()


@contextlib.contextmanager
def live_server(photo_studio: studio.Studio, host: str = "127.0.0.1") -> Iterator[int]:
    """The page's application served by uvicorn in a thread, on a free port, which it yields."""
    import uvicorn

    config = uvicorn.Config(serve.create_app(photo_studio, host), host=host, port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "the server to start")
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
