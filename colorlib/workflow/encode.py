"""Notebook 02: the run's frozen encoder and its cached features (and the batches notebook 03 reads)."""

from __future__ import annotations

from typing import Any

from colorlib import steps
from colorlib.io import read_json
from colorlib.params import Params
from colorlib.workflow.prepare import load_split
from colorlib.workflow.runs import NOTEBOOKS, require, run_paths, upstream_key

#: Images per encoder pass when extracting features: large batches use the CPU or GPU best.
ENCODER_BATCH_SIZE = 32


#: The splits whose features are cached for training.
FEATURE_SPLITS = ("train", "validation")


def encoder_step(params: Params) -> steps.Step:
    key = steps.key(
        "encoder",
        encoder=params.encoder,
        weights=params.encoder_weights,
        image_size=params.image_size,
        seed=params.seed,
    )
    return steps.Step(run_paths(params).encoder_json, key)


def build_run_encoder(params: Params):
    """The run's frozen encoder, built once and saved to ``encoder.weights.h5``.

    Later steps load exactly these weights, which matters when they are random.
    """
    import keras

    from colorlib import models
    from colorlib.io import atomic_write

    paths = run_paths(params)
    step = encoder_step(params)
    if step.done() and paths.encoder_weights.is_file():
        return load_run_encoder(params)
    keras.utils.set_random_seed(params.seed)
    encoder = models.build_encoder(params.encoder_weights, params.image_size, params.encoder)
    with atomic_write(paths.encoder_weights, suffix=".weights.h5") as temporary:
        encoder.save_weights(temporary)
    step.finish({"encoder": params.encoder, "fingerprint": models.weights_fingerprint(encoder)})
    return encoder


def load_run_encoder(params: Params):
    """The encoder saved by notebook 02."""
    from colorlib import models

    paths = run_paths(params)
    require(paths.encoder_weights, NOTEBOOKS["encoder"])
    encoder = models.build_encoder(None, params.image_size, params.encoder)
    encoder.load_weights(paths.encoder_weights)
    return encoder


def decoder_key_inputs(params: Params, *names: str) -> dict[str, Any]:
    """Step-key inputs for the U-Net (``skips``, ``decoder``, ``attention``); none for the seed
    decoder, so that its runs keep their keys."""
    if params.decoder == "seed":
        return {}
    values = {"skips": True, "decoder": params.decoder, "attention": params.attention}
    return {name: values[name] for name in names}


def features_step(params: Params) -> steps.Step:
    """Features depend on the split, the encoder, the augmentation settings and the photos' stamps."""
    split = load_split(params)
    files = [path for name in FEATURE_SPLITS for path in split[name]]
    key = steps.key(
        "features",
        split=read_json(run_paths(params).dataset_json)["key"],
        encoder=upstream_key(encoder_step(params), NOTEBOOKS["encoder"]),
        views=params.views,
        seed=params.seed,
        max_rotation=params.max_rotation,
        photos=steps.file_stamps(files),
        **decoder_key_inputs(params, "skips"),
    )
    return steps.Step(run_paths(params).features_dir / "step.json", key)


def extract_run_features(params: Params, encoder, shard: str | None = None, progress: bool = True):
    """Cache the encoder features of the training and validation photos (notebook 02).

    Training photos get ``params.views`` views (the photo plus augmented copies);
    validation photos only the photo itself. For ``decoder: unet`` the cache also holds
    the skip features and L (the multiscale version of ``encoder``). Features already in the shared cache
    (``params.cache_dir``) for the same image content, size, augmentation and encoder
    weights are reused. ``shard="i/n"`` extracts only this worker's part.
    Returns ``{"train": FeatureIndex, "validation": FeatureIndex}``.
    """
    from colorlib import features

    paths = run_paths(params)
    step = features_step(params)
    if shard is None and step.done():
        return features.load_run_indexes(paths.features_dir, FEATURE_SPLITS)
    split = load_split(params)
    if params.decoder == "unet":
        from colorlib import models

        encoder = models.multiscale_encoder(encoder)
    indexes = features.extract_splits(
        {name: split[name] for name in FEATURE_SPLITS},
        encoder,
        paths.features_dir,
        cache_dir=params.cache_dir,
        views=params.views,
        seed=params.seed,
        max_rotation=params.max_rotation,
        batch_size=ENCODER_BATCH_SIZE,
        shard=shard,
        progress=progress,
    )
    if all(index.part is None for index in indexes.values()):
        step.finish({name: index.digest() for name, index in indexes.items()})
    return indexes


def training_datasets(params: Params) -> tuple:
    """``(train, validation)``: batches of (cached features, ab) for ``model.fit`` (notebook 03).

    Each is a :class:`colorlib.featuredata.FeatureDataset`; the training one is shuffled.
    """
    from colorlib import featuredata

    features_dir = require(run_paths(params).features_dir, NOTEBOOKS["features"])
    datasets = featuredata.run_datasets(features_dir, params.batch_size, params.seed)
    return datasets["train"], datasets["validation"]
