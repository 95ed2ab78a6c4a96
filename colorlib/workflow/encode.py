"""Notebook 02: the run's frozen encoder and its cached features (and the batches notebook 03 reads)."""

from __future__ import annotations

from colorlib.core.config import EXTRA_TRAIN_SPLIT
from colorlib.core.params import Params
from colorlib.training.models import model_for
from colorlib.workflow.keys import encoder_step, feature_splits, features_step, load_split
from colorlib.workflow.runs import load_run_encoder, run_paths

#: Images per encoder pass when extracting features: large batches use the CPU or GPU best.
ENCODER_BATCH_SIZE = 32


def build_run_encoder(params: Params):
    """The run's frozen encoder, built once and saved to ``encoder.weights.h5``.

    Later steps load exactly these weights, which matters when they are random.
    """
    import keras

    from colorlib.archs import colorizer_arch
    from colorlib.core.io import atomic_write
    from colorlib.training import distribute

    paths = run_paths(params)
    step = encoder_step(params)
    ready = step.done() and paths.encoder_weights.is_file()
    distribute.barrier("the encoder checked")  # several processes: process 0 writes, the others read
    if ready:
        return load_run_encoder(params)
    if distribute.is_chief():
        keras.utils.set_random_seed(params.seed)
        encoder = colorizer_arch.build_encoder(params.encoder_weights, params.image_size, params.encoder)
        with atomic_write(paths.encoder_weights, suffix=".weights.h5") as temporary:
            encoder.save_weights(temporary)
        fingerprint = colorizer_arch.weights_fingerprint(encoder)
        step.finish({"encoder": params.encoder, "fingerprint": fingerprint})
    distribute.barrier("the encoder saved")
    return load_run_encoder(params)


def extract_run_features(params: Params, encoder, shard: str | None = None, progress: bool = True):
    """Cache the encoder features of the training and validation photos (notebook 02).

    Training photos get ``params.views`` views (the photo plus augmented copies), the extra
    training photos (second and later dataset folders) ``params.extra_views``; validation
    photos only the photo itself. For ``decoder: unet`` the cache also holds
    the skip features and L (the multiscale version of ``encoder``). Features already in the shared cache
    (``params.cache_dir``) for the same image content, size, augmentation and encoder
    weights are reused. ``shard="i/n"`` extracts only this worker's part.
    Returns ``{"train": FeatureIndex, "validation": FeatureIndex}``, and ``"extra-train"`` when
    the run has extra folders.
    """
    from colorlib.data import featureindex, features

    paths = run_paths(params)
    step = features_step(params)
    split = load_split(params)
    if shard is None and step.done():
        return featureindex.load_run_indexes(paths.features_dir, feature_splits(split))
    if model_for(params).reads_skips:
        from colorlib.archs import colorizer_arch

        encoder = colorizer_arch.multiscale_encoder(encoder)
    indexes = features.extract_splits(
        {name: split[name] for name in feature_splits(split)},
        encoder,
        paths.features_dir,
        cache_dir=params.cache_dir,
        views={"train": params.views, EXTRA_TRAIN_SPLIT: params.extra_views},
        seed=params.seed,
        max_rotation=params.max_rotation,
        batch_size=ENCODER_BATCH_SIZE,
        shard=shard,
        progress=progress,
    )
    if all(index.part is None for index in indexes.values()):
        step.finish({name: index.digest() for name, index in indexes.items()})
    return indexes
