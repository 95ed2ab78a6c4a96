"""Scoring colorized photos against the truth: PSNR, SSIM, colorfulness, AuC of the ab error.

Protocol (``colorlib evaluate TRUTH_DIR PRED_DIR``):

- Truth and prediction are paired by file stem, whatever the extension
  (``kodim01.png`` scores against ``kodim01.jpg``). A file with no partner, a stem
  used by several files of one folder, and a file that cannot be read are each
  reported on one line and skipped; they are counted in ``EvaluationResult.skipped``.
- Both images are read at full resolution by :func:`colorlib.data.images.open_image`, resized
  to ``size × size`` with Pillow's bicubic filter (default 256) and scored as 8-bit sRGB.
- A truth image with no colour (:func:`colorlib.data.images.is_grayscale`) is reported and left
  out: it has no colours to compare with.
- Each summary value is the mean over the scored images; ``delta_colorfulness`` is the
  mean of the per-image ``|colorfulness - colorfulness_truth|`` (each photo's own gap), and
  ``delta_cf`` is ΔCF as the papers count it (DDColor's Table 1): the gap between the mean
  colorfulness of the outputs and that of the originals, ``|colorfulness - colorfulness_truth|``
  of the means. A set where some photos are too vivid and others too dull has a small ΔCF and a
  large per-photo gap.
- Identical images have an infinite PSNR. It is replaced by :data:`PSNR_CAP_DB` (and any
  PSNR above it is lowered to it), so one perfect image cannot make the mean infinite;
  ``EvaluationResult.n_capped`` counts the images that were capped.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from tqdm import tqdm

from colorlib.color.lab import check_rgb8, rgb_to_lab_fast
from colorlib.core.config import IMAGE_SIZE, PIXEL_MAX
from colorlib.core.io import atomic_write
from colorlib.data.images import ImageLoadError, is_grayscale, list_images, open_image

#: PSNR given to identical images (whose PSNR is infinite), and the most any image gets, in dB.
PSNR_CAP_DB = 100.0
#: The AuC sweeps the ab-error thresholds t = 0, 1, ..., AUC_MAX_THRESHOLD (CIE ab units).
AUC_MAX_THRESHOLD = 150
#: Weight of the mean term in the colorfulness of Hasler and Süsstrunk (2003).
COLORFULNESS_MEAN_WEIGHT = 0.3
#: Smallest image side SSIM accepts (its default 7 × 7 window).
SSIM_MIN_SIZE = 7
#: A method is called desaturated when its colorfulness is below this fraction of the truth's.
DESATURATED_FRACTION = 0.8

#: Per-image metrics, in the order of the CSV columns and the summary.
METRIC_KEYS = ("psnr", "ssim", "colorfulness", "colorfulness_truth", "delta_colorfulness", "auc")
#: Keys of the summary (the JSON of ``colorlib evaluate --json``): the means, then the papers' ΔCF.
SUMMARY_KEYS = ("n", *METRIC_KEYS, "delta_cf")
#: Column titles of the tables, with the direction that is better.
METRIC_TITLES = {
    "psnr": "PSNR (dB) ↑",
    "ssim": "SSIM ↑",
    "colorfulness": "Colorfulness",
    "colorfulness_truth": "Colorfulness of truth",
    "delta_colorfulness": "|Δ colorfulness| per photo ↓",
    "delta_cf": "ΔCF (papers) ↓",
    "auc": "AuC of ab error (%) ↑",
}


def _check_pair(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, pred = check_rgb8(truth, "truth"), check_rgb8(pred, "prediction")
    if truth.shape != pred.shape:
        raise ValueError(
            f"Truth {truth.shape} and prediction {pred.shape} differ in size; resize both first."
        )
    return truth, pred


def psnr(truth: np.ndarray, pred: np.ndarray) -> float:
    """PSNR in dB of two uint8 (H, W, 3) images over all channels, at most :data:`PSNR_CAP_DB`."""
    truth, pred = _check_pair(truth, pred)
    if np.array_equal(truth, pred):
        return PSNR_CAP_DB
    value = peak_signal_noise_ratio(truth, pred, data_range=PIXEL_MAX)
    return min(PSNR_CAP_DB, float(value))


def ssim(truth: np.ndarray, pred: np.ndarray) -> float:
    """SSIM of two uint8 (H, W, 3) images, scikit-image over the 3 channels; 1 when identical."""
    truth, pred = _check_pair(truth, pred)
    if min(truth.shape[:2]) < SSIM_MIN_SIZE:
        raise ValueError(f"SSIM needs images of at least {SSIM_MIN_SIZE}×{SSIM_MIN_SIZE} pixels.")
    return float(structural_similarity(truth, pred, channel_axis=-1, data_range=PIXEL_MAX))


def colorfulness(rgb: np.ndarray) -> float:
    """Colorfulness of a uint8 (H, W, 3) RGB image (Hasler and Süsstrunk, 2003); 0 for gray.

    The absolute-value form of DDColor's code, on 0-255 values: ``rg = |R - G|``,
    ``yb = |(R + G) / 2 - B|``, ``CF = sqrt(σrg² + σyb²) + 0.3 sqrt(μrg² + μyb²)``
    with population standard deviations over all pixels.
    """
    values = check_rgb8(rgb).astype(np.float64)
    red, green, blue = values[..., 0], values[..., 1], values[..., 2]
    rg = np.abs(red - green)
    yb = np.abs(0.5 * (red + green) - blue)
    spread = np.hypot(rg.std(), yb.std())
    return float(spread + COLORFULNESS_MEAN_WEIGHT * np.hypot(rg.mean(), yb.mean()))


def ab_error_curve(truth_ab: np.ndarray, pred_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative ab-error curve of Zhang et al. (2016).

    ``truth_ab``, ``pred_ab``: CIE ab (not normalized), float (..., 2) of the same shape.
    Returns ``thresholds`` (0, 1, ..., 150) and ``fractions``: for each threshold t, the
    fraction of pixels whose Euclidean ab error is at most t, in [0, 1].
    """
    truth_ab = np.asarray(truth_ab, dtype=np.float64)
    pred_ab = np.asarray(pred_ab, dtype=np.float64)
    if truth_ab.shape != pred_ab.shape or truth_ab.shape[-1:] != (2,) or truth_ab.size == 0:
        raise ValueError(
            f"Expected two ab arrays (..., 2) of the same shape, got {truth_ab.shape} and {pred_ab.shape}."
        )
    difference = truth_ab - pred_ab
    errors = np.sort(np.hypot(difference[..., 0], difference[..., 1]).ravel())
    thresholds = np.arange(AUC_MAX_THRESHOLD + 1, dtype=np.float64)
    fractions = np.searchsorted(errors, thresholds, side="right") / errors.size
    return thresholds, fractions


def auc_from_ab(truth_ab: np.ndarray, pred_ab: np.ndarray) -> float:
    """Area under the ab-error curve, normalized to 100 (identical ab gives 100).

    AuC = 100 × the mean of the curve over its 151 thresholds t = 0, 1, ..., 150
    (:func:`ab_error_curve`). So a constant error d for every pixel, 0 < d ≤ 150, gives
    ``100 × (151 - ceil(d)) / 151``, and an error above 150 everywhere gives 0.
    """
    return float(100.0 * np.mean(ab_error_curve(truth_ab, pred_ab)[1]))


def _ab(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab_fast(rgb.astype(np.float32) / np.float32(PIXEL_MAX))[..., 1:]


def ab_error_auc(truth: np.ndarray, pred: np.ndarray) -> float:
    """:func:`auc_from_ab` of two uint8 (H, W, 3) sRGB images, converted to CIE LAB."""
    truth, pred = _check_pair(truth, pred)
    return auc_from_ab(_ab(truth), _ab(pred))


def score_pair(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every per-image metric (:data:`METRIC_KEYS`) of two uint8 (H, W, 3) images of one size."""
    truth, pred = _check_pair(truth, pred)
    cf, cf_truth = colorfulness(pred), colorfulness(truth)
    return {
        "psnr": psnr(truth, pred),
        "ssim": ssim(truth, pred),
        "colorfulness": cf,
        "colorfulness_truth": cf_truth,
        "delta_colorfulness": abs(cf - cf_truth),
        "auc": ab_error_auc(truth, pred),
    }


def load_for_scoring(path: Path | str, size: int = IMAGE_SIZE) -> np.ndarray:
    """Read an image at full resolution, resize it bicubic to ``size × size``: uint8 (size, size, 3)."""
    image = open_image(path)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


def summarize(per_image: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over the images: a dict with :data:`SUMMARY_KEYS` (None when empty)."""
    summary: dict[str, Any] = {"n": len(per_image)}
    for key in METRIC_KEYS:
        summary[key] = float(np.mean([row[key] for row in per_image])) if per_image else None
    summary["delta_cf"] = abs(summary["colorfulness"] - summary["colorfulness_truth"]) if per_image else None
    return summary


@dataclass
class EvaluationResult:
    """Scores of a folder of predictions against a folder of truths.

    ``per_image``: one dict per scored pair, ``name`` (the stem), ``truth`` and
    ``prediction`` (paths) plus :data:`METRIC_KEYS`. ``summary``: :data:`SUMMARY_KEYS`.
    ``skipped``: ``(path, reason)`` of unmatched or unreadable files. ``grayscale``: truth
    images with no colour, left out.
    """

    per_image: list[dict[str, Any]]
    size: int = IMAGE_SIZE
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    grayscale: list[Path] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        """The mean of each metric over the scored images, keyed by :data:`SUMMARY_KEYS`."""
        return summarize(self.per_image)

    @property
    def n_capped(self) -> int:
        """How many images had their PSNR capped at :data:`PSNR_CAP_DB` (identical images)."""
        return sum(row["psnr"] >= PSNR_CAP_DB for row in self.per_image)

    def write_csv(self, path: Path | str) -> Path:
        """Write the per-image values as CSV (name, truth, prediction, metrics), atomically."""
        path = Path(path)
        with atomic_write(path) as temporary, open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["name", "truth", "prediction", *METRIC_KEYS])
            writer.writeheader()
            writer.writerows(self.per_image)
        return path

    @classmethod
    def read_csv(cls, path: Path | str, size: int = IMAGE_SIZE) -> EvaluationResult:
        """The per-image values written by :meth:`write_csv` (skipped files are not kept there)."""
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        per_image = [{**row, **{key: float(row[key]) for key in METRIC_KEYS}} for row in rows]
        return cls(per_image=per_image, size=size)

    def format(self) -> str:
        """A readable summary: what was scored, then one line per metric."""
        summary = self.summary
        lines = [
            f"Scored {summary['n']} image pairs at {self.size}×{self.size} (bicubic, 8-bit sRGB); "
            f"{len(self.skipped)} files skipped, {len(self.grayscale)} grayscale truths left out.",
        ]
        if summary["n"]:
            lines += [f"  {METRIC_TITLES[key]:<30}{summary[key]:10.3f}" for key in SUMMARY_KEYS[1:]]
        if self.n_capped:
            lines.append(f"PSNR capped at {PSNR_CAP_DB} dB for {self.n_capped} image(s) (identical).")
        note = _desaturation_note("The predictions", summary)
        return "\n".join([*lines, note] if note else lines)


def _report(path: Path, reason: str, verbose: bool) -> None:
    if verbose:
        tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)


def _index_by_stem(
    paths: Iterable[Path | str], role: str, skipped: list[tuple[Path, str]], verbose: bool
) -> dict[str, Path]:
    groups: dict[str, list[Path]] = {}
    for path in map(Path, paths):
        groups.setdefault(path.stem, []).append(path)
    index = {}
    for stem, group in groups.items():
        if len(group) == 1:
            index[stem] = group[0]
            continue
        for path in group:
            reason = f"{len(group)} {role} files share the stem '{stem}'; make each stem unique"
            skipped.append((path, reason))
            _report(path, reason, verbose)
    return index


def evaluate(
    truth_paths: Iterable[Path | str],
    pred_paths: Iterable[Path | str],
    size: int = IMAGE_SIZE,
    progress: bool = True,
) -> EvaluationResult:
    """Pair truth and prediction files by stem and score each pair (see the module docstring).

    With ``progress``, a tqdm bar and one stderr line per skipped or grayscale file are shown.
    """
    if size < SSIM_MIN_SIZE:
        raise ValueError(f"The size must be at least {SSIM_MIN_SIZE} pixels (SSIM), got {size}.")
    skipped: list[tuple[Path, str]] = []
    truths = _index_by_stem(truth_paths, "truth", skipped, progress)
    preds = _index_by_stem(pred_paths, "prediction", skipped, progress)
    for stem, path in sorted(truths.items()):
        if stem not in preds:
            skipped.append((path, "no prediction with this file stem"))
            _report(path, skipped[-1][1], progress)
    for stem, path in sorted(preds.items()):
        if stem not in truths:
            skipped.append((path, "no truth image with this file stem"))
            _report(path, skipped[-1][1], progress)
    result = EvaluationResult(per_image=[], size=size, skipped=skipped)
    names = sorted(set(truths) & set(preds))
    for name in tqdm(names, desc="evaluate", unit="image", disable=not progress):
        try:
            truth = load_for_scoring(truths[name], size)
            pred = load_for_scoring(preds[name], size)
        except ImageLoadError as error:
            skipped.append((error.path, error.reason))
            _report(error.path, error.reason, progress)
            continue
        if is_grayscale(truth):
            result.grayscale.append(truths[name])
            if progress:
                tqdm.write(f"left out {truths[name]}: the truth has no colour", file=sys.stderr)
            continue
        row = {"name": name, "truth": str(truths[name]), "prediction": str(preds[name])}
        result.per_image.append(row | score_pair(truth, pred))
    return result


def evaluate_dirs(
    truth_dir: Path | str, pred_dir: Path | str, size: int = IMAGE_SIZE, progress: bool = True
) -> EvaluationResult:
    """:func:`evaluate` the images of ``pred_dir`` against those of ``truth_dir`` (not recursive)."""
    return evaluate(list_images(truth_dir), list_images(pred_dir), size=size, progress=progress)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key == "n":
        return str(int(value))
    return f"{value:.3f}" if key == "ssim" else f"{value:.2f}"


def comparison_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table: one row per method (``results`` maps a name to its summary), metrics as columns."""
    titles = ["Method", "n", *(METRIC_TITLES[key] for key in SUMMARY_KEYS[1:])]
    titles = [title.replace("|", "\\|") for title in titles]  # a pipe ends a Markdown cell
    lines = ["| " + " | ".join(titles) + " |", "|" + "|".join(["---"] + ["---:"] * len(SUMMARY_KEYS)) + "|"]
    for method, summary in results.items():
        cells = [_cell(key, summary.get(key)) for key in SUMMARY_KEYS]
        lines.append("| " + " | ".join([method, *cells]) + " |")
    return "\n".join(lines)


def _desaturation_note(subject: str, summary: Mapping[str, Any]) -> str | None:
    cf, cf_truth = summary.get("colorfulness"), summary.get("colorfulness_truth")
    if cf is None or not cf_truth or cf >= DESATURATED_FRACTION * cf_truth:
        return None
    return (
        f"{subject} are desaturated: colorfulness {cf:.1f} against {cf_truth:.1f} for the truth "
        f"({100 * cf / cf_truth:.0f}%)."
    )


def describe_results(results: Mapping[str, Mapping[str, Any]], model_key: str = "model") -> str:
    """A short written reading of the measured numbers of several methods (``name -> summary``).

    Says which method is best on PSNR, SSIM and AuC, and whether ``model_key`` is
    desaturated (colorfulness below :data:`DESATURATED_FRACTION` of the truth's); when it
    is, it says that MSE regression of ab is known to do this (Zhang et al., 2016).
    """
    scored = {name: s for name, s in results.items() if s.get("n")}
    if not scored:
        return "No method has scored images."
    sentences = []
    for key in ("psnr", "ssim", "auc"):
        best = max(scored, key=lambda name: scored[name][key])
        title = METRIC_TITLES[key].rstrip(" ↑")
        sentences.append(f"Best {title}: {best} ({_cell(key, scored[best][key])}).")
    model = scored.get(model_key)
    if model is not None:
        note = _desaturation_note(f"The {model_key}'s colours", model)
        if note:
            sentences.append(
                note + " Regressing ab with an MSE loss is known to give desaturated colours "
                "(Zhang et al., 2016): where several colours are plausible, the loss is lowest "
                "at their average, which lies close to gray. PSNR rewards this caution, so read "
                "it next to colorfulness."
            )
        else:
            sentences.append(
                f"The {model_key}'s colorfulness ({model['colorfulness']:.1f}) is not clearly "
                f"below the truth's ({model['colorfulness_truth']:.1f}): no desaturation shows."
            )
        beaten = [name for name, s in scored.items() if name != model_key and s["psnr"] > model["psnr"]]
        if beaten:
            sentences.append(f"On PSNR the {model_key} is beaten by: {', '.join(beaten)}.")
    return " ".join(sentences)
