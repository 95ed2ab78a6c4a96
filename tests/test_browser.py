"""The before/after sliders in a real browser: headless Chromium, driven by Selenium.

The pages are made by :mod:`colorlib.reports.slider` (and one by :mod:`colorlib.reports.htmlreport`, to
check that the report keeps the sliders' inline script) into a temporary folder and opened
as ``file://`` URLs. The photos are flat colours (red colorized, blue original, and the
red's gray), so what the browser shows is read from the pixels of a screenshot.

Skipped, with the command to run, when Chromium or its driver is missing (``tests/chromium.py``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import nbformat
import numpy as np
import pytest
from chromium import start_chromium
from nbformat import v4
from PIL import Image

from colorlib.reports import gallery, htmlreport, slider

#: The photos: width and height in pixels, and their flat colours.
WIDTH, HEIGHT = 400, 200
RED, BLUE = (210, 30, 30), (30, 40, 210)
#: Where the pixels are read, as fractions of the photo: left and right of the divider's
#: start, low enough to miss the labels at the top and the divider's knob in the middle.
LEFT, RIGHT, LOW = 0.25, 0.75, 0.75


def flat(colour: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (HEIGHT, WIDTH, 3)).copy()


def red_row() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gray input, colorized, original) of the test photos."""
    red = flat(RED)
    return gallery.gray_version(red), red, flat(BLUE)


def looks(pixel: tuple[int, ...]) -> str:
    """ "gray", "red", "blue" or "other"."""
    r, g, b = (int(value) for value in pixel[:3])
    if max(r, g, b) - min(r, g, b) < 16:
        return "gray"
    if r > 150 and g < 90 and b < 90:
        return "red"
    if b > 150 and r < 90 and g < 90:
        return "blue"
    return "other"


def _start(tmp_path_factory, javascript: bool):
    return start_chromium(tmp_path_factory.mktemp("chromium-profile"), javascript=javascript)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator:
    """Headless Chromium, shared by the tests of this module."""
    driver = _start(tmp_path_factory, javascript=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def browser_without_javascript(tmp_path_factory) -> Iterator:
    driver = _start(tmp_path_factory, javascript=False)
    yield driver
    driver.quit()


@pytest.fixture
def slider_page(tmp_path) -> str:
    """Two sliders, as two notebook outputs would be: the first with the original, the second without."""
    gray, red, blue = red_row()
    body = slider.slider_html(gray, red, blue, title="first") + slider.slider_html(gray, red, title="second")
    page = tmp_path / "sliders.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>')
    return page.as_uri()


def sliders(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f".{slider.SLIDER_CLASS}")


def part(element, css: str):
    from selenium.webdriver.common.by import By

    return element.find_element(By.CSS_SELECTOR, css)


def seen(figure) -> tuple[str, str]:
    """What the photo of a slider shows left and right of the middle, from a screenshot."""
    stage = part(figure, ".cl-stage")
    with Image.open(io.BytesIO(stage.screenshot_as_png)) as shot:
        shot = shot.convert("RGB")
        y = int(shot.height * LOW)
        return looks(shot.getpixel((int(shot.width * LEFT), y))), looks(
            shot.getpixel((int(shot.width * RIGHT), y))
        )


def split(figure) -> str:
    """Where the divider of a slider is: its CSS variable ``--cl-split``."""
    script = "return getComputedStyle(arguments[0]).getPropertyValue('--cl-split').trim()"
    return figure.parent.execute_script(script, figure)


def test_drag_keys_and_switch_change_what_the_slider_shows(browser, slider_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(slider_page)
    first, second = sliders(browser)
    assert "cl-live" in first.get_attribute("class") and "cl-live" in second.get_attribute("class")
    assert first.get_attribute("id") != second.get_attribute("id")
    assert seen(first) == ("gray", "red") and split(first) == "50%"

    # Drag the divider to the right: the gray input now covers the right side too.
    stage = part(first, ".cl-stage")
    actions = ActionChains(browser).move_to_element(stage).click_and_hold()
    actions.move_by_offset(stage.size["width"] * 0.4, 0).release().perform()
    assert seen(first) == ("gray", "gray")
    assert int(part(first, ".cl-range").get_attribute("value")) >= 85

    # The keyboard: Home puts the divider at the left edge (all colour), arrows step it.
    ActionChains(browser).send_keys(Keys.HOME).perform()
    assert seen(first) == ("red", "red") and split(first) == "0%"
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT * 30).perform()
    assert part(first, ".cl-range").get_attribute("value") == "30"
    assert seen(first) == ("gray", "red")

    # The switch shows the original on the right side, and back.
    part(first, ".cl-label-original").click()
    assert seen(first) == ("gray", "blue")
    part(first, ".cl-label-colour").click()
    assert seen(first) == ("gray", "red")

    # The second slider on the page did not move, and has no switch.
    assert split(second) == "50%" and seen(second) == ("gray", "red")
    assert not second.find_elements("css selector", ".cl-switch")


def test_without_javascript_the_colorized_photo_shows_and_the_switch_works(
    browser_without_javascript, slider_page
):
    browser_without_javascript.get(slider_page)
    first, _ = sliders(browser_without_javascript)
    assert "cl-live" not in first.get_attribute("class")
    assert seen(first) == ("red", "red")
    assert not part(first, ".cl-gray").is_displayed()
    part(first, ".cl-label-original").click()
    assert seen(first) == ("blue", "blue")


def test_reader_view_keeps_the_sliders_script(browser, tmp_path):
    gray, red, blue = red_row()
    notebook = v4.new_notebook()
    cell = v4.new_code_cell("HTML(slider.sliders_html(rows))")
    markup = slider.sliders_html([(gray, red, blue), (gray, red, None)])
    cell.outputs = [v4.new_output("display_data", data={"text/html": markup, "text/plain": "<HTML>"})]
    notebook.cells = [v4.new_markdown_cell("# Sliders"), cell]
    path = tmp_path / "04_colorization.ipynb"
    nbformat.write(notebook, path)
    reader, _ = htmlreport.render_reports(path, seconds=1.0)
    browser.get(Path(reader).as_uri())
    shown = sliders(browser)
    assert len(shown) == 2 and all("cl-live" in figure.get_attribute("class") for figure in shown)
    assert seen(shown[0]) == ("gray", "red")
