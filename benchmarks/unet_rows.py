"""The U-Net rows of ``make bench`` (issue 11), used by ``bench.py``.

For each encoder (VGG16, EfficientNet-Lite0), on the same photos, side by side:

- bytes per cached view of a multiscale extraction (bottleneck, skips at strides 16, 8, 4,
  L and ab, all float16) against the 1 MB target;
- a training epoch of the U-Net decoder from that cache against the whole encoder + U-Net
  trained on the fly from the photos (VGG16: the cache at least 10× faster; Lite0: whichever
  is faster, said in the row);

and peak memory training the U-Net from 1,000 and 4,000 synthetic cached views (flat).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from colorlib import losses
from colorlib.archs import colorizer_arch, unet_arch
from colorlib.core.config import SEED
from colorlib.data import featuredata, featureindex, features, featurestore, inputs

MB = 1024 * 1024
#: Channels of the stored arrays for the synthetic memory row: Lite0's multiscale outputs.
SYNTHETIC_CHANNELS = {"bottleneck": 1280, "stride16": 112, "stride8": 40, "stride4": 24}


def _cache_bytes_per_view(index: featureindex.FeatureIndex) -> float:
    store = featurestore.FeatureStore(index.cache_dir)
    shards = {entry["shard"] for entry in index.entries}
    total = sum(path.stat().st_size for shard in shards for path in store.all_files(shard))
    return total / len(index)


def _unet_decoder(dataset: featuredata.FeatureDataset, size: int, channels: dict[str, int]) -> keras.Model:
    return losses.compile_model(unet_arch.build_unet(size, channels, dataset.channel_stats()))


def encoder_rows(
    paths: Sequence[Path],
    size: int,
    batch: int,
    work: Path,
    row: Callable[..., dict],
    fit_epoch_time: Callable[..., float],
) -> list[dict]:
    """Cache size and cache-vs-on-the-fly rows for both encoders (random weights)."""
    rows = []
    for name, label, target in (("vgg16", "VGG16", 10), ("efficientnet_lite0", "Lite0", 1)):
        keras.utils.set_random_seed(SEED)
        encoder = colorizer_arch.build_encoder(None, size, name)
        multiscale = colorizer_arch.multiscale_encoder(encoder)
        index = features.extract_features(paths, multiscale, work / f"cache-unet-{name}", progress=False)
        per_view = _cache_bytes_per_view(index)
        channels = unet_arch.feature_channels(multiscale)
        keras.utils.set_random_seed(SEED)
        dataset = featuredata.FeatureDataset(index, batch, seed=SEED)
        cached = fit_epoch_time(_unet_decoder(dataset, size, channels), dataset)
        keras.utils.set_random_seed(SEED)
        colorizer = colorizer_arch.build_colorizer(encoder, _unet_decoder(dataset, size, channels))
        on_the_fly = fit_epoch_time(colorizer, inputs.LabImageDataset(paths, size, batch, seed=SEED))
        faster = "the cache" if cached < on_the_fly else "on the fly"
        rows.append(
            row(
                f"U-Net cache per view, {label} (MB)",
                per_view / MB,
                1.0,
                "MB",
                per_view / MB,
                1,
                False,
                f"{size}×{size}: bottleneck, skips at strides 16/8/4, L and ab, float16, with manifests",
            )
        )
        rows.append(
            row(
                f"U-Net training epoch, {label}, cache vs on the fly (s)",
                cached,
                on_the_fly,
                "s",
                on_the_fly / cached,
                target,
                True,
                f"{len(paths)} images, second epoch of two; faster here: {faster}",
            )
        )
    return rows


def synthetic_unet_cache(work: Path, size: int, counts: tuple[int, ...]) -> dict[int, Path]:
    """Multiscale cache entries (Lite0's channels) with random float16 values, in the store format."""
    store = featurestore.FeatureStore(work / "synthetic-unet-cache")
    rng = np.random.default_rng(SEED)

    def block(rows: int, stride: int, channels: int) -> np.ndarray:
        side = size // stride
        return rng.random((rows, side, side, channels), dtype=np.float32).astype(np.float16)

    entries = []
    for first in range(0, max(counts), featurestore.SHARD_ROWS):
        rows = min(featurestore.SHARD_ROWS, max(counts) - first)
        metas = [{"key": f"{first + i:064x}", "source": "synthetic", "skips": True} for i in range(rows)]
        extras = {
            skip: block(rows, unet_arch.STRIDES[skip], SYNTHETIC_CHANNELS[skip]) for skip in unet_arch.SKIPS
        }
        extras[unet_arch.L_INPUT] = block(rows, 1, 1)
        ab = (block(rows, 1, 2) - 0.5).astype(np.float16)
        shard = store.write(metas, block(rows, 32, SYNTHETIC_CHANNELS["bottleneck"]), ab, extras)
        entries += [
            {"key": m["key"], "shard": shard, "row": r, "path": "synthetic", "view": 0, "position": first + r}
            for r, m in enumerate(metas)
        ]
    out = {}
    for count in counts:
        index = featureindex.FeatureIndex(
            str(store.root), size, "synthetic", 1, SEED, 0.0, entries[:count], skips=True
        )
        out[count] = index.save(work / f"synthetic-unet-{count}.json")
    return out


def train_unet_from_index(index_path: str, batch: int) -> None:
    """One epoch of the U-Net from a (synthetic) multiscale index: the memory child's work."""
    index = featureindex.FeatureIndex.load(index_path)
    dataset = featuredata.FeatureDataset(index, batch, seed=SEED)
    decoder = _unet_decoder(dataset, index.image_size, SYNTHETIC_CHANNELS)
    decoder.fit(dataset, epochs=1, verbose=0)
