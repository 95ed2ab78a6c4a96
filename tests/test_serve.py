"""``colorlib serve``: the routes, bad uploads, path traversal, two requests at once.

The server runs the session's small colorizer (random weights, trained without hints), so the
hints are spread by the joint-bilateral floor; the hint colorizer's editor is tested in
``tests/test_hints.py``, the page in a real browser in ``tests/test_serve_browser.py``, and what
keeps other web pages out (token, Host, Origin, bounded bodies) in ``tests/test_serve_guard.py``.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.cli import guard, serve, studio
from colorlib.data.images import ImageLoadError, decode_image

#: The test photo: a gray left half and a lighter right half, so the floor stops at the edge.
WIDTH, HEIGHT = 120, 80
BLUE = "#1040e0"


def photo_bytes(suffix: str = ".png", size: tuple[int, int] = (WIDTH, HEIGHT)) -> bytes:
    pixels = np.full((size[1], size[0], 3), 90, np.uint8)
    pixels[:, size[0] // 2 :] = 200
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG" if suffix == ".png" else "JPEG")
    return buffer.getvalue()


def bomb_bytes() -> bytes:
    """A PNG of a few kilobytes that claims 100 megapixels (1 bit per pixel, all zero)."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(response) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(np.int16)


#: Where the test client says the server is (the Host it sends, and the port the guard expects).
BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def photo_studio(small_colorizer, tmp_path: Path) -> studio.Studio:
    folder = tmp_path / "photos"
    (folder / "1950s").mkdir(parents=True)
    (folder / "1950s" / "street.png").write_bytes(photo_bytes())
    (folder / "notes.txt").write_text("not a photo")
    secret = tmp_path / "secret.png"
    secret.write_bytes(photo_bytes())
    return studio.Studio(
        small_colorizer,
        tmp_path / "results",
        studio.folder_photos(folder),
        max_bytes=200_000,
        max_pixels=2_000_000,
    )


@pytest.fixture
def client(photo_studio: studio.Studio) -> Iterator:
    """The page's own requests: its Host, and its token on every /api/ request."""
    from starlette.testclient import TestClient

    headers = {guard.TOKEN_HEADER: photo_studio.token}
    with TestClient(serve.create_app(photo_studio), base_url=BASE_URL, headers=headers) as test_client:
        yield test_client


def upload(client, data: bytes, name: str = "old photo.png", **headers: str):
    headers = {"X-Filename": urllib.request.quote(name), "Content-Type": "image/png", **headers}
    return client.post("/api/photos", content=data, headers=headers)


def test_the_page_and_its_files_come_from_the_server_not_the_network(client, photo_studio) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "colour a photo by hand" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert f'content="{photo_studio.token}"' in page.text  # the page carries this start's token
    for name in ("page.js", "page.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"
    status = client.get("/api/status").json()
    assert status["folder"] == ["1950s/street.png"]  # the folder's photos only, by their path below it


def test_a_photo_opens_shows_automatic_colours_and_a_hint_colours_its_side_of_the_edge(client) -> None:
    opened = upload(client, photo_bytes()).json()
    assert (opened["width"], opened["height"], opened["name"]) == (WIDTH, HEIGHT, "old photo.png")
    gray = decoded(client.get(f"/api/photos/{opened['id']}/gray"))
    assert gray.shape == (HEIGHT, WIDTH, 3) and np.ptp(gray, axis=-1).max() <= 3  # no colour
    render = f"/api/photos/{opened['id']}/render"
    automatic = client.post(render, json={"hints": []})
    assert automatic.headers["content-type"] == "image/jpeg" and int(automatic.headers["x-colorize-ms"]) >= 0
    hinted = decoded(client.post(render, json={"hints": [{"x": 20, "y": 40, "color": BLUE}]}))
    change = np.abs(hinted - decoded(automatic)).sum(axis=-1)
    assert hinted[40, 20, 2] > hinted[40, 20, 0] + 40  # blue where the hint is
    assert change[:, : WIDTH // 2 - 5].mean() > 4 * change[:, WIDTH // 2 + 5 :].mean()  # and on its side


def test_the_download_is_full_resolution_and_written_inside_the_results_folder_only(
    client, photo_studio: studio.Studio, tmp_path: Path
) -> None:
    big = photo_bytes(size=(1300, 200))  # larger than the preview
    opened = upload(client, big, name="../../escape/..\\evil name.png").json()
    preview = decoded(client.post(f"/api/photos/{opened['id']}/render", json={}))
    assert preview.shape[1] == studio.PREVIEW_SIDE
    saved = client.post(f"/api/photos/{opened['id']}/save", json={"hints": [{"x": 5, "y": 5, "color": BLUE}]})
    assert saved.status_code == 200
    assert 'filename="evil_name-colorized.png"' in saved.headers["content-disposition"]
    assert saved.headers["x-saved-as"] == "evil_name-colorized.png"
    assert [path.name for path in photo_studio.results_dir.iterdir()] == ["evil_name-colorized.png"]
    assert decoded(saved).shape == (200, 1300, 3)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photos", "results", "secret.png"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd-colorized.png"),
        ("..\\..\\windows\\x.JPEG", "x-colorized.jpg"),
        ("/abs/.hidden.png", "hidden-colorized.png"),
        ("..", "photo-colorized.png"),
        ("été à Paris.tif", "t_Paris-colorized.png"),
    ],
)
def test_result_names_never_leave_the_folder(name: str, expected: str) -> None:
    assert studio.result_name(name) == expected


def test_bad_uploads_get_a_clear_4xx_and_the_server_keeps_serving(client) -> None:
    refusals = [
        (upload(client, b"GIF89a not really"), 415, "not opened"),
        (upload(client, b"hello", name="notes.txt"), 415, "not an image"),
        (upload(client, b""), 415, "empty"),
        (upload(client, b"x" * 200_001), 413, "too large"),
        (upload(client, bomb_bytes(), name="bomb.png"), 413, "too many pixels"),
        (client.post("/api/photos/folder", json={"name": "../secret.png"}), 404, "not one of the folder"),
        (client.post("/api/photos/p999/render", json={}), 404, "no longer open"),
    ]
    for response, status, words in refusals:
        assert response.status_code == status and words in response.json()["error"], response.text
    opened = client.post("/api/photos/folder", json={"name": "1950s/street.png"})
    assert opened.status_code == 200  # still serving
    render = f"/api/photos/{opened.json()['id']}/render"
    outside = client.post(render, json={"hints": [{"x": 500, "y": 5, "color": BLUE}]})
    assert outside.status_code == 400 and "entry 1" in outside.json()["error"]
    colour = client.post(
        render, json={"hints": [{"x": 5, "y": 5, "color": BLUE}, {"x": 1, "y": 1, "color": "red"}]}
    )
    assert colour.status_code == 400 and "entry 2" in colour.json()["error"]
    vivid = client.post(render, json={"vividness": -1})
    assert vivid.status_code == 400 and "vividness" in vivid.json()["error"]
    bad_json = client.post(render, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]


def test_decode_image_reads_the_header_before_decoding() -> None:
    with pytest.raises(ImageLoadError, match="too many pixels"):
        decode_image(bomb_bytes(), "bomb.png", max_pixels=50_000_000)
    assert decode_image(photo_bytes(".jpg"), "a.jpg").size == (WIDTH, HEIGHT)


def test_two_requests_at_once_each_get_their_own_result(photo_studio: studio.Studio) -> None:
    """A real uvicorn server on a free port; two renders with different hints sent together."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(serve.create_app(photo_studio), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        token = {guard.TOKEN_HEADER: photo_studio.token}
        request = urllib.request.Request(
            f"{base}/api/photos",
            data=photo_bytes(),
            headers={"X-Filename": "a.png", "Content-Type": "image/png", **token},
        )
        photo_id = json.load(urllib.request.urlopen(request))["id"]
        edits = [{"hints": [{"x": 20, "y": 40, "color": colour}]} for colour in (BLUE, "#e02010")]

        def render(edit: dict) -> np.ndarray:
            request = urllib.request.Request(
                f"{base}/api/photos/{photo_id}/render",
                data=json.dumps(edit).encode(),
                headers={"Content-Type": "application/json", **token},
            )
            with urllib.request.urlopen(request) as response:
                return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB")).astype(np.int16)

        alone = [render(edit) for edit in edits]
        together: list = [None, None]
        threads = [
            threading.Thread(target=lambda i=i: together.__setitem__(i, render(edits[i]))) for i in (0, 1)
        ]
        for worker in threads:
            worker.start()
        for worker in threads:
            worker.join(60)
        for mine, expected in zip(together, alone, strict=True):
            np.testing.assert_array_equal(mine, expected)
        assert (
            together[0][40, 20, 2] > together[0][40, 20, 0]
            and together[1][40, 20, 0] > together[1][40, 20, 2]
        )
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_command_refuses_a_missing_or_empty_folder_and_bad_limits_before_serving(
    tmp_path: Path, capsys
) -> None:
    from colorlib import cli

    assert cli.main(["serve", str(tmp_path / "missing")]) == 2
    assert "No file or folder at" in capsys.readouterr().err
    assert cli.main(["serve", str(tmp_path)]) == 2
    assert "No photos in" in capsys.readouterr().err
    assert cli.main(["serve", "--max-mb", "0"]) == 2
    assert "must be above 0" in capsys.readouterr().err
    with socket.socket() as taken:  # another program listens on the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        (tmp_path / "a.png").write_bytes(photo_bytes())
        assert cli.main(["serve", str(tmp_path), "--port", port]) == 2
        assert f"port {port}" in capsys.readouterr().err
