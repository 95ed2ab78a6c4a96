"""The ``colorlib`` command: one entry point, a subcommand per task, and its exit statuses.

    colorlib demo-data                      build the demo dataset in data/demo/
    colorlib train [DATASET] [--out DIR]    split, cache features, train; resumes when interrupted
    colorlib extract [DATASET]              only cache the encoder features (one shard with --shard i/n)
    colorlib colorize INPUT... --out DIR    colorize photos at their own resolution (the shipped colorizer)
    colorlib serve [FOLDER] [--out DIR]     colour photos by hand on a local web page: hints, vividness
    colorlib export --out colorizer.onnx    the colorizer as one ONNX file, for ONNX Runtime anywhere
    colorlib evaluate TRUTH_DIR PRED_DIR    PSNR, SSIM, colorfulness and AuC of predictions
    colorlib baseline gray INPUT... --out DIR   the baselines' predictions, to evaluate the same way
    colorlib pipeline [--params FILE]       run notebooks 01-05 with papermill into reports/
    colorlib variants [--only NAME ...]     run the chain for every params/variants/*.yaml, then compare
    colorlib compare RUN_OR_PARAMS...       one page comparing finished runs: reports/compare/compare.html
    colorlib ship --params FILE             a trained run's decoder becomes the shipped colorizer

Argument parsing, printing and exit statuses live here; the library modules return
results and raise errors. Exit statuses: 0 success, 1 some inputs failed, 2 an error
that stopped the command, 130 interrupted. Heavy libraries are imported inside each
command, so ``--help`` answers at once.

The run commands (train, extract) get one flag per parameter of :class:`colorlib.core.params.Params`,
made from its fields; a flag beats the ``--params`` file, which beats the defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from colorlib import __version__
from colorlib.cli.colorizecommands import _cmd_colorize, _cmd_index, add_export_command
from colorlib.cli.commands import (
    _add_run_arguments,
    _cmd_baseline,
    _cmd_compare,
    _cmd_demo_data,
    _cmd_evaluate,
    _cmd_extract,
    _cmd_pipeline,
    _cmd_serve,
    _cmd_shard,
    _cmd_ship,
    _cmd_train,
    _cmd_variants,
)
from colorlib.colorize.onnxmodel import AUTO_RUNTIME, RUNTIMES
from colorlib.core.config import (
    BATCH_SIZE,
    IMAGE_SIZE,
    MAX_UPLOAD_MB,
    MAX_UPLOAD_MEGAPIXELS,
    PHOTOS_PER_SHARD,
    REFERENCE_INDEX,
    SERVE_HOST,
    SERVE_PORT,
)

#: Parameters that are given another way on the command line (``dataset`` is positional).


CHAIN_OPTIONS = {
    "--reports-dir": {"default": "reports", "help": "folder of the run reports (default: reports)"},
    "--notebooks-dir": {"default": "notebooks", "help": "folder of notebooks 01-05 (default: notebooks)"},
    "--kernel": {"help": "Jupyter kernel (default: the notebooks' python3, i.e. this Python)"},
}
#: The options of the commands that write the comparison (variants, compare).
COMPARE_OPTIONS = {
    "--out": {
        "default": "reports/compare",
        "help": "folder for compare.html and compare.md, its table in Markdown (default: reports/compare)",
    },
    "--write-best": {
        "metavar": "FILE",
        "help": "copy the chosen variant's YAML here (e.g. params/best.yaml): among the variants "
        "above gray on PSNR and AuC on every scored set, the lowest ΔCF (papers) on the test photos",
    },
}


#: How a run joins the processes of several machines (JAX: ``keras.distribution.initialize``).
DISTRIBUTION_OPTIONS = {
    "--coordinator": {
        "metavar": "HOST:PORT",
        "help": "several processes or machines (JAX, strategy data_parallel): process 0's address, the same "
        "for every process (default: $KERAS_DISTRIBUTION_JOB_ADDRESSES, else one process)",
    },
    "--num-processes": {"type": int, "metavar": "N", "help": "with --coordinator: how many processes"},
    "--process-id": {"type": int, "metavar": "I", "help": "with --coordinator: this process, 0..N-1"},
}


#: The options of ``colorlib shard``.
SHARD_OPTIONS = {
    "--out": {"required": True, "help": "folder for the shards (give it to training as --shards)"},
    "--params": {
        "help": "YAML parameters file: its dataset, seed, limit and split fractions (flags beat it)"
    },
    "--seed": {"type": int, "help": "seed of the split (default: the parameters')"},
    "--limit": {"type": int, "help": "use only this many colour photos, chosen with the seed"},
    "--data-dir": {"help": "where the run's split is recorded (default: the parameters', data)"},
    "--photos-per-shard": {
        "type": int,
        "default": PHOTOS_PER_SHARD,
        "help": f"photos in each shard file (default: {PHOTOS_PER_SHARD}, about 100 MB of ImageNet JPEGs)",
    },
}


#: The options of ``colorlib serve``.
SERVE_OPTIONS = {
    "--out": {
        "default": "colorized",
        "help": "folder the downloads are also written to (default: colorized)",
    },
    "--model": {
        "help": "a trained .keras model; one trained with hints: true spreads the hints itself (default: the "
        "colorizer that ships with colorlib; the joint-bilateral floor spreads hints over its colours)"
    },
    "--runtime": {
        "choices": RUNTIMES,
        "default": AUTO_RUNTIME,
        "help": "what runs the colorizer: keras, or onnx (ONNX Runtime on the colorizer exported once: "
        "the same colours, no TensorFlow to start, each edit re-runs the whole graph); auto (default): "
        "keras, whose edits run the decoder alone (docs/onnx.md)",
    },
    "--host": {
        "default": SERVE_HOST,
        "help": f"address to listen on (default: {SERVE_HOST}, this machine only; 0.0.0.0 lets others in)",
    },
    "--port": {"type": int, "default": SERVE_PORT, "help": f"port (default: {SERVE_PORT})"},
    "--allow-host": {
        "action": "append",
        "default": [],
        "metavar": "NAME",
        "help": "another name the page may be opened under, e.g. one of /etc/hosts (again for more); the "
        "server answers only to this machine's loopback names and --host otherwise (DNS rebinding)",
    },
    "--max-mb": {
        "type": float,
        "default": MAX_UPLOAD_MB,
        "help": f"largest upload in MB (default: {MAX_UPLOAD_MB})",
    },
    "--max-megapixels": {
        "type": float,
        "default": MAX_UPLOAD_MEGAPIXELS,
        "help": f"largest upload in megapixels (default: {MAX_UPLOAD_MEGAPIXELS})",
    },
}


def _add_options(parser: argparse.ArgumentParser, options: dict[str, dict[str, Any]]) -> None:
    """Add each flag of ``options`` with its argparse settings."""
    for flag, settings in options.items():
        parser.add_argument(flag, **settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorlib",
        description="Colorize grayscale photos: a frozen ImageNet encoder (EfficientNet-Lite0, or the "
        "original design's VGG16) and a convolutional decoder in CIE LAB.",
    )
    parser.add_argument("--version", action="version", version=f"colorlib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo-data", help="build the demo dataset from photos shipped in scikit-image and scikit-learn"
    )
    demo.add_argument("--out", help="dataset folder to create (default: data/demo)")
    demo.add_argument("--overwrite", action="store_true", help="rebuild it even if it exists")
    demo.set_defaults(handler=_cmd_demo_data)

    train = commands.add_parser(
        "train",
        help="split the dataset, cache encoder features and train the decoder (with --shards: train on "
        "photos decoded from shards, on every device and process of the run)",
    )
    _add_run_arguments(train)
    train.add_argument("--fresh", action="store_true", help="start training over instead of resuming")
    _add_options(train, DISTRIBUTION_OPTIONS)
    train.set_defaults(handler=_cmd_train)

    shard = commands.add_parser(
        "shard", help="pack a dataset's training and validation photos into shards for streamed training"
    )
    shard.add_argument(
        "dataset", nargs="*", help="dataset folder(s), as for `colorlib train` (default: the demo dataset)"
    )
    _add_options(shard, SHARD_OPTIONS)
    shard.set_defaults(handler=_cmd_shard)

    index = commands.add_parser(
        "index", help="index colour photos by the encoder's features, for colorize --reference auto"
    )
    index.add_argument("inputs", nargs="+", metavar="INPUT", help="colour photos and folders of them")
    index.add_argument(
        "--out", default=str(REFERENCE_INDEX), help=f"the index file (default: {REFERENCE_INDEX})"
    )
    index.add_argument(
        "--model", help="the colorizer whose encoder is used (default: the one that ships with colorlib)"
    )
    index.set_defaults(handler=_cmd_index)

    extract = commands.add_parser("extract", help="cache the encoder features of a dataset (notebook 02)")
    _add_run_arguments(extract)
    extract.add_argument(
        "--shard", help="I/N: this worker extracts shard I of N (0-based); merge with a later run"
    )
    extract.set_defaults(handler=_cmd_extract)

    colorize = commands.add_parser(
        "colorize", help="colorize photos and videos at their own resolution (a video keeps its sound)"
    )
    colorize.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files and folders of images, in any format Pillow reads (of a GIF: its first frame), "
        "and video files (.mp4, .mov, .mkv, .avi, .webm)",
    )
    colorize.add_argument(
        "--out",
        required=True,
        help="folder for the colorized photos: same names and sub-folders; formats other than "
        "JPEG, PNG, TIFF, WebP and BMP are written as PNG (a.gif -> a.png)",
    )
    colorize.add_argument(
        "--recursive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="search the sub-folders of input folders (default: yes; --no-recursive: only the folder itself)",
    )
    colorize.add_argument(
        "--model",
        help="a trained .keras model, e.g. data/runs/default/model/colorizer.keras (default: the colorizer "
        "that ships with colorlib, docs/pretrained.md)",
    )
    colorize.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"photos per model pass (default: {BATCH_SIZE})"
    )
    colorize.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=AUTO_RUNTIME,
        help="what runs the colorizer: onnx (ONNX Runtime on the colorizer exported once: the same "
        "colours, no TensorFlow to start) or keras; auto (default): for photos onnx with the shipped "
        "colorizer and .onnx files unless --reference, --own-size or --temperature needs Keras; keras "
        "for a .keras --model and for videos (docs/onnx.md)",
    )
    colorize.add_argument(
        "--temperature",
        type=float,
        help="models trained with loss: classification: the annealed mean's temperature (default: the "
        "model's, 0.38; lower gives more saturated colours, 1 the plain mean)",
    )
    colorize.add_argument(
        "--frames",
        action="store_true",
        help="each input folder holds the numbered frames of one clip: colour them as a video (in name "
        "order), into frames of the same names",
    )
    colorize.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="PHOTO[:FRAME]",
        help="a colour photo of the same or a similar scene whose colours guide the gray ones (again for "
        "more; for a video, :FRAME places it at a frame and it guides the frames nearest to it); photos: "
        "'auto' takes the nearest photos of a reference index (--index) as references",
    )
    colorize.add_argument(
        "--index",
        metavar="FILE",
        help=f"--reference auto: the index made by `colorlib index` (default: {REFERENCE_INDEX})",
    )
    colorize.add_argument(
        "--per-frame",
        action="store_true",
        help="videos and --frames: colour each frame on its own, instead of carrying the last frame's "
        "colours along the motion (the default holds still; docs/video.md)",
    )
    colorize.add_argument(
        "--own-size",
        action="store_true",
        help="the model sees each photo at its own size rounded to multiples of 32 (at most 1024×1024 "
        "pixels) instead of the training size: more detail for the U-Net's skips; slower",
    )
    colorize.add_argument(
        "--hints",
        metavar="FILE",
        help="one photo only, with a colorizer trained with hints: true (--model): a JSON list of "
        '{"x": ..., "y": ..., "color": "#rrggbb"} points in the photo\'s pixels (docs/cli.md)',
    )
    colorize.add_argument(
        "--vividness",
        type=float,
        default=1.0,
        help="scale the predicted colours' strength (ab) by this, kept inside the sRGB gamut at each "
        "pixel's lightness (default: 1, the model's colours; 0: gray; 1.3: a third more vivid)",
    )
    colorize.set_defaults(handler=_cmd_colorize)

    add_export_command(commands)

    serve = commands.add_parser(
        "serve", help="colour photos by hand on a local web page: click hints, vividness, download"
    )
    serve.add_argument(
        "folder",
        nargs="?",
        help="a folder of photos to pick from on the page (photos can also be dropped on it)",
    )
    _add_options(serve, SERVE_OPTIONS)
    serve.set_defaults(handler=_cmd_serve)

    evaluate = commands.add_parser("evaluate", help="score colorized photos against the colour originals")
    evaluate.add_argument("truth_dir", help="folder of colour originals")
    evaluate.add_argument("pred_dir", help="folder of colorized photos, matched by file stem")
    evaluate.add_argument(
        "--size", type=int, default=IMAGE_SIZE, help=f"both are resized to SIZE×SIZE (default: {IMAGE_SIZE})"
    )
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.add_argument("--csv", help="write the per-image values to this CSV file")
    evaluate.set_defaults(handler=_cmd_evaluate)

    baseline = commands.add_parser(
        "baseline", help="write a baseline's predictions (gray: ab = 0; mean-ab: the training mean)"
    )
    baseline.add_argument("method", choices=("gray", "mean-ab"), help="which baseline")
    baseline.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders of images")
    baseline.add_argument("--out", required=True, help="folder for the predictions (PNG, same file stems)")
    baseline.add_argument("--train", help="mean-ab: folder of training photos whose mean ab is used")
    baseline.set_defaults(handler=_cmd_baseline)

    pipeline = commands.add_parser(
        "pipeline", help="run notebooks 01-05 with papermill; reports go to reports/<run-id>/"
    )
    pipeline.add_argument(
        "--params", default="params/default.yaml", help="YAML parameters file (default: params/default.yaml)"
    )
    pipeline.add_argument(
        "--start-at",
        help="start at this notebook (01-05, e.g. 03; the earlier notebooks' results must exist), or run "
        "06 (video and references) alone",
    )
    _add_options(pipeline, CHAIN_OPTIONS)
    pipeline.set_defaults(handler=_cmd_pipeline)

    variants = commands.add_parser(
        "variants", help="run the chain for every parameters file of params/variants/, then compare them"
    )
    variants.add_argument(
        "--params-dir", default="params/variants", help="folder of the variants' YAML files"
    )
    variants.add_argument("--only", nargs="+", metavar="NAME", help="only these variants (file stems)")
    _add_options(variants, CHAIN_OPTIONS | COMPARE_OPTIONS)
    variants.set_defaults(handler=_cmd_variants)

    compare = commands.add_parser(
        "compare", help="one self-contained page comparing finished runs: metrics, times, photos"
    )
    compare.add_argument(
        "runs",
        nargs="+",
        metavar="RUN_OR_PARAMS",
        help="parameters YAML files or run folders (data/runs/NAME)",
    )
    _add_options(compare, {"--reports-dir": CHAIN_OPTIONS["--reports-dir"]} | COMPARE_OPTIONS)
    compare.set_defaults(handler=_cmd_compare)

    ship = commands.add_parser(
        "ship",
        help="make a trained and scored run's decoder the colorizer that ships with colorlib, if it is "
        "above gray on PSNR and AuC on every set and closer in colour strength than the one shipped now",
    )
    ship.add_argument(
        "--params", required=True, help="the run's YAML parameters file, e.g. params/pretrained.yaml"
    )
    ship.set_defaults(handler=_cmd_ship)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 some inputs failed, 2 error)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (FileNotFoundError, ValueError) as error:
        print(f"colorlib {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"colorlib {args.command}: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
