"""The steps of a run, shared by the ``colorlib`` command and notebooks 01-05.

One module per stage, and this package gathers what the notebooks and the command call, so a
cell reads ``workflow.prepare_dataset(params)``: :mod:`.runs` (the run folder, its files and
models read back), :mod:`.keys` (every step's key), :mod:`.prepare` (01), :mod:`.encode` (02),
:mod:`.train` (03) and :mod:`.evaluate` (04, 05).

Each step reads the artifacts of the one before from the run folder
(``params.run_dir``) and writes its own atomically. Every step skips work the same
way (:mod:`colorlib.core.steps`): its record holds a key, the hash of everything it depends
on, and a step whose record has the current key is not done again. A change to any input
redoes exactly the steps downstream of it: a new seed gives a new split, so new
features, a new model, new outputs and a new mean-ab baseline; an edited photo gives
new features (only that photo is re-encoded) and a new model, but the same split.

=====================  ===========================================  ==========
step                   writes (the step record first)               notebook
=====================  ===========================================  ==========
prepare_dataset        dataset.json, split.json                     01
build_run_encoder      encoder.json, encoder.weights.h5             02
extract_run_features   features/step.json, indexes into the cache   02
class_weights          model/class_weights.json (loss: classif.)    03
train_run              model/step.json, backup/, colorizer.keras    03
                       (the run's scheme, run_model, names the
                       folder: loss: gan trains in model-gan/,
                       after its generator in model/)
colorize_run           outputs/<set>/step.json, the photos          04
evaluate_run           metrics/summary.json, mean_ab.json, CSVs     05
=====================  ===========================================  ==========
"""

from colorlib.workflow.encode import ENCODER_BATCH_SIZE, build_run_encoder, extract_run_features
from colorlib.workflow.evaluate import RunEvaluation, colorize_run, evaluate_run, training_mean_ab
from colorlib.workflow.keys import FEATURE_SPLITS, load_split
from colorlib.workflow.prepare import PreparedDataset, dataset_root, prepare_dataset, shard_dataset
from colorlib.workflow.runs import (
    NOTEBOOKS,
    RunPaths,
    load_run_encoder,
    load_run_model,
    require,
    run_paths,
    training_datasets,
)
from colorlib.workflow.train import (
    build_inputs,
    class_weights,
    run_model,
    save_trained,
    strategy_scope,
    train_run,
    train_start,
    training_callbacks,
)

__all__ = [
    "ENCODER_BATCH_SIZE",
    "FEATURE_SPLITS",
    "NOTEBOOKS",
    "PreparedDataset",
    "RunEvaluation",
    "RunPaths",
    "build_inputs",
    "build_run_encoder",
    "class_weights",
    "colorize_run",
    "dataset_root",
    "evaluate_run",
    "extract_run_features",
    "load_run_encoder",
    "load_run_model",
    "load_split",
    "prepare_dataset",
    "require",
    "run_model",
    "run_paths",
    "save_trained",
    "shard_dataset",
    "strategy_scope",
    "train_run",
    "train_start",
    "training_callbacks",
    "training_datasets",
    "training_mean_ab",
]
