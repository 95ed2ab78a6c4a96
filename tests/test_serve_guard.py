"""``colorlib serve`` against other web pages and bad requests: token, Host, Origin, bounded bodies.

Each test here is one defect that a probe of the server found (issue 37): another site's "simple"
POST acting on the user's photos, a foreign ``Host`` (DNS rebinding) reading the folder's names,
requests without the page's token, JSON nested 100,000 deep, a 200 MB body read whole before it was
refused, and two photos of the same name in two sub-folders writing over each other's result.
"""

from __future__ import annotations

import io
import json
import re
import select
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from servehelp import live_server, photo_bytes

from colorlib.cli import guard, serve, studio

#: Where the test client says the server is, and a page of another site.
BASE_URL, OWN_ORIGIN, EVIL_ORIGIN = "http://127.0.0.1:8000", "http://127.0.0.1:8000", "http://evil.example"
#: JSON lists inside each other this deep: Python's parser gives up near 1,000.
DEEP = 100_000
#: The body of the memory test, and how much of it may be sent, or kept, before the 413.
HUGE_BODY, SENT_BEFORE_ANSWER, MEMORY_GROWTH = 200 * 2**20, 8 * 2**20, 64 * 2**20


@pytest.fixture
def photo_studio(small_colorizer, tmp_path: Path) -> studio.Studio:
    folder = tmp_path / "photos"
    for place, gray in (("a", 60), ("b", 170)):
        (folder / place).mkdir(parents=True)
        (folder / place / "x.jpg").write_bytes(photo_bytes(".jpg", left=gray))
    return studio.Studio(small_colorizer, tmp_path / "results", studio.folder_photos(folder))


def test_client(photo_studio: studio.Studio, token: str | None):
    from starlette.testclient import TestClient

    headers = {guard.TOKEN_HEADER: token} if token else {}
    return TestClient(serve.create_app(photo_studio), base_url=BASE_URL, headers=headers)


test_client.__test__ = False  # a helper, not a test


@pytest.fixture
def client(photo_studio: studio.Studio) -> Iterator:
    """The page's own requests: its Host and Origin, and its token."""
    with test_client(photo_studio, photo_studio.token) as page_client:
        yield page_client


def open_folder_photo(client, name: str = "a/x.jpg") -> str:
    response = client.post("/api/photos/folder", json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_another_sites_simple_post_cannot_open_render_or_save(client, photo_studio: studio.Studio) -> None:
    """What a page of another site sent: a CORS-"simple" fetch POST, text/plain, with no token."""
    simple = {"Content-Type": "text/plain", "Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"}
    body = '{"name": "a/x.jpg"}'
    with test_client(photo_studio, token=None) as stranger:
        refused = stranger.post("/api/photos/folder", content=body, headers=simple)
    assert refused.status_code == 403 and not photo_studio.photos  # nothing was opened

    photo_id = open_folder_photo(client)
    for headers in (simple, {"Origin": EVIL_ORIGIN}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        # even with the token (were it ever to leak), another origin is refused
        save = client.post(f"/api/photos/{photo_id}/save", json={"vividness": 0}, headers=headers)
        assert save.status_code == 403 and "another site" in save.json()["error"], (headers, save.text)
    assert not photo_studio.results_dir.exists()  # nothing was written

    plain = client.post(
        f"/api/photos/{photo_id}/render",
        content='{"hints": []}',
        headers=simple
        | {
            "Origin": OWN_ORIGIN,
            "Sec-Fetch-Site": "same-origin",
        },
    )
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]
    upload = client.post("/api/photos", content=photo_bytes(), headers={"Content-Type": "text/plain"})
    assert upload.status_code == 415 and "octet-stream" in upload.json()["error"]

    own = {"Origin": OWN_ORIGIN, "Sec-Fetch-Site": "same-origin"}  # what the page itself sends
    assert client.post(f"/api/photos/{photo_id}/render", json={}, headers=own).status_code == 200


def test_a_foreign_host_is_refused_everywhere(client, photo_studio: studio.Studio) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: Host evil.example."""
    for path in ("/", "/api/status", "/static/page.js"):
        for host in ("evil.example", "evil.example:8000", "127.0.0.1:9999", "localhost.evil.example:8000"):
            response = client.get(path, headers={"Host": host})
            assert response.status_code == 400, (path, host)
            assert "a/x.jpg" not in response.text and photo_studio.token not in response.text
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        assert client.get("/api/status", headers={"Host": host}).status_code == 200, host


def test_the_hosts_a_server_answers_to() -> None:
    assert guard.allowed_hosts("127.0.0.1") == ["127.0.0.1", "localhost", "[::1]"]
    assert guard.allowed_hosts("::1") == ["127.0.0.1", "localhost", "[::1]"]
    assert guard.allowed_hosts("192.168.1.20", ["Photos.lan"])[-2:] == ["photos.lan", "192.168.1.20"]
    everywhere = guard.allowed_hosts("0.0.0.0")  # other machines reach it by this machine's name
    assert socket.gethostname().lower() in everywhere and "0.0.0.0" not in everywhere


def test_a_missing_or_wrong_token_is_refused_on_every_api_route(photo_studio: studio.Studio) -> None:
    with test_client(photo_studio, photo_studio.token) as page:
        photo_id = open_folder_photo(page)
    requests = [
        ("GET", "/api/status", {}),
        ("POST", "/api/photos", {"content": photo_bytes(), "headers": {"Content-Type": "image/png"}}),
        ("POST", "/api/photos/folder", {"json": {"name": "b/x.jpg"}}),
        ("GET", f"/api/photos/{photo_id}", {}),
        ("GET", f"/api/photos/{photo_id}/gray", {}),
        ("POST", f"/api/photos/{photo_id}/render", {"json": {}}),
        ("POST", f"/api/photos/{photo_id}/save", {"json": {}}),
    ]
    for token in (None, "wrong", photo_studio.token[:-1]):
        with test_client(photo_studio, token) as stranger:
            for method, path, options in requests:
                response = stranger.request(method, path, **options)
                assert response.status_code == 403, (token, path)
                assert "token" in response.json()["error"] and "reload the page" in response.json()["error"]
    assert len(photo_studio.photos) == 1 and not photo_studio.results_dir.exists()
    with test_client(photo_studio, photo_studio.token) as page:  # the page itself still works
        assert page.get("/").status_code == 200  # the page and its files need no token
        assert page.post(f"/api/photos/{photo_id}/render", json={}).status_code == 200


def test_json_nested_100000_deep_gets_a_400_with_a_sentence(client, tmp_path: Path, monkeypatch, capsys):
    deep = "[" * DEEP + "]" * DEEP
    photo_id = open_folder_photo(client)
    for path in ("/api/photos/folder", f"/api/photos/{photo_id}/render", f"/api/photos/{photo_id}/save"):
        response = client.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and "nested too deeply" in response.json()["error"], path
    assert client.post(f"/api/photos/{photo_id}/render", json={}).status_code == 200  # still serving

    from colorlib import cli
    from colorlib.cli import commands

    def no_model(args):
        raise AssertionError("the model was loaded before the hints file was checked")

    monkeypatch.setattr(commands, "_load_colorizer", no_model)
    photo, hints = tmp_path / "photo.png", tmp_path / "deep.json"
    photo.write_bytes(photo_bytes())
    hints.write_text(deep)
    assert cli.main(["colorize", str(photo), "--out", str(tmp_path / "out"), "--hints", str(hints)]) == 2
    assert "nested too deeply" in capsys.readouterr().err
    hints.write_text('[{"x": 500, "y": 5, "color": "#3a7bd5"}]')  # outside the 120 × 80 photo
    assert cli.main(["colorize", str(photo), "--out", str(tmp_path / "out"), "--hints", str(hints)]) == 2
    assert "outside the photo" in capsys.readouterr().err


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def post_huge_json(port: int, token: str, chunked: bool) -> tuple[bytes, int, int]:
    """POST a 200 MB JSON body, a piece at a time, until the server answers; returns the answer, the
    bytes sent before it, and how much this process (the server's too) grew meanwhile."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE_BODY}"
    head = (
        f"POST /api/photos/folder HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{guard.TOKEN_HEADER}: {token}\r\n{framing}\r\n\r\n"
    )
    piece = b"[" * 2**16
    start, peak, sent = resident_bytes(), 0, 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.encode())
        while sent < HUGE_BODY and not select.select([connection], [], [], 0)[0]:
            connection.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            sent += len(piece)
            peak = max(peak, resident_bytes() - start)
        deadline = time.monotonic() + 60
        while not select.select([connection], [], [], 0.1)[0] and time.monotonic() < deadline:
            peak = max(peak, resident_bytes() - start)
        answer = connection.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])
        while len(body) < length and (more := connection.recv(65536)):
            body += more
        return head + b"\r\n\r\n" + body, sent, peak


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_json_body_is_refused_as_it_streams_in(photo_studio: studio.Studio, chunked: bool):
    with live_server(photo_studio) as port:
        answer, sent, growth = post_huge_json(port, photo_studio.token, chunked)
        print(f"413 after {sent / 2**20:.1f} MB sent; the process grew {growth / 2**20:.1f} MB")
        assert answer.startswith(b"HTTP/1.1 413") and b"too large" in answer, answer[:200]
        assert sent <= SENT_BEFORE_ANSWER and growth <= MEMORY_GROWTH
        status = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/status", headers={guard.TOKEN_HEADER: photo_studio.token}
        )
        assert urllib.request.urlopen(status).status == 200  # still serving


def test_same_named_photos_in_two_sub_folders_keep_their_own_results(client, photo_studio: studio.Studio):
    from PIL import Image

    results = photo_studio.results_dir
    saved = {}
    for name in ("a/x.jpg", "b/x.jpg", "a/x.jpg"):  # a/x.jpg twice: the only overwrite
        response = client.post(f"/api/photos/{open_folder_photo(client, name)}/save", json={})
        saved[name] = response.headers["x-saved-as"]
    assert saved == {"a/x.jpg": "a/x-colorized.jpg", "b/x.jpg": "b/x-colorized.jpg"}
    assert sorted(path.relative_to(results).as_posix() for path in results.rglob("*.jpg")) == [
        "a/x-colorized.jpg",
        "b/x-colorized.jpg",
    ]
    pixels = [np.asarray(Image.open(results / saved[name]), np.int16) for name in ("a/x.jpg", "b/x.jpg")]
    assert np.abs(pixels[0] - pixels[1]).mean() > 20  # two photos, two results

    names = []  # uploads of the same name but other photos never write over each other either
    for gray in (60, 170, 60):
        headers = {"X-Filename": "x.jpg", "Content-Type": "image/jpeg"}
        opened = client.post("/api/photos", content=photo_bytes(".jpg", left=gray), headers=headers).json()
        names.append(client.post(f"/api/photos/{opened['id']}/save", json={}).headers["x-saved-as"])
    assert names == ["x-colorized.jpg", "x-colorized-2.jpg", "x-colorized.jpg"]


def test_every_answer_carries_the_security_headers(client, photo_studio: studio.Studio) -> None:
    answers = [
        client.get("/"),
        client.get("/static/page.js"),
        client.get("/api/status"),
        client.get("/api/status", headers={guard.TOKEN_HEADER: "wrong"}),
        client.get("/", headers={"Host": "evil.example"}),
        client.post("/api/photos/p99/render", json={}),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 403, 400, 404]
    for answer in answers:
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"


def test_a_refused_photo_names_the_limits_as_they_are_enforced(photo_studio: studio.Studio) -> None:
    from colorlib.data.images import ImageLoadError, decode_image

    limit = 50 * 2**20
    assert studio.size_text(limit + 1, limit) == "52,428,801 bytes; at most 52,428,800 (50 MB)"
    assert studio.size_text(70 * 2**20, limit) == "70.0 MB; at most 50 MB"
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")  # over Pillow's own bomb limit too
    with pytest.raises(ImageLoadError, match=r"400,000,000; at most 50,000,000"):  # ours, not Pillow's
        decode_image(buffer.getvalue(), "big.png", max_pixels=50_000_000)
    photo_studio.max_bytes = 1000
    with test_client(photo_studio, photo_studio.token) as page:
        big = page.post("/api/photos", content=b"x" * 1001, headers={"Content-Type": "image/png"})
    assert big.status_code == 413 and "1,001 bytes; at most 1,000" in big.json()["error"]


def test_the_command_serves_the_guarded_page_and_stops_at_ctrl_c(tmp_path: Path) -> None:
    """``colorlib serve`` itself, with the shipped colorizer: the page with its token, a foreign Host
    refused, and Ctrl+C ends the command with status 0 and a line saying so."""
    import signal
    import subprocess
    import sys

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "street.png").write_bytes(photo_bytes())
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "colorlib.cli", "serve", str(folder), "--out", str(tmp_path / "out")]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        while not any("open http" in line for line in lines):
            line = server.stdout.readline()
            assert line, "".join(lines)  # the command ended before serving
            lines.append(line)
        assert f"http://127.0.0.1:{port}/" in lines[-1]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/").read().decode()
        token = re.search(r'name="colorlib-token" content="([^"]+)"', page)[1]
        status = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/status", headers={guard.TOKEN_HEADER: token}
        )
        assert json.load(urllib.request.urlopen(status))["folder"] == ["street.png"]
        rebinding = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/status", headers={"Host": "evil.example"}
        )
        with pytest.raises(urllib.error.HTTPError, match="400"):
            urllib.request.urlopen(rebinding)
    finally:
        server.send_signal(signal.SIGINT)
        rest = server.communicate(timeout=60)[0]
    assert server.returncode == 0 and "colorlib serve: stopped." in rest, rest
