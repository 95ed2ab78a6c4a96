"""The ``colorlib`` command: one entry point, a subcommand per task.

    colorlib demo-data                      build the demo dataset in data/demo/
    colorlib train [DATASET] [--out DIR]    split, cache features, train; resumes when interrupted
    colorlib extract [DATASET]              only cache the encoder features (one shard with --shard i/n)
    colorlib colorize INPUT... --out DIR    colorize photos at their own resolution
    colorlib evaluate TRUTH_DIR PRED_DIR    PSNR, SSIM, colorfulness and AuC of predictions
    colorlib baseline gray INPUT... --out DIR   the baselines' predictions, to evaluate the same way
    colorlib pipeline [--params FILE]       run notebooks 01-05 with papermill into reports/

Heavy libraries are imported inside each command, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from colorlib import __version__
from colorlib.config import BATCH_SIZE, IMAGE_SIZE


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _weights(value: str) -> str | None:
    """``--encoder-weights``: imagenet, a path, or none for random weights."""
    return None if value.lower() in ("none", "random", "null") else value


def _params_from_args(args: argparse.Namespace):
    from colorlib.params import load_params, read_params_file

    values = read_params_file(args.params) if args.params else {}
    overrides = {
        "dataset": args.dataset,
        "run_name": args.run_name,
        "run_dir_override": args.out,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "limit": args.limit,
        "views": args.views,
        "patience": args.patience,
        "seed": args.seed,
        "learning_rate": args.learning_rate,
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    if args.encoder_weights is not None:
        values["encoder_weights"] = _weights(args.encoder_weights)
    return load_params(None, **values)


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset",
        nargs="?",
        help="dataset folder: 'class 0/' + 'class 1/' sub-folders, or a flat folder of images "
        "(default: the demo dataset, built on first use)",
    )
    parser.add_argument("--params", help="YAML parameters file (see params/default.yaml)")
    parser.add_argument(
        "--out", help="run folder for the split, features index and model (default: data/runs/RUN_NAME)"
    )
    parser.add_argument("--run-name", help="name of the run (default: 'default')")
    parser.add_argument("--epochs", type=int, help="epochs to train (default: 50)")
    parser.add_argument("--batch-size", type=int, help=f"batch size (default: {BATCH_SIZE})")
    parser.add_argument(
        "--image-size", type=int, help=f"training image side, a multiple of 32 (default: {IMAGE_SIZE})"
    )
    parser.add_argument(
        "--limit", type=int, help="use at most N colour photos, chosen with the seed (default: all)"
    )
    parser.add_argument(
        "--views", type=int, help="cached views per training photo: 1 plain + K-1 augmented (default: 2)"
    )
    parser.add_argument(
        "--patience", type=int, help="stop early after N epochs without validation improvement"
    )
    parser.add_argument("--learning-rate", type=float, help="Adam learning rate (default: 2e-4)")
    parser.add_argument("--seed", type=int, help="random seed (default: 42)")
    parser.add_argument(
        "--encoder-weights",
        help="'imagenet' (default; Keras' cache in ~/.keras/models), a VGG16 .h5 file, "
        "or 'none' for random weights",
    )


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from colorlib import demo

    return demo.run_cli(out=args.out, overwrite=args.overwrite)


def _cmd_train(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from colorlib import workflow

    params = _params_from_args(args)
    print(workflow.prepare_dataset(params).summary())
    encoder = workflow.build_run_encoder(params)
    workflow.extract_run_features(params, encoder, shard=None)
    # One line per epoch when the output goes to a file or a pipe, a live bar in a terminal.
    result = workflow.train_run(params, fresh=args.fresh, verbose="auto" if sys.stdout.isatty() else 2)
    paths = workflow.run_paths(params)
    print(
        f"Trained {result.epochs_completed} epochs; final validation loss "
        f"{result.history.get('val_loss', [float('nan')])[-1]:.5f}. Model: {paths.colorizer}"
    )
    return 0


def _cmd_extract(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from colorlib import workflow

    params = _params_from_args(args)
    print(workflow.prepare_dataset(params).summary())
    encoder = workflow.build_run_encoder(params)
    workflow.extract_run_features(params, encoder, shard=args.shard)
    return 0


def _cmd_colorize(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from colorlib import colorize

    return colorize.run_cli(args.inputs, args.out, args.model, batch_size=args.batch_size)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from colorlib import metrics

    return metrics.run_cli(
        args.truth_dir, args.pred_dir, size=args.size, as_json=args.json, csv_path=args.csv
    )


def _cmd_baseline(args: argparse.Namespace) -> int:
    from colorlib import baselines, colorize

    inputs = colorize.collect_inputs(args.inputs)
    mean_ab = None
    if args.method == "mean-ab":
        if not args.train:
            raise ValueError("The mean-ab baseline needs --train DIR, the training photos to average.")
        from colorlib import data

        mean_ab = baselines.mean_ab(data.list_images(args.train, recursive=True))
        print(f"mean ab of the training photos: a={mean_ab[0]:.2f}, b={mean_ab[1]:.2f}")
    method = args.method.replace("-", "_")
    written = baselines.write_baseline_predictions(inputs, args.out, method, mean_ab)
    skipped = len(inputs) - len(written)
    print(f"wrote {len(written)} {args.method} predictions into {args.out}; {skipped} skipped")
    return 0 if len(written) == len(inputs) else 1


def _cmd_pipeline(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from colorlib import chain

    return chain.run_cli(
        args.params, reports_dir=args.reports_dir, start_at=args.start_at, kernel_name=args.kernel
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorlib",
        description="Colorize grayscale photos: a frozen VGG16 encoder and a convolutional decoder "
        "in CIE LAB.",
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
        "train", help="split the dataset, cache encoder features and train the decoder"
    )
    _add_run_arguments(train)
    train.add_argument("--fresh", action="store_true", help="start training over instead of resuming")
    train.set_defaults(handler=_cmd_train)

    extract = commands.add_parser("extract", help="cache the encoder features of a dataset (notebook 02)")
    _add_run_arguments(extract)
    extract.add_argument(
        "--shard", help="I/N: this worker extracts shard I of N (0-based); merge with a later run"
    )
    extract.set_defaults(handler=_cmd_extract)

    colorize = commands.add_parser("colorize", help="colorize photos at their own resolution")
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders of images")
    colorize.add_argument("--out", required=True, help="folder for the colorized photos (same file names)")
    colorize.add_argument(
        "--model", help="a trained .keras model (default: data/runs/default/model/colorizer.keras)"
    )
    colorize.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"photos per model pass (default: {BATCH_SIZE})"
    )
    colorize.set_defaults(handler=_cmd_colorize)

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
        "--reports-dir", default="reports", help="folder for the run reports (default: reports)"
    )
    pipeline.add_argument(
        "--start-at",
        help="start at this notebook (01-05, e.g. 03); the earlier notebooks' results must exist",
    )
    pipeline.add_argument(
        "--kernel", help="Jupyter kernel (default: the notebooks' python3, i.e. this Python)"
    )
    pipeline.set_defaults(handler=_cmd_pipeline)
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
