"""Named constants and the original project's defaults, defined once."""

from __future__ import annotations

import os
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

BATCH_SIZE = 32
EPOCHS = 50
LEARNING_RATE = 2e-4
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
SEED = 42

#: Maximum rotation of the augmentation, in degrees either way.
ROTATION_DEGREES = 15.0

#: Image file extensions the loader looks at in a folder (lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: The dataset layout of the original project.
COLOR_CLASS_DIR = "class 0"
GRAY_CLASS_DIR = "class 1"


def project_root() -> Path:
    """The checkout that holds ``colorlib/`` (the current folder when installed elsewhere)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$COLORLIB_SHARED_DATA``; it may not exist."""
    override = os.environ.get("COLORLIB_SHARED_DATA")
    return Path(override) if override else project_root().parent / "shared" / "data"
