"""``colorlib serve`` in a real browser: open a photo, place a hint, see the pixels change, download.

A uvicorn server runs the page in a thread with the session's small colorizer (random weights,
no hints of its own: the floor spreads them); headless Chromium drives it (``tests/chromium.py``).
What the page shows is read from screenshots. Skipped when Chromium or its driver is missing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from chromium import start_chromium, wait_for
from PIL import Image

from colorlib.cli import serve

#: The photo: width, height, and two flat grays (darker left half, lighter right half).
WIDTH, HEIGHT = 400, 240
LEFT_GRAY, RIGHT_GRAY = 110, 190
#: Where the hint goes and where its effect is read (photo pixels): left half, clear of the marker.
HINT_AT, READ_AT = (100, 120), (130, 150)
BLUE = "#1040e0"


@pytest.fixture(scope="module")
def server(small_colorizer, tmp_path_factory) -> Iterator[tuple[str, serve.Studio]]:
    results = tmp_path_factory.mktemp("results")
    studio = serve.Studio(small_colorizer, results)
    import uvicorn

    config = uvicorn.Config(serve.create_app(studio), host="127.0.0.1", port=0, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    wait_for(lambda: runner.started, "the server to start")
    port = runner.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/", studio
    runner.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, downloads: Path) -> Iterator:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), downloads=downloads)
    yield driver
    driver.quit()


def renders(browser) -> int:
    return int(browser.execute_script("return Number(document.body.dataset.renders || 0)"))


def stage_pixel(browser, point: tuple[int, int]) -> np.ndarray:
    """The colour the page shows at a point of the photo (its own pixels), from a screenshot."""
    from selenium.webdriver.common.by import By

    stage = browser.find_element(By.ID, "stage")
    with Image.open(io.BytesIO(stage.screenshot_as_png)) as shot:
        shot = shot.convert("RGB")
        scale_x, scale_y = shot.width / WIDTH, shot.height / HEIGHT
        return np.asarray(shot.getpixel((int(point[0] * scale_x), int(point[1] * scale_y))), dtype=np.int16)


def test_open_a_photo_place_move_remove_a_hint_and_download(browser, server, downloads: Path, tmp_path: Path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, studio = server
    pixels = np.full((HEIGHT, WIDTH, 3), LEFT_GRAY, np.uint8)
    pixels[:, WIDTH // 2 :] = RIGHT_GRAY
    photo = tmp_path / "old street.png"
    Image.fromarray(pixels).save(photo)

    browser.get(url)
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready"), "the page to start")
    file_input = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false", file_input)
    file_input.send_keys(str(photo))
    wait_for(lambda: renders(browser) >= 1, "the automatic colours")
    browser.execute_script(
        "const s = document.getElementById('compare'); s.value = 100; s.dispatchEvent(new Event('input'))"
    )
    automatic = stage_pixel(browser, READ_AT)

    stage = browser.find_element(By.ID, "stage")
    box = stage.rect
    browser.execute_script(f"document.getElementById('colour').value = '{BLUE}'")
    offset = (
        HINT_AT[0] * box["width"] / WIDTH - box["width"] / 2,
        HINT_AT[1] * box["height"] / HEIGHT - box["height"] / 2,
    )
    ActionChains(browser).move_to_element_with_offset(stage, *map(int, offset)).click().perform()
    wait_for(lambda: renders(browser) >= 2, "the result with the hint")
    wait_for(
        lambda: not browser.execute_script("return document.body.dataset.busy === 'true'"), "the edits to end"
    )
    hinted = stage_pixel(browser, READ_AT)
    assert hinted[2] - hinted[0] > automatic[2] - automatic[0] + 20, (
        automatic,
        hinted,
    )  # bluer near the hint
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hint")) == 1
    edit_ms = float(browser.execute_script("return document.body.dataset.editMs"))
    print(f"time per edit in Chromium: {edit_ms:.0f} ms")

    marker = browser.find_element(By.CSS_SELECTOR, ".hint")
    ActionChains(browser).click_and_hold(marker).move_by_offset(0, -60).release().perform()
    wait_for(
        lambda: (
            float(browser.find_element(By.CSS_SELECTOR, ".hint").get_attribute("data-y")) < HINT_AT[1] - 20
        ),
        "the hint to move up",
    )

    saved = renders(browser)
    ActionChains(browser).context_click(browser.find_element(By.CSS_SELECTOR, ".hint")).perform()
    wait_for(
        lambda: renders(browser) > saved and not browser.find_elements(By.CSS_SELECTOR, ".hint"),
        "the removal",
    )

    browser.find_element(By.ID, "download").click()
    written = wait_for(lambda: list(downloads.glob("*-colorized.png")), "the download")
    with Image.open(written[0]) as download:
        assert download.size == (WIDTH, HEIGHT)  # the photo's own resolution
    assert [path.name for path in studio.results_dir.iterdir()] == ["old_street-colorized.png"]


def test_a_bad_upload_and_a_bad_hints_file_are_told_on_the_page(browser, server, tmp_path: Path):
    from selenium.webdriver.common.by import By

    url, _ = server
    browser.get(url)
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready"), "the page to start")

    def choose(field_id: str, path: Path) -> None:
        field = browser.find_element(By.ID, field_id)
        browser.execute_script("arguments[0].hidden = false; arguments[0].disabled = false", field)
        field.send_keys(str(path))

    def message() -> str:
        shown = browser.find_element(By.ID, "message")
        return shown.text if shown.is_displayed() else ""

    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    choose("file", fake)
    assert "holiday.png was not opened" in wait_for(message, "the refusal on the page")

    photo = tmp_path / "plain.png"
    Image.fromarray(np.full((HEIGHT, WIDTH, 3), LEFT_GRAY, np.uint8)).save(photo)
    choose("file", photo)
    wait_for(lambda: renders(browser) >= 1 and not message(), "the photo")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('[{"x": 10, "y": 20, "color": "#3a7bd5"}, {"x": 300, "y": 200, "color": "#c0392b"}]')
    bad.write_text('[{"x": 10, "y": 20, "color": "#3a7bd5"}, {"x": 900, "y": 20, "color": "#c0392b"}]')
    choose("load-hints", good)
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".hint")) == 2, "the loaded hints")
    choose("load-hints", bad)
    assert "entry 2" in wait_for(message, "the bad hints file's refusal")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hint")) == 2  # the good ones are kept
