"""``colorlib serve`` in a real browser: open a photo, place a hint, see the pixels change, download;
hints placed in the colours picked, kept per photo and through a reload; keys that act only on the
photo; a photo the server closed opened again; another site's page that cannot act.

A uvicorn server runs the page in a thread with the session's small colorizer (random weights,
no hints of its own: the floor spreads them); headless Chromium drives it (``tests/chromium.py``).
What the page shows is read from screenshots and from the markers' data. Skipped when Chromium or
its driver is missing.
"""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from chromium import start_chromium, wait_for
from PIL import Image
from servehelp import live_server

from colorlib.cli import studio

#: The photo: width, height, and two flat grays (darker left half, lighter right half).
WIDTH, HEIGHT = 400, 240
LEFT_GRAY, RIGHT_GRAY = 110, 190
#: Where the hint goes and where its effect is read (photo pixels): left half, clear of the marker.
HINT_AT, READ_AT = (100, 120), (130, 150)
BLUE = "#1040e0"


def two_grays(left: int = LEFT_GRAY, size: tuple[int, int] = (WIDTH, HEIGHT)) -> np.ndarray:
    pixels = np.full((size[1], size[0], 3), left, np.uint8)
    pixels[:, size[0] // 2 :] = RIGHT_GRAY
    return pixels


@pytest.fixture(scope="module")
def server(small_colorizer, tmp_path_factory) -> Iterator[tuple[str, studio.Studio]]:
    """The page, with a folder of three photos: two the size of the others, one small (120 × 80)."""
    folder = tmp_path_factory.mktemp("photos")
    for name, left in (("street.png", 90), ("field.png", 150)):
        Image.fromarray(two_grays(left)).save(folder / name)
    Image.fromarray(two_grays(size=(120, 80))).save(folder / "small.png")
    results = tmp_path_factory.mktemp("results")
    page_studio = studio.Studio(small_colorizer, results, studio.folder_photos(folder))
    with live_server(page_studio) as port:
        yield f"http://127.0.0.1:{port}/", page_studio


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

    url, page_studio = server
    photo = tmp_path / "old street.png"
    Image.fromarray(two_grays()).save(photo)

    fresh_page(browser, url)  # no photo of an earlier test reopened
    file_input = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false", file_input)
    file_input.send_keys(str(photo))
    wait_for(lambda: renders(browser) >= 1 and browser.title.startswith("old street.png"), "the colours")
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
    assert [path.name for path in page_studio.results_dir.iterdir()] == ["old_street-colorized.png"]


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
    before = renders(browser)  # the module's browser may reopen the last test's photo on loading
    choose("file", photo)
    wait_for(lambda: browser.title.startswith("plain.png") and renders(browser) > before, "the photo")
    wait_for(lambda: not message(), "the refusal to go")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('[{"x": 10, "y": 20, "color": "#3a7bd5"}, {"x": 300, "y": 200, "color": "#c0392b"}]')
    bad.write_text('[{"x": 10, "y": 20, "color": "#3a7bd5"}, {"x": 900, "y": 20, "color": "#c0392b"}]')
    choose("load-hints", good)
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".hint")) == 2, "the loaded hints")
    choose("load-hints", bad)
    assert "entry 2" in wait_for(message, "the bad hints file's refusal")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hint")) == 2  # the good ones are kept


def test_a_hints_file_chosen_while_a_photo_opens_lands_on_that_photo(browser, server, tmp_path: Path):
    """A slow upload (held back 1.5 s in the page) and a hints file chosen meanwhile: the hints wait."""
    from selenium.webdriver.common.by import By

    url, _ = server
    fresh_page(browser, url)
    choose_folder_photo(browser, "street.png")
    browser.execute_script(
        """const send = window.fetch;
        window.fetch = (path, options) => options && options.method === "POST" && path === "/api/photos"
          ? new Promise((resolve) => setTimeout(() => resolve(send(path, options)), 1500))
          : send(path, options);"""
    )
    photo, hints = tmp_path / "slow.png", tmp_path / "slow-hints.json"
    Image.fromarray(two_grays(60)).save(photo)
    hints.write_text('[{"x": 10, "y": 20, "color": "#3a7bd5"}, {"x": 300, "y": 200, "color": "#c0392b"}]')
    for field_id, path in (("file", photo), ("load-hints", hints)):
        field = browser.find_element(By.ID, field_id)
        browser.execute_script("arguments[0].hidden = false; arguments[0].disabled = false", field)
        field.send_keys(str(path))
    wait_for(lambda: browser.title.startswith("slow.png"), "the slow photo")
    wait_for(lambda: len(markers(browser)) == 2, "the hints on the slow photo")
    idle(browser)
    assert markers(browser) == [(10.0, 20.0, "#3a7bd5"), (300.0, 200.0, "#c0392b")]


def fresh_page(browser, url: str) -> None:
    """The page as a new user sees it: no hints kept from an earlier test."""
    browser.get(url + "static/page.css")  # the same origin, without the page's script
    browser.execute_script("localStorage.clear()")
    browser.get(url)
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready"), "the page to start")


def idle(browser) -> None:
    wait_for(
        lambda: browser.execute_script("return document.body.dataset.busy !== 'true'"), "the edits to end"
    )


def markers(browser) -> list[tuple[float, float, str]]:
    """The hints the page shows: (x, y, colour) in the photo's pixels."""
    from selenium.webdriver.common.by import By

    return [
        (float(m.get_attribute("data-x")), float(m.get_attribute("data-y")), m.get_attribute("data-color"))
        for m in browser.find_elements(By.CSS_SELECTOR, ".hint")
    ]


def pick(browser, colour: str) -> None:
    """Click the swatch of this colour, as a user picks one."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, f'#swatches button[title="{colour}"]').click()


def click_photo(browser, fx: float, fy: float, right: bool = False) -> None:
    """Click the photo at a fraction of its width and height."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    stage = browser.find_element(By.ID, "stage")
    box = stage.rect
    chain = ActionChains(browser).move_to_element_with_offset(
        stage, int((fx - 0.5) * box["width"]), int((fy - 0.5) * box["height"])
    )
    (chain.context_click() if right else chain.click()).perform()


def choose_folder_photo(browser, name: str) -> None:
    from selenium.webdriver.support.ui import Select

    before = renders(browser)
    from selenium.webdriver.common.by import By

    Select(browser.find_element(By.ID, "folder")).select_by_value(name)
    wait_for(lambda: renders(browser) > before and browser.title.startswith(name), f"{name} to open")
    idle(browser)


BLUE_SWATCH, GREEN_SWATCH, RED_SWATCH, YELLOW_SWATCH = "#3a7bd5", "#27ae60", "#c0392b", "#f1c40f"


def test_each_click_places_a_hint_in_the_colour_picked_and_only_a_selected_hint_is_recoloured(
    browser, server
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    fresh_page(browser, url)
    choose_folder_photo(browser, "street.png")
    assert browser.find_element(By.ID, "compare").get_attribute("value") == "100"  # opens on the colours
    assert not browser.find_element(By.ID, "divider").is_displayed()  # and no line at the photo's edge

    pick(browser, BLUE_SWATCH)  # the page's instructions: pick a colour, click; pick the next, click
    click_photo(browser, 0.2, 0.3)
    pick(browser, GREEN_SWATCH)
    click_photo(browser, 0.7, 0.7)
    idle(browser)
    assert [colour for *_, colour in markers(browser)] == [BLUE_SWATCH, GREEN_SWATCH]

    browser.find_elements(By.CSS_SELECTOR, ".hint")[0].click()  # select hint 1, then recolour it
    assert "Hint 1 selected" in browser.find_element(By.ID, "selected").text
    pick(browser, RED_SWATCH)
    idle(browser)
    assert [colour for *_, colour in markers(browser)] == [RED_SWATCH, GREEN_SWATCH]

    browser.find_element(By.ID, "stage").send_keys(Keys.ESCAPE)  # Escape deselects
    pick(browser, YELLOW_SWATCH)
    assert [colour for *_, colour in markers(browser)] == [RED_SWATCH, GREEN_SWATCH]
    browser.find_elements(By.CSS_SELECTOR, ".hint")[1].click()
    click_photo(browser, 0.5, 0.1)  # a click on the photo deselects, and places nothing
    pick(browser, BLUE_SWATCH)
    assert [colour for *_, colour in markers(browser)] == [RED_SWATCH, GREEN_SWATCH]
    assert "No hint selected" in browser.find_element(By.ID, "selected").text
    click_photo(browser, 0.5, 0.1)  # the next click places a hint, in the colour picked
    idle(browser)
    assert [colour for *_, colour in markers(browser)][-1] == BLUE_SWATCH and len(markers(browser)) == 3


def test_each_photo_keeps_its_hints_when_switching_and_through_a_reload(browser, server):
    from selenium.webdriver.common.by import By

    url, _ = server
    fresh_page(browser, url)
    choose_folder_photo(browser, "street.png")
    pick(browser, BLUE_SWATCH)
    click_photo(browser, 0.2, 0.3)
    pick(browser, GREEN_SWATCH)
    click_photo(browser, 0.8, 0.6)
    idle(browser)
    street = markers(browser)
    assert len(street) == 2

    choose_folder_photo(browser, "field.png")
    assert markers(browser) == []  # another photo, its own hints
    click_photo(browser, 0.5, 0.5)
    idle(browser)
    field = markers(browser)

    choose_folder_photo(browser, "street.png")
    assert markers(browser) == street  # switching back restores them

    browser.refresh()  # a reload restores the last photo and its hints
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready"), "the page to start")
    wait_for(lambda: browser.title.startswith("street.png"), "the last photo to come back")
    assert markers(browser) == street
    assert browser.find_element(By.ID, "folder").get_attribute("value") == "street.png"
    choose_folder_photo(browser, "field.png")
    assert markers(browser) == field


def test_backspace_and_delete_remove_a_hint_only_when_the_photo_has_the_focus(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    fresh_page(browser, url)
    choose_folder_photo(browser, "street.png")
    click_photo(browser, 0.3, 0.3)
    idle(browser)
    browser.find_element(By.CSS_SELECTOR, ".hint").click()  # selected
    browser.find_element(By.ID, "folder").send_keys(Keys.BACKSPACE)  # the photo list has the focus
    browser.find_element(By.ID, "colour").send_keys(Keys.DELETE)
    assert len(markers(browser)) == 1
    assert browser.title.startswith("street.png")  # and the list still shows the same photo

    browser.find_element(By.CSS_SELECTOR, ".hint").click()  # the photo has the focus again
    before = renders(browser)
    browser.find_element(By.ID, "stage").send_keys(Keys.BACKSPACE)
    wait_for(lambda: not markers(browser) and renders(browser) > before, "the hint to go")


def test_a_photo_the_server_closed_opens_again_and_small_photos_fill_the_view(browser, server):
    from selenium.webdriver.common.by import By

    url, page_studio = server
    fresh_page(browser, url)
    choose_folder_photo(browser, "small.png")
    stage, work = browser.find_element(By.ID, "stage").rect, browser.find_element(By.ID, "work").rect
    assert stage["width"] > 3 * 120 and stage["width"] > 0.8 * work["width"]  # scaled up, not 120 px
    assert abs(stage["width"] / stage["height"] - 120 / 80) < 0.02

    choose_folder_photo(browser, "street.png")
    page_studio.photos.clear()  # as when eight other photos were opened since
    before = renders(browser)
    click_photo(browser, 0.25, 0.5)  # a hint on a photo the server no longer holds
    wait_for(lambda: renders(browser) > before, "the edit on the photo opened again")
    idle(browser)
    assert not browser.find_element(By.ID, "message").is_displayed()
    assert len(markers(browser)) == 1 and len(page_studio.photos) == 1

    page_studio.photos.clear()
    choose_folder_photo(browser, "small.png")
    page_studio.photos.clear()
    choose_folder_photo(browser, "street.png")  # choosing a closed photo's name opens it again
    assert len(markers(browser)) == 1 and [photo.name for photo in page_studio.photos.values()] == [
        "street.png"
    ]


ATTACK_PAGE = """<!doctype html><title>a page of another site</title><script>
const target = "{target}";
const simple = (path, body) => fetch(target + path, {{method: "POST", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body}});
(async () => {{
  for (const path of ["api/photos/folder", "api/photos/p1/save", "api/photos/p2/save"]) {{
    try {{ await simple(path, JSON.stringify({{name: "street.png", vividness: 0}})); }} catch (e) {{}}
  }}
  document.title = "sent";
}})();
</script>"""


def test_a_page_of_another_site_cannot_open_or_save_photos(browser, server, tmp_path: Path):
    """What a probe did: a page served from another origin sent "simple" text/plain POSTs."""
    url, page_studio = server
    (tmp_path / "index.html").write_text(ATTACK_PAGE.format(target=url))
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        page_studio.photos.clear()
        written = sorted(page_studio.results_dir.rglob("*"))
        browser.get(f"http://127.0.0.1:{attacker.server_address[1]}/index.html")
        wait_for(lambda: browser.title == "sent", "the other site's requests")
    finally:
        attacker.shutdown()
    assert not page_studio.photos  # nothing opened
    assert sorted(page_studio.results_dir.rglob("*")) == written  # nothing written


def test_a_reference_photo_gives_hints_that_bring_its_colours(browser, server, tmp_path: Path):
    """The page takes a colour reference beside the photo (issue 40): its matches become hints, which
    move the colours toward the reference's; a gray reference is refused on the page."""
    import skimage.data
    from selenium.webdriver.common.by import By

    url, _ = server
    truth = np.asarray(
        Image.fromarray(skimage.data.coffee()).resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    )
    photo, colour, gray = tmp_path / "coffee-gray.png", tmp_path / "coffee.png", tmp_path / "gray-ref.png"
    Image.fromarray(truth).convert("L").save(photo)
    Image.fromarray(truth).save(colour)
    Image.fromarray(truth).convert("L").convert("RGB").save(gray)
    fresh_page(browser, url)
    field = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false", field)
    field.send_keys(str(photo))
    wait_for(lambda: renders(browser) >= 1 and browser.title.startswith("coffee-gray.png"), "the colours")
    idle(browser)

    def shown() -> np.ndarray:
        stage = browser.find_element(By.ID, "stage")
        with Image.open(io.BytesIO(stage.screenshot_as_png)) as shot:
            return np.asarray(shot.convert("RGB").resize((WIDTH, HEIGHT)), dtype=np.float32)

    def chroma_error(rgb: np.ndarray) -> float:  # how far the colours are from the truth's, lightness aside
        from colorlib.color.lab import rgb_to_lab

        return float(np.abs(rgb_to_lab(rgb / 255)[..., 1:] - rgb_to_lab(truth / 255)[..., 1:]).mean())

    browser.execute_script(
        "document.querySelector('#hints').style.display = 'none'"
    )  # markers off the pixels
    automatic = chroma_error(shown())
    reference = browser.find_element(By.ID, "reference")
    assert reference.get_attribute("disabled") is None  # enabled once a photo is open
    before = renders(browser)
    browser.execute_script("arguments[0].hidden = false", reference)
    reference.send_keys(str(colour))
    wait_for(lambda: renders(browser) > before, "the colours with the reference's hints")
    idle(browser)
    from_reference = browser.find_elements(By.CSS_SELECTOR, ".hint.from-reference")
    assert 10 <= len(from_reference) <= 40
    guided = chroma_error(shown())
    assert guided < 0.8 * automatic, (automatic, guided)
    assert "hint(s) where it matches" in browser.find_element(By.ID, "timing").text

    reference.send_keys(str(gray))
    message = wait_for(
        lambda: (
            browser.find_element(By.ID, "message").is_displayed()
            and browser.find_element(By.ID, "message").text
        ),
        "the gray reference's refusal",
    )
    assert "reference is gray" in message
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hint.from-reference")) == len(from_reference)
