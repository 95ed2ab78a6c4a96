"""The ``colorlib`` command: one entry point, a subcommand per task, and its exit statuses.

    colorlib demo-data                      build the demo dataset in data/demo/
    colorlib train [DATASET] [--out DIR]    split, cache features, train; resumes when interrupted
    colorlib extract [DATASET]              only cache the encoder features (one shard with --shard i/n)
    colorlib colorize INPUT... --out DIR    colorize photos at their own resolution
    colorlib evaluate TRUTH_DIR PRED_DIR    PSNR, SSIM, colorfulness and AuC of predictions
    colorlib baseline gray INPUT... --out DIR   the baselines' predictions, to evaluate the same way
    colorlib pipeline [--params FILE]       run notebooks 01-05 with papermill into reports/
    colorlib variants [--only NAME ...]     run the chain for every params/variants/*.yaml, then compare
    colorlib compare RUN_OR_PARAMS...       one page comparing finished runs: reports/compare/compare.html

Argument parsing, printing and exit statuses live here; the library modules return
results and raise errors. Exit statuses: 0 success, 1 some inputs failed, 2 an error
that stopped the command, 130 interrupted. Heavy libraries are imported inside each
command, so ``--help`` answers at once.

The run commands (train, extract) get one flag per parameter of :class:`colorlib.params.Params`,
made from its fields; a flag beats the ``--params`` file, which beats the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from colorlib import __version__
from colorlib.config import BATCH_SIZE, IMAGE_SIZE

#: Parameters that are given another way on the command line (``dataset`` is positional).
POSITIONAL_PARAMS = ("dataset",)
#: How a yes/no flag is written on the command line, e.g. ``--attention true``.
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")


def _quiet_tensorflow() -> None:
    """Hide TensorFlow's INFO and WARNING lines in this process and the ones it starts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices with its C++ start-up lines left out of stderr.

    Those lines (:data:`colorlib.config.TF_STARTUP_NOISE`) are written before TensorFlow's
    log level applies, so stderr (file descriptor 2) goes to a temporary file meanwhile;
    every other line written then is passed on, and stderr is restored before anything
    else runs, so later warnings and errors print as usual. ``TF_CPP_MIN_LOG_LEVEL=0``
    passes everything on.
    """
    _quiet_tensorflow()
    if "tensorflow" in sys.modules:
        return
    from colorlib.config import TF_STARTUP_NOISE

    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to keep clean
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device probe writes the cuInit line
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
                text = TF_STARTUP_NOISE.sub("", text)
            sys.stderr.write(text)
            sys.stderr.flush()


def _value_parser(kind: type, optional: bool):
    """Parse a flag's text as ``kind``; 'none' or 'null' is None where the parameter allows it."""

    def parse(text: str) -> Any:
        if optional and text.lower() in ("none", "null", "random"):
            return None
        if kind is bool:
            if text.lower() not in (*TRUE_WORDS, *FALSE_WORDS):
                raise ValueError(f"expected true or false, got {text!r}")
            return text.lower() in TRUE_WORDS
        return kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error messages
    return parse


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """A flag for every parameter (help: its doc), plus ``--params FILE`` and the dataset."""
    from colorlib.params import Params, param_docs, param_flag, param_type

    parser.add_argument(
        "dataset",
        nargs="?",
        help="dataset folder: 'class 0/' + 'class 1/' sub-folders, or a flat folder of images "
        "(default: the demo dataset, built on first use)",
    )
    parser.add_argument("--params", help="YAML parameters file (see params/default.yaml); flags beat it")
    defaults = Params()
    for name, doc in param_docs().items():
        if name in POSITIONAL_PARAMS:
            continue
        kind, optional = param_type(name)
        parser.add_argument(
            param_flag(name),
            dest=name,
            type=_value_parser(kind, optional),
            default=argparse.SUPPRESS,  # absent from args unless given, so None can be given
            help=f"{doc} (default: {getattr(defaults, name)!r})",
        )


def _params_from_args(args: argparse.Namespace):
    """Flags given on the command line beat the ``--params`` file, which beats the defaults."""
    from colorlib.params import Params, load_params

    overrides = {item.name: getattr(args, item.name) for item in fields(Params) if hasattr(args, item.name)}
    if overrides.get("dataset") is None:
        overrides.pop("dataset", None)  # the positional argument was left out
    return load_params(args.params, overrides)


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from colorlib import demo

    try:
        demo.build_demo_dataset(args.out, overwrite=args.overwrite)
    except OSError as error:
        print(f"colorlib demo-data: {error}", file=sys.stderr)
        return 1
    return 0


def _prepare_run(args: argparse.Namespace):
    from colorlib import workflow

    params = _params_from_args(args)
    print(workflow.prepare_dataset(params).summary())
    return params, workflow.build_run_encoder(params)


def _cmd_train(args: argparse.Namespace) -> int:
    _import_tensorflow_quietly()
    from colorlib import workflow

    params, encoder = _prepare_run(args)
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
    _import_tensorflow_quietly()
    from colorlib import workflow

    params, encoder = _prepare_run(args)
    workflow.extract_run_features(params, encoder, shard=args.shard)
    return 0


def _cmd_colorize(args: argparse.Namespace) -> int:
    from colorlib import colorize, photofiles

    scan = photofiles.scan_inputs(args.inputs, recursive=args.recursive)
    photofiles.plan_outputs(scan, args.out)  # refuse a bad output folder before loading the model
    _import_tensorflow_quietly()
    model = colorize.load_colorizer(args.model if args.model else colorize.default_model_path())
    if args.temperature is not None:
        from colorlib import colorclasses

        colorclasses.set_temperature(model, args.temperature)
    report = colorize.colorize_files(
        model, scan, args.out, batch_size=args.batch_size, own_size=args.own_size
    )
    print(report.summary())
    return 1 if report.failed else 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from colorlib import metrics

    result = metrics.evaluate_dirs(args.truth_dir, args.pred_dir, size=args.size)
    if args.csv is not None:
        result.write_csv(args.csv)
        print(f"Per-image values written to {args.csv}", file=sys.stderr)
    if not result.per_image:
        print(
            f"colorlib evaluate: error: no image pair could be scored ({len(result.skipped)} files "
            f"skipped, {len(result.grayscale)} grayscale truths); check that the file stems match.",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result.summary, indent=2) if args.json else result.format())
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    from colorlib import baselines, photofiles

    inputs = photofiles.collect_inputs(args.inputs)
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

    try:
        report_dir = chain.run_chain(
            args.params,
            reports_dir=args.reports_dir,
            notebooks_dir=args.notebooks_dir,
            start_at=args.start_at,
            kernel_name=args.kernel,
        )
    except chain.ChainError as error:
        print(error, file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as error:  # includes WeightsUnavailableError
        print(f"The pipeline did not start: {error}", file=sys.stderr)
        return 2
    print(f"Reports: {report_dir} (also {report_dir.parent / chain.LATEST})")
    return 0


def _compare_runs(sources: Sequence[str], args: argparse.Namespace) -> int:
    """Write the comparison of the finished runs among ``sources``; 1 when some could not be read."""
    from colorlib import compare

    variants, missing = [], 0
    for source in sources:
        try:
            variants.append(compare.load_variant(source, args.reports_dir))
        except FileNotFoundError as error:
            print(f"left out of the comparison: {error}", file=sys.stderr)
            missing += 1
    comparison = compare.build_comparison(variants)
    for note in comparison.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"Comparison of {len(variants)} runs: {compare.write_compare(comparison, args.out)}")
    if args.write_best:
        chosen, reason = compare.choose_best(variants)
        compare.write_best(chosen, reason, args.write_best)
        print(f"{args.write_best}: {chosen.name} ({reason})")
    return 1 if missing else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    return _compare_runs(args.runs, args)


def _cmd_variants(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from colorlib import compare
    from colorlib.htmlreport import format_seconds

    files = compare.variant_files(args.params_dir, args.only or ())
    outcomes = compare.run_variants(
        files, reports_dir=args.reports_dir, notebooks_dir=args.notebooks_dir, kernel_name=args.kernel
    )
    print(f"{len(outcomes)} variants:")
    for outcome in outcomes:
        state = "FAILED" if outcome.error else "done"
        why = f": {outcome.error}" if outcome.error else ""
        print(f"  {outcome.params_file.stem}: {state} in {format_seconds(outcome.seconds)}{why}", flush=True)
    failed = [outcome.params_file.stem for outcome in outcomes if outcome.error]
    try:
        status = _compare_runs([str(file) for file in files], args)
    except ValueError as error:
        if not failed:
            raise
        print(f"colorlib variants: no comparison: {error}", file=sys.stderr)
        status = 1
    if failed:
        print(f"Failed: {', '.join(failed)}; fix them and run `colorlib variants --only NAME` to resume.")
    return 1 if failed else status


#: The options of the commands that run the chain (pipeline, variants): flag -> argparse settings.
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
        "help": "copy the chosen variant's YAML here (e.g. params/best.yaml): the lowest test "
        "|Δ colorfulness| among variants with PSNR ≥ gray − 0.5 dB",
    },
}


def _add_options(parser: argparse.ArgumentParser, options: dict[str, dict[str, Any]]) -> None:
    """Add each flag of ``options`` with its argparse settings."""
    for flag, settings in options.items():
        parser.add_argument(flag, **settings)


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
    colorize.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files and folders of images, in any format Pillow reads (of a GIF: its first frame)",
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
        "--model", help="a trained .keras model (default: data/runs/default/model/colorizer.keras)"
    )
    colorize.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"photos per model pass (default: {BATCH_SIZE})"
    )
    colorize.add_argument(
        "--temperature",
        type=float,
        help="models trained with loss: classification: the annealed mean's temperature (default: the "
        "model's, 0.38; lower gives more saturated colours, 1 the plain mean)",
    )
    colorize.add_argument(
        "--own-size",
        action="store_true",
        help="the model sees each photo at its own size rounded to multiples of 32 (at most 1024×1024 "
        "pixels) instead of the training size: more detail for the U-Net's skips; slower",
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
        "--start-at",
        help="start at this notebook (01-05, e.g. 03); the earlier notebooks' results must exist",
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
