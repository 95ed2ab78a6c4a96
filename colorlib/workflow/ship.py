"""Choosing the colorizer that ships with colorlib, and writing it into the package (``colorlib ship``).

The rule: a run qualifies when its model is above the gray baseline on PSNR **and** on AuC on
every set it was scored on (the test split and each benchmark). Among qualifying models the
one whose colours are closest in strength to the originals' wins: the lowest ΔCF, as the
papers count it (the mean colorfulness of all outputs minus that of all originals, on the test
split). The shipped model is replaced only by a better one, so the repository keeps one set of
weights; a model that takes colour hints also replaces one that does not when it is as good
without hints (:func:`stays`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from colorlib.core.params import Params
from colorlib.training.models import model_for
from colorlib.workflow.evaluate import evaluate_run
from colorlib.workflow.runs import load_run_model

#: The method names in a run's metrics tables.
MODEL, GRAY = "model", "gray"
#: The set that breaks ties between qualifying models.
TEST_SET = "test"
#: "At least as good" allows this much (dB, AuC points, colorfulness units): the scores' rounding.
SCORE_TOLERANCE = 0.01


def delta_cf(summary: Mapping[str, Any]) -> float:
    """ΔCF as DDColor's Table 1 counts it: |mean colorfulness of the outputs − that of the originals|."""
    return abs(float(summary["colorfulness"]) - float(summary["colorfulness_truth"]))


def shortfalls(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
    """Why a run's model does not qualify (empty when it does): each set and metric where it is not above
    gray."""
    found = []
    for set_name, table in tables.items():
        for metric in ("psnr", "auc"):
            model, gray = float(table[MODEL][metric]), float(table[GRAY][metric])
            if not model > gray:
                found.append(f"{set_name}: {metric} {model:.2f} is not above gray's {gray:.2f}")
    if TEST_SET not in tables:
        found.append("it was not scored on the test split")
    return found


def manifest_scores(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The model's and the baselines' numbers per set, as the manifest and the model card keep them."""
    return {
        set_name: {method: {**summary, "delta_cf": delta_cf(summary)} for method, summary in table.items()}
        for set_name, table in tables.items()
    }


def stays(
    shipped: Mapping[str, Any], tables: Mapping[str, Mapping[str, Mapping[str, Any]]], takes_hints: bool
) -> str | None:
    """Why the ``shipped`` colorizer (its manifest) stays against a qualifying run's ``tables``; None
    when the run replaces it.

    A run replaces it with a lower test ΔCF; or, when the run takes colour hints and the shipped
    one does not, by being at least as good without hints: on every set the shipped one was
    scored on, PSNR and AuC no lower and ΔCF no higher, within :data:`SCORE_TOLERANCE` (issue 19:
    the shipped colorizer takes hints once a hint model is as good with none).
    """
    old = shipped["scores"]
    new_cf, old_cf = delta_cf(tables[TEST_SET][MODEL]), float(old[TEST_SET][MODEL]["delta_cf"])
    if new_cf < old_cf:
        return None
    name = shipped.get("run_name")
    if not takes_hints or shipped.get("hints"):
        return (
            f"The shipped colorizer ('{name}') has test ΔCF {old_cf:.2f}; this run's {new_cf:.2f} is not "
            "lower, so the shipped one stays."
        )
    worse = []
    for set_name, table in old.items():
        if set_name not in tables:
            worse.append(f"{set_name}: not scored")
            continue
        new_model, old_model = tables[set_name][MODEL], table[MODEL]
        for metric in ("psnr", "auc"):
            if float(new_model[metric]) < float(old_model[metric]) - SCORE_TOLERANCE:
                worse.append(
                    f"{set_name}: {metric} {float(new_model[metric]):.2f} < {float(old_model[metric]):.2f}"
                )
        if delta_cf(new_model) > float(old_model["delta_cf"]) + SCORE_TOLERANCE:
            worse.append(f"{set_name}: ΔCF {delta_cf(new_model):.2f} > {float(old_model['delta_cf']):.2f}")
    if worse:
        return (
            f"This hint colorizer is not as good without hints as the shipped one ('{name}'): "
            f"{'; '.join(worse)}. The shipped one stays."
        )
    return None


def ship_run(
    params: Params,
    params_file: str | None = None,
    folder: Path | str | None = None,
    today: date | None = None,
) -> Path:
    """Write the run's decoder into the package as the shipped colorizer; the weights file's path.

    The run must be trained and scored (``make pipeline PARAMS=...``). Raises ValueError saying
    why when its model does not qualify (:func:`shortfalls`) or does not replace the one
    shipped now (:func:`stays`), and when its encoder is not one whose weights install with
    colorlib (EfficientNet-Lite0).
    """
    from colorlib.archs import colorizer_arch
    from colorlib.colorize import pretrained

    folder = Path(folder) if folder is not None else pretrained.PRETRAINED_DIR
    if params.encoder != "efficientnet_lite0" or params.encoder_weights != "imagenet":
        raise ValueError(
            "Only a model on the EfficientNet-Lite0 encoder with its ImageNet weights can ship: its weights "
            f"install with colorlib. This run has encoder {params.encoder} with weights "
            f"{params.encoder_weights}."
        )
    tables = evaluate_run(params, progress=False).tables
    problems = shortfalls(tables)
    if problems:
        reasons = "; ".join(problems)
        raise ValueError(f"The model of run '{params.run_name}' does not qualify: {reasons}.")
    if (folder / pretrained.MANIFEST_FILE).is_file():
        shipped = pretrained.read_manifest(folder)
        if shipped.get("run_name") != params.run_name:
            refusal = stays(shipped, tables, model_for(params).reads_hints)
            if refusal:
                raise ValueError(refusal)
    decoder = colorizer_arch.split_colorizer(load_run_model(params))[1]
    manifest = {
        "run_name": params.run_name,
        "params_file": params_file,
        "encoder": params.encoder,
        "image_size": params.image_size,
        "decoder": params.decoder,
        "attention": params.attention,
        "hints": params.hints,
        "hint_spread": params.hint_spread,
        "loss": params.loss,
        "epochs": params.epochs,
        "gan_epochs": model_for(params).adversarial_epochs,
        "shipped_on": (today or date.today()).isoformat(),
        "scores": manifest_scores(tables),
    }
    return pretrained.save_pretrained(decoder, manifest, folder)
