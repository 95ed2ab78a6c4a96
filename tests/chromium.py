"""Headless Chromium for the browser tests, driven by Selenium; skipped with the command to run when missing.

``.ci/run`` installs Chromium and its driver when it runs as root on a machine with apt.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

#: Names of the Chromium binary on Debian, Ubuntu and elsewhere.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Flags that run Chromium headless in a container, offline, without a profile of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--window-size=1000,900",
)
INSTALL_HINT = "Chromium is not installed: apt-get install chromium chromium-driver"
#: How long :func:`wait_for` waits for the page.
WAIT_SECONDS = 120


def start_chromium(profile: Path, javascript: bool = True, downloads: Path | None = None):
    """Selenium driving headless Chromium, its profile in ``profile``, downloads into ``downloads``."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="Selenium is missing: pip install -e '.[dev]'"
    )
    from selenium.webdriver.chrome.service import Service

    binary = next((shutil.which(name) for name in CHROMIUM_NAMES if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(INSTALL_HINT)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    prefs = {}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    if downloads is not None:
        prefs |= {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    if prefs:
        options.add_experimental_option("prefs", prefs)
    chromium = webdriver.Chrome(options=options, service=Service(driver))
    if downloads is not None:
        chromium.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
    return chromium


def wait_for(condition, what: str, seconds: float = WAIT_SECONDS):
    """Poll ``condition()`` until it returns something true, and return that; fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {seconds} s waiting for {what}.")
