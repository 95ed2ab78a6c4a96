"""The steps of a run, shared by the ``colorlib`` command and notebooks 01-05.

Each step reads the artifacts of the one before from the run folder
(``params.run_dir``), writes its own atomically, and skips work that is already
done with the same inputs, so a run that stopped half-way resumes where it was.

=====================  ========================================  ==========
step                   writes                                    notebook
=====================  ========================================  ==========
prepare_dataset        dataset.json, split.json                  01
build_run_encoder      encoder.weights.h5, encoder.json          02
extract_run_features   features/ (index into the shared cache)   02
train_run              model/ (checkpoints, history, colorizer)  03
colorize_run           outputs/                                  04
evaluate_run           metrics/                                  05
=====================  ========================================  ==========
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorlib import __version__, data
from colorlib.io import read_json, write_json
from colorlib.params import Params

NOTEBOOKS = {
    "dataset": "01_preprocessing",
    "encoder": "02_feature_extraction",
    "features": "02_feature_extraction",
    "model": "03_training",
    "outputs": "04_colorization",
}


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its artifacts."""

    run_dir: Path

    @property
    def dataset_json(self) -> Path:
        return self.run_dir / "dataset.json"

    @property
    def split_json(self) -> Path:
        return self.run_dir / "split.json"

    @property
    def encoder_weights(self) -> Path:
        return self.run_dir / "encoder.weights.h5"

    @property
    def encoder_json(self) -> Path:
        return self.run_dir / "encoder.json"

    @property
    def features_dir(self) -> Path:
        return self.run_dir / "features"

    @property
    def model_dir(self) -> Path:
        return self.run_dir / "model"

    @property
    def colorizer(self) -> Path:
        return self.model_dir / "colorizer.keras"

    @property
    def history_csv(self) -> Path:
        return self.model_dir / "history.csv"

    @property
    def outputs_dir(self) -> Path:
        return self.run_dir / "outputs"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / "metrics"


def run_paths(params: Params) -> RunPaths:
    """The artifact paths of the run ``params`` describes."""
    return RunPaths(params.run_dir)


def require(path: Path, notebook: str) -> Path:
    """``path`` if it exists; otherwise a FileNotFoundError naming the notebook to run first."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing: run notebooks/{notebook}.ipynb first (or the whole chain with "
            "`make pipeline`), with the same parameters."
        )
    return Path(path)


@dataclass
class PreparedDataset:
    """The outcome of notebook 01: the dataset, its split and what was left out."""

    dataset: data.Dataset
    split: dict[str, list[str]]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    grayscale_in_color: list[str] = field(default_factory=list)

    def summary(self, show: int = 5) -> str:
        """A few lines with the counts, naming up to ``show`` grayscale photos left out of training."""
        sizes = ", ".join(f"{name} {len(files)}" for name, files in self.split.items())
        lines = [
            self.dataset.describe(),
            f"split: {sizes}",
            f"left out: {len(self.skipped)} unreadable files, "
            f"{len(self.grayscale_in_color)} grayscale photos found among the colour ones",
        ]
        lines += [f"  grayscale, not used for training: {path}" for path in self.grayscale_in_color[:show]]
        if len(self.grayscale_in_color) > show:
            lines.append(f"  ... and {len(self.grayscale_in_color) - show} more, listed in dataset.json")
        return "\n".join(lines)


def dataset_root(params: Params) -> Path:
    """The dataset folder of a run: ``params.dataset``, or the demo dataset (built on first use)."""
    if params.dataset is None:
        from colorlib import demo

        return demo.build_demo_dataset(params.data_path / "demo")
    return params.resolve(params.dataset)


def _dataset_signature(params: Params, root: Path) -> dict[str, Any]:
    return {
        "dataset": str(root),
        "limit": params.limit,
        "seed": params.seed,
        "validation_fraction": params.validation_fraction,
        "test_fraction": params.test_fraction,
    }


def prepare_dataset(params: Params, progress: bool = True) -> PreparedDataset:
    """Find the photos, check every one, and split the readable colour photos.

    Unreadable files and grayscale photos among the colour ones are reported and left
    out of training. Writes ``dataset.json`` and ``split.json``; when they exist for the
    same dataset and split settings, they are read back instead.
    """
    from colorlib import inputs

    paths = run_paths(params)
    root = dataset_root(params)
    signature = _dataset_signature(params, root)
    dataset = data.find_dataset(root)
    if paths.dataset_json.is_file() and paths.split_json.is_file():
        recorded = read_json(paths.dataset_json)
        if recorded.get("signature") == signature:
            return PreparedDataset(
                dataset=dataset,
                split=read_json(paths.split_json),
                skipped=[tuple(item) for item in recorded["skipped"]],
                grayscale_in_color=recorded["grayscale_in_color"],
            )

    candidates = dataset.color_files
    if params.limit is not None and params.limit < len(candidates):
        chosen = np.random.default_rng(params.seed).choice(len(candidates), params.limit, replace=False)
        candidates = [candidates[index] for index in sorted(chosen)]
    colour, report = inputs.scan_images(candidates, progress=progress, desc="Checking colour photos")
    gray_ok, gray_report = inputs.scan_images(
        dataset.gray_files, progress=progress, desc="Checking grayscale photos"
    )
    if len(colour) < 3:
        raise ValueError(
            f"Only {len(colour)} readable colour photos in {root}; a run needs at least 3 "
            "(train, validation and test)."
        )
    split = data.split_files(colour, params.validation_fraction, params.test_fraction, params.seed)
    # In class 1 every readable photo is colorized, whether or not it carries a tint.
    split["gray"] = [str(path) for path in [*gray_ok, *map(Path, gray_report.grayscale)]]
    split["gray"].sort()
    skipped = report.skipped + gray_report.skipped
    prepared = PreparedDataset(dataset, split, skipped, report.grayscale)
    write_json(paths.split_json, split)
    write_json(
        paths.dataset_json,
        {
            "signature": signature,
            "layout": dataset.layout,
            "color_files": len(dataset.color_files),
            "gray_files": len(dataset.gray_files),
            "used_color_files": len(candidates),
            "skipped": skipped,
            "grayscale_in_color": report.grayscale,
            "colorlib_version": __version__,
        },
    )
    return prepared


def load_split(params: Params) -> dict[str, list[str]]:
    """The split written by notebook 01."""
    return read_json(require(run_paths(params).split_json, NOTEBOOKS["dataset"]))


def build_run_encoder(params: Params):
    """The run's frozen encoder, built once and saved to ``encoder.weights.h5``.

    Later steps load exactly these weights, which matters when they are random.
    """
    import keras

    from colorlib import models

    paths = run_paths(params)
    wanted = {"weights": params.encoder_weights, "image_size": params.image_size, "seed": params.seed}
    if paths.encoder_weights.is_file() and paths.encoder_json.is_file():
        recorded = read_json(paths.encoder_json)
        if {key: recorded.get(key) for key in wanted} == wanted:
            encoder = models.build_encoder(None, params.image_size)
            encoder.load_weights(paths.encoder_weights)
            return encoder
    keras.utils.set_random_seed(params.seed)
    encoder = models.build_encoder(params.encoder_weights, params.image_size)
    from colorlib.io import atomic_write

    with atomic_write(paths.encoder_weights, suffix=".weights.h5") as temporary:
        encoder.save_weights(temporary)
    write_json(paths.encoder_json, {**wanted, "fingerprint": models.weights_fingerprint(encoder)})
    return encoder


def load_run_encoder(params: Params):
    """The encoder saved by notebook 02."""
    from colorlib import models

    paths = run_paths(params)
    require(paths.encoder_weights, NOTEBOOKS["encoder"])
    encoder = models.build_encoder(None, params.image_size)
    encoder.load_weights(paths.encoder_weights)
    return encoder


#: Images per encoder pass when extracting features: large batches use the CPU or GPU best.
ENCODER_BATCH_SIZE = 32


def extract_run_features(params: Params, encoder, shard: str | None = None, progress: bool = True):
    """Cache the encoder features of the training and validation photos (notebook 02).

    Training photos get ``params.views`` views (the photo plus augmented copies);
    validation photos only the photo itself. Features already in the shared cache
    (``params.cache_dir``) for the same image content, size, augmentation and encoder
    weights are reused. ``shard="i/n"`` extracts only this worker's part.
    Returns ``{"train": FeatureIndex, "validation": FeatureIndex}``.
    """
    from colorlib import features

    split = load_split(params)
    return features.extract_splits(
        {"train": split["train"], "validation": split["validation"]},
        encoder,
        run_paths(params).features_dir,
        cache_dir=params.cache_dir,
        views=params.views,
        seed=params.seed,
        max_rotation=params.max_rotation,
        batch_size=ENCODER_BATCH_SIZE,
        shard=shard,
        progress=progress,
    )


def _training_signature(params: Params) -> dict[str, Any]:
    """The settings a checkpoint depends on; epochs and patience may change between sessions."""
    encoder = read_json(require(run_paths(params).encoder_json, NOTEBOOKS["encoder"]))
    return {
        "image_size": params.image_size,
        "batch_size": params.batch_size,
        "learning_rate": params.learning_rate,
        "views": params.views,
        "seed": params.seed,
        "encoder": encoder["fingerprint"],
        "train_files": load_split(params)["train"],
    }


def train_run(params: Params, fresh: bool = False, verbose: int | str = "auto"):
    """Train the decoder from the cached features, then save encoder + decoder (notebook 03).

    Resumes from the last checkpoint in ``model/`` unless ``fresh``; when the training
    settings changed since that checkpoint, it says so and starts over. Saves the full
    colorizer (L -> ab) as ``model/colorizer.keras``. Returns a
    :class:`colorlib.training.TrainResult`.
    """
    from colorlib import distribute, featuredata, features, models, training

    paths = run_paths(params)
    require(features.index_path(paths.features_dir, "train"), NOTEBOOKS["features"])
    signature = _training_signature(params)
    signature_file = paths.model_dir / "settings.json"
    if not fresh and signature_file.is_file() and read_json(signature_file) != signature:
        print(f"The training settings changed since the checkpoint in {paths.model_dir}; starting over.")
        fresh = True
    if fresh:
        training.clear(paths.model_dir)
    write_json(signature_file, signature)

    datasets = featuredata.run_datasets(paths.features_dir, params.batch_size, params.seed)

    def new_decoder():
        return models.compile_model(models.build_decoder(params.image_size), params.learning_rate)

    # The default strategy needs no tf.distribute, so JAX and PyTorch backends train too.
    if params.strategy == "default":
        decoder = new_decoder()
    else:
        decoder = distribute.build_in_scope(distribute.get_strategy(params.strategy), new_decoder)
    result = training.train(
        decoder,
        datasets["train"],
        datasets["validation"],
        paths.model_dir,
        epochs=params.epochs,
        batch_size=params.batch_size,
        patience=params.patience,
        seed=params.seed,
        verbose=verbose,
    )
    state = training.read_state(paths.model_dir) or {}
    saved = read_json(paths.colorizer.with_suffix(".json")) if paths.colorizer.is_file() else None
    if saved != state:
        colorizer = models.build_colorizer(load_run_encoder(params), result.model, params.learning_rate)
        training.save_model(colorizer, paths.colorizer)
        write_json(paths.colorizer.with_suffix(".json"), state)
    return result


def load_run_model(params: Params):
    """The trained colorizer saved by notebook 03 (L -> ab, encoder and decoder together)."""
    from colorlib import models

    return models.load_model(require(run_paths(params).colorizer, NOTEBOOKS["model"]))


def _model_stamp(path: Path) -> dict[str, Any]:
    """Identifies a saved model file cheaply: its size and modification time."""
    stat = Path(path).stat()
    return {"model": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _colorize_set(params: Params, inputs: list[str], out_dir: Path, progress: bool) -> list[Path]:
    """Colorize ``inputs`` into ``out_dir`` unless the same model file already did."""
    from colorlib import colorize

    stamp = _model_stamp(require(run_paths(params).colorizer, NOTEBOOKS["model"]))
    done_file = out_dir / "done.json"
    if done_file.is_file():
        done = read_json(done_file)
        if done.get("stamp") == stamp and done.get("inputs") == inputs:
            return [Path(path) for path in done["written"]]
    if not inputs:
        return []
    report = colorize.colorize_files(
        load_run_model(params), inputs, out_dir, batch_size=params.batch_size, progress=progress
    )
    print(f"{out_dir.name}: {report.summary()}")
    write_json(
        done_file,
        {
            "stamp": stamp,
            "inputs": inputs,
            "written": [str(path) for path in report.written],
            "failed": report.failed,
        },
    )
    return report.written


def colorize_run(params: Params, progress: bool = True) -> dict[str, list[Path]]:
    """Colorize the held-back test photos and the real grayscale photos (``class 1``).

    Outputs go to ``outputs/test/`` and ``outputs/gray/`` with the input file names.
    A set already colorized by the same model file is not done again.
    """
    split = load_split(params)
    outputs_dir = run_paths(params).outputs_dir
    return {
        name: _colorize_set(params, split.get(name, []), outputs_dir / name, progress)
        for name in ("test", "gray")
    }


@dataclass
class RunEvaluation:
    """Notebook 05's numbers: for each image set, each method's summary and per-image scores."""

    #: ``tables[set_name][method] = summary`` with the keys of :data:`colorlib.metrics.SUMMARY_KEYS`.
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: ``results[set_name][method]``: the full :class:`colorlib.metrics.EvaluationResult`.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    mean_ab: tuple[float, float] = (0.0, 0.0)


def training_mean_ab(params: Params, progress: bool = True) -> tuple[float, float]:
    """Mean CIE (a, b) of the training photos (the mean-ab baseline), cached in ``metrics/``."""
    from colorlib import baselines

    path = run_paths(params).metrics_dir / "mean_ab.json"
    split = load_split(params)
    if path.is_file() and read_json(path).get("train") == len(split["train"]):
        return tuple(read_json(path)["mean_ab"])
    value = baselines.mean_ab(split["train"], params.image_size, progress=progress)
    write_json(path, {"train": len(split["train"]), "mean_ab": list(value)})
    return value


def _score_set(
    params: Params,
    set_name: str,
    truths: list[str],
    predictions: list[Path],
    mean_ab: tuple[float, float],
    progress: bool,
) -> dict[str, Any]:
    from colorlib import baselines, metrics

    results = {"model": metrics.evaluate(truths, predictions, progress=progress)}
    out_root = run_paths(params).outputs_dir / "baselines" / set_name
    results |= baselines.evaluate_baselines(truths, out_root, mean_ab, progress=progress)
    metrics_dir = run_paths(params).metrics_dir
    for method, result in results.items():
        result.write_csv(metrics_dir / f"{set_name}_{method.replace(' ', '_')}.csv")
    return results


def evaluate_run(params: Params, progress: bool = True) -> RunEvaluation:
    """Score the model and the baselines (gray, mean ab of the training set) with the same code.

    The test photos of the run are always scored; the folder ``params.benchmark`` (say
    Kodak24) too when it is set: it is colorized into ``outputs/benchmark/`` first.
    Writes ``metrics/summary.json`` and per-image CSV files.
    """
    paths = run_paths(params)
    split = load_split(params)
    outputs = colorize_run(params, progress=progress)
    evaluation = RunEvaluation(mean_ab=training_mean_ab(params, progress=progress))
    sets = {"test": (split["test"], outputs["test"])}
    if params.benchmark:
        bench_dir = params.resolve(params.benchmark)
        truths = [str(path) for path in data.list_images(bench_dir)]
        out_dir = paths.outputs_dir / "benchmark" / bench_dir.name
        sets[bench_dir.name] = (truths, _colorize_set(params, truths, out_dir, progress))
    for set_name, (truths, predictions) in sets.items():
        results = _score_set(params, set_name, truths, predictions, evaluation.mean_ab, progress)
        evaluation.results[set_name] = results
        evaluation.tables[set_name] = {method: result.summary for method, result in results.items()}
    write_json(paths.metrics_dir / "summary.json", {"mean_ab": evaluation.mean_ab, **evaluation.tables})
    return evaluation
