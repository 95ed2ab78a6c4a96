"""The time of one edit and of opening a photo on ``colorlib serve``'s page, measured in Chromium.

Starts the server in this process (warmed up as ``colorlib serve`` does), opens a photo from its
folder on the page in headless Chromium, places hints one click at a time and drags the last one,
and reads the page's own timing of each edit (from the click to the new picture decoded: request,
decoder or floor, JPEG, transfer); then opens ``--opens`` other photos of the folder and reads
the time from choosing each to its first colours. Prints the median and the slowest per
colorizer, side by side:

- ``floor``: the U-Net of the colorizer that ships with colorlib without its spread head (a
  colorizer without hints: the joint-bilateral floor spreads the hints over its colours, no
  network per edit);
- ``shipped, ONNX Runtime`` (``--runtime onnx``): the shipped colorizer's ONNX export, whole, at
  every edit, in a process that never starts TensorFlow (as ``colorlib serve`` runs it by default);
- ``hint decoder``: the shipped colorizer itself, whose decoder (U-Net and spread head) runs at
  every edit, or ``--model`` another trained hint colorizer, or with ``--random`` a hint-aware
  U-Net at the real shapes (Lite0 encoder, 256 × 256, default filters) with random weights
  (speed does not depend on the weights' values).

Not part of the test suite; needs Chromium and its driver::

    python benchmarks/serve_edit.py [--photo FILE] [--hints 3 | --spots hints.json] [--drags 5]
                                    [--opens 3] [--screenshot page.png]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from chromium import start_chromium, wait_for

from colorlib.cli import serve, studio

#: Where the hints go, as fractions of the photo's width and height, and their colours.
HINT_SPOTS = ((0.3, 0.35, "#c0392b"), (0.65, 0.6, "#3a7bd5"), (0.5, 0.85, "#27ae60"), (0.8, 0.2, "#f1c40f"))
DEFAULT_PHOTO = Path(__file__).resolve().parent.parent.parent / "shared/data/benchmarks/kodak24/kodim05.png"


def hint_colorizer():
    """A hint-aware U-Net colorizer at the real shapes, random weights."""
    from colorlib.archs import colorizer_arch, unet_arch

    encoder = colorizer_arch.build_encoder(None, name="efficientnet_lite0")
    channels = unet_arch.feature_channels(colorizer_arch.multiscale_encoder(encoder))
    return colorizer_arch.build_colorizer(encoder, unet_arch.build_unet(channels=channels, hints=True))


def measure(
    model, photo: Path, spots: tuple, drags: int, opens: int, screenshot: Path | None, profile: Path
) -> tuple[list[float], list[float]]:
    """Per-edit milliseconds as the page measured them (each click, then each drag step), and the
    milliseconds from choosing each of ``opens`` other photos of the folder to its first colours."""
    import uvicorn
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    photos = studio.folder_photos(photo.parent)
    page_studio = studio.Studio(
        model, profile / "results", photos, description=serve.describe(model, "benchmark")
    )
    page_studio.warm_up()  # as colorlib serve does before it prints its address
    server = uvicorn.Server(
        uvicorn.Config(serve.create_app(page_studio), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the server")
    port = server.servers[0].sockets[0].getsockname()[1]
    browser = start_chromium(profile / "chromium")
    browser.set_window_size(1400, 1000)
    times, open_times = [], []
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait_for(lambda: browser.execute_script("return document.body.dataset.ready"), "the page")

        def renders() -> int:
            return int(browser.execute_script("return Number(document.body.dataset.renders || 0)"))

        def edit_done(before: int) -> float:
            wait_for(
                lambda: (
                    renders() > before
                    and browser.execute_script("return document.body.dataset.busy") == "false"
                ),
                "an edit",
            )
            return float(browser.execute_script("return document.body.dataset.editMs"))

        def open_photo(name: str) -> float:
            before = renders()
            Select(browser.find_element(By.ID, "folder")).select_by_value(name)
            wait_for(lambda: renders() > before and browser.title.startswith(name), f"{name} to open")
            edit_done(before)
            return float(browser.execute_script("return document.body.dataset.openMs"))

        open_times.append(open_photo(photo.name))
        browser.execute_script(
            "const s = document.getElementById('compare'); s.value = 70; s.dispatchEvent(new Event('input'))"
        )
        stage = browser.find_element(By.ID, "stage")
        for fx, fy, colour in spots:
            browser.execute_script(f"document.getElementById('colour').value = '{colour}'")
            box = stage.rect
            before = renders()
            offset = (int((fx - 0.5) * box["width"]), int((fy - 0.5) * box["height"]))
            ActionChains(browser).move_to_element_with_offset(stage, *offset).click().perform()
            times.append(edit_done(before))
        for _ in range(drags):
            before = renders()
            marker = browser.find_elements(By.CSS_SELECTOR, ".hint")[-1]
            ActionChains(browser).click_and_hold(marker).move_by_offset(6, 4).release().perform()
            times.append(edit_done(before))
        if screenshot is not None:
            browser.save_screenshot(str(screenshot))
        others = [name for name in sorted(photos) if name != photo.name][:opens]
        open_times += [open_photo(name) for name in others]
    finally:
        browser.quit()
        server.should_exit = True
        thread.join(10)
    return times, open_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--hints", type=int, default=3, choices=range(1, len(HINT_SPOTS) + 1))
    parser.add_argument(
        "--spots",
        type=Path,
        help="a hints file (colorize's JSON) for --photo: where to click, in which colours",
    )
    parser.add_argument("--drags", type=int, default=5)
    parser.add_argument("--opens", type=int, default=3, help="other photos of the folder to open and time")
    parser.add_argument("--model", help="a trained hint colorizer (.keras) instead of the shipped one")
    parser.add_argument("--random", action="store_true", help="a hint U-Net with random weights instead")
    parser.add_argument(
        "--screenshot", type=Path, help="save the floor's page here and the hint decoder's as NAME-hints.png"
    )
    parser.add_argument(
        "--runtime",
        choices=("keras", "onnx"),
        default="keras",
        help="onnx: the shipped colorizer on ONNX Runtime alone, in a process without TensorFlow "
        "(what colorlib serve runs by default); keras: the floor and the hint decoder on Keras",
    )
    args = parser.parse_args()
    if not args.photo.is_file():
        parser.error(f"No photo at {args.photo}; give one with --photo.")
    import json

    from PIL import Image

    from colorlib.colorize.hintfile import read_hints

    spots = HINT_SPOTS[: args.hints]
    if args.spots is not None:
        with Image.open(args.photo) as photo:
            width, height = photo.size
        try:
            read_hints(args.spots, (width, height))  # refuses a bad file, naming the entry
        except (FileNotFoundError, ValueError) as error:
            parser.error(str(error))
        entries = json.loads(args.spots.read_text())
        spots = tuple((entry["x"] / width, entry["y"] / height, entry["color"]) for entry in entries)

    if args.runtime == "onnx":
        from colorlib.colorize import onnxmodel

        colorizers = {"shipped, ONNX Runtime": onnxmodel.OnnxColorizer(onnxmodel.shipped_onnx())}
    else:
        colorizers = keras_colorizers(args)
    report(args, spots, colorizers)


def keras_colorizers(args: argparse.Namespace) -> dict:
    """The floor (the shipped U-Net without its head) and the hint decoder, on Keras."""
    from colorlib.archs import colorizer_arch, hintspread_arch
    from colorlib.colorize import colorize, pretrained

    shipped = pretrained.load_pretrained()
    encoder, decoder = colorizer_arch.split_colorizer(shipped)
    hints = shipped
    if args.model:
        hints = colorize.load_colorizer(args.model)
    elif args.random:
        hints = hint_colorizer()
    colorizers = {
        "floor (shipped U-Net)": colorizer_arch.build_colorizer(
            encoder, hintspread_arch.automatic_decoder(decoder)
        ),
        "hint decoder": hints,
    }
    return colorizers


def report(args: argparse.Namespace, spots: tuple, colorizers: dict) -> None:
    """Measure each colorizer on the page and print the rows."""
    import tempfile

    rows = []
    for number, (name, model) in enumerate(colorizers.items()):
        with tempfile.TemporaryDirectory() as folder:
            shot = None
            if args.screenshot is not None:  # the floor's page, then the hint decoder's beside it
                shot = (
                    args.screenshot
                    if number == 0
                    else args.screenshot.with_stem(args.screenshot.stem + "-hints")
                )
            times, open_times = measure(model, args.photo, spots, args.drags, args.opens, shot, Path(folder))
        rows.append((name, times, open_times))
    print(f"\nIn Chromium, {args.photo.name} ({len(spots)} clicks, {args.drags} drags), then opening photos:")
    print(
        f"{'colorizer':<28} {'edit median ms':>15} {'slowest':>8} {'edits':>6}"
        f" {'open median ms':>15} {'slowest':>8}"
    )
    for name, times, open_times in rows:
        print(
            f"{name:<28} {statistics.median(times):>15.0f} {max(times):>8.0f} {len(times):>6}"
            f" {statistics.median(open_times):>15.0f} {max(open_times):>8.0f}"
        )
    if args.screenshot:
        print(f"Screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
