"""The ``colorlib`` subcommands: each reads its parsed arguments and calls the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from colorlib.colorize.onnxmodel import ONNX_RUNTIME
from colorlib.core import quiet

#: Parameters that are given another way on the command line (``dataset`` is positional).
POSITIONAL_PARAMS = ("dataset",)
#: How a yes/no flag is written on the command line, e.g. ``--attention true``.
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")


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
    from colorlib.core.params import Params, param_docs, param_flag, param_type

    parser.add_argument(
        "dataset",
        nargs="*",
        help="dataset folder: 'class 0/' + 'class 1/' sub-folders, or a flat folder of images "
        "(default: the demo dataset, built on first use). Several folders: the first is split "
        "into train, validation and test, the colour photos of the others join training, less "
        "--extra-test of them held back as the extra-test set",
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
    from colorlib.core.params import Params, load_params

    overrides = {item.name: getattr(args, item.name) for item in fields(Params) if hasattr(args, item.name)}
    folders = overrides.pop("dataset", None) or []  # the positional argument: none, one or several
    if folders:
        overrides["dataset"] = folders[0] if len(folders) == 1 else list(folders)
    return load_params(args.params, overrides)


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from colorlib.data import demo

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
    quiet.import_tensorflow_quietly()
    from colorlib import workflow
    from colorlib.training import distribute

    # First: JAX's processes join before anything touches a device.
    distribute.initialize(args.coordinator, args.num_processes, args.process_id)
    params = _params_from_args(args)
    if params.shards:  # photos decoded from shards: no dataset folder needed here, no feature cache
        workflow.build_run_encoder(params)
    else:
        params, encoder = _prepare_run(args)
        workflow.extract_run_features(params, encoder, shard=None)
    # One line per epoch when the output goes to a file or a pipe, a live bar in a terminal.
    result = workflow.train_run(params, fresh=args.fresh, verbose="auto" if sys.stdout.isatty() else 2)
    paths = workflow.run_paths(params)
    kept = (
        f"the model has epoch {result.kept_epoch + 1}'s weights (validation loss {result.kept_val_loss:.5f})"
        if result.kept_epoch is not None
        else "no validation loss was recorded"
    )
    print(f"Trained {result.epochs_completed} epochs; {kept}. Model: {paths.colorizer}")
    return 0


def _cmd_shard(args: argparse.Namespace) -> int:
    quiet.import_tensorflow_quietly()  # the demo dataset and the checks import it
    from colorlib import workflow
    from colorlib.core.params import load_params

    given = ("seed", "limit", "data_dir")
    overrides = {name: getattr(args, name) for name in given if getattr(args, name) is not None}
    if args.dataset:
        overrides["dataset"] = args.dataset[0] if len(args.dataset) == 1 else list(args.dataset)
    params = load_params(args.params, overrides)
    shards, skipped = workflow.shard_dataset(params, args.out, args.photos_per_shard)
    counts = ", ".join(f"{split} {shards.photos(split):,}" for split in shards.splits)
    files = sum(len(listed) for listed in shards.splits.values())
    print(f"Packed {counts} photos into {files} shards in {shards.root}; train with --shards {shards.root}")
    if skipped:
        print(f"{len(skipped)} photos could not be read and were left out (listed above).")
    return 1 if skipped else 0


def _cmd_extract(args: argparse.Namespace) -> int:
    quiet.import_tensorflow_quietly()
    from colorlib import workflow

    params, encoder = _prepare_run(args)
    workflow.extract_run_features(params, encoder, shard=args.shard)
    return 0


def _load_onnx_colorizer(args: argparse.Namespace):
    """``--runtime onnx``: ``--model`` (an ``.onnx`` file, or a ``.keras`` one exported once into the
    cache), or the shipped colorizer's export (made once by ``onnxmodel.shipped_onnx``)."""
    from colorlib.colorize import onnxmodel

    if getattr(args, "temperature", None) is not None:
        raise ValueError("--temperature changes a Keras layer; use it with --runtime keras.")
    if getattr(args, "own_size", False):
        raise ValueError("--own-size rebuilds the Keras model at each size; use it with --runtime keras.")
    if not args.model:
        return onnxmodel.OnnxColorizer(onnxmodel.shipped_onnx())
    path = Path(args.model).expanduser()
    if path.suffix == ".onnx":
        return onnxmodel.OnnxColorizer(path)
    from colorlib.colorize import colorize

    quiet.import_tensorflow_quietly()
    return onnxmodel.OnnxColorizer(onnxmodel.exported_model(colorize.load_colorizer(path), path))


def _shipped_keras():
    """The shipped colorizer in Keras (TensorFlow started quietly)."""
    from colorlib.colorize import pretrained

    quiet.import_tensorflow_quietly()
    return pretrained.load_pretrained()


def _runtime(args: argparse.Namespace) -> str:
    """``--runtime``, with ``auto`` resolved (see :data:`colorlib.colorize.onnxmodel.RUNTIMES`);
    commands without the flag run Keras, and so does ``serve`` on ``auto`` (its edits run the
    decoder alone on Keras: a median of 62 ms in Chromium, against 85 ms for ONNX Runtime's whole graph)."""
    from colorlib.colorize import onnxmodel

    runtime = getattr(args, "runtime", onnxmodel.KERAS_RUNTIME)
    if runtime != onnxmodel.AUTO_RUNTIME:
        return runtime
    if getattr(args, "command", None) == "serve":
        return onnxmodel.KERAS_RUNTIME
    needs_keras = (
        getattr(args, "temperature", None) is not None
        or getattr(args, "own_size", False)
        or bool(getattr(args, "reference", None))
    )
    onnx_model = not args.model or Path(args.model).suffix == ".onnx"
    return onnxmodel.ONNX_RUNTIME if onnx_model and not needs_keras else onnxmodel.KERAS_RUNTIME


def _load_colorizer(args: argparse.Namespace):
    """``--model``, or the colorizer that ships with colorlib; with ``--temperature`` when given; on
    ONNX Runtime or Keras as ``--runtime`` says (:func:`_runtime`)."""
    from colorlib.colorize import colorize, onnxmodel

    if _runtime(args) == onnxmodel.ONNX_RUNTIME:
        return _load_onnx_colorizer(args)
    if args.model and Path(args.model).suffix == ".onnx":
        raise ValueError(f"{args.model} is an ONNX file: run it with --runtime onnx.")
    quiet.import_tensorflow_quietly()
    if args.model:
        model = colorize.load_colorizer(args.model)
    else:
        from colorlib.colorize import pretrained

        model = pretrained.load_pretrained()
    if getattr(args, "temperature", None) is not None:
        from colorlib.archs import annealed_mean

        annealed_mean.set_temperature(model, args.temperature)
    return model


def _cmd_serve(args: argparse.Namespace) -> int:
    from colorlib.cli import serve
    from colorlib.cli.studio import Studio, folder_photos

    if args.max_mb <= 0 or args.max_megapixels <= 0:
        raise ValueError("--max-mb and --max-megapixels must be above 0.")
    photos = folder_photos(args.folder)  # a missing or empty folder is refused before loading
    serve.check_port(args.host, args.port)  # and a port in use
    model = _load_colorizer(args)
    # The page's references read the encoder's features: the same colorizer in Keras, loaded when first asked.
    keras_twin = _shipped_keras if _runtime(args) == ONNX_RUNTIME and not args.model else None
    studio = Studio(
        model,
        Path(args.out).expanduser(),
        photos,
        max_bytes=int(args.max_mb * 2**20),
        max_pixels=int(args.max_megapixels * 1e6),
        description=serve.describe(model, args.model or "the colorizer that ships with colorlib"),
        keras_twin=keras_twin,
    )
    serve.serve(studio, args.host, args.port, tuple(args.allow_host))
    # Every result was written when it was saved; skip the 2-3 s TensorFlow takes to tear down, so that
    # Ctrl+C ends the command at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from colorlib.evaluation import metrics

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
    from colorlib.colorize import photofiles
    from colorlib.evaluation import baselines

    inputs = photofiles.collect_inputs(args.inputs)
    mean_ab = None
    if args.method == "mean-ab":
        if not args.train:
            raise ValueError("The mean-ab baseline needs --train DIR, the training photos to average.")
        from colorlib.data import images

        mean_ab = baselines.mean_ab(images.list_images(args.train, recursive=True))
        print(f"mean ab of the training photos: a={mean_ab[0]:.2f}, b={mean_ab[1]:.2f}")
    method = args.method.replace("-", "_")
    written = baselines.write_baseline_predictions(inputs, args.out, method, mean_ab)
    skipped = len(inputs) - len(written)
    print(f"wrote {len(written)} {args.method} predictions into {args.out}; {skipped} skipped")
    return 0 if len(written) == len(inputs) else 1


def _cmd_pipeline(args: argparse.Namespace) -> int:
    quiet.import_tensorflow_quietly()
    from colorlib.workflow import chain

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
    from colorlib.workflow import compare, comparepage

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
    print(f"Comparison of {len(variants)} runs: {comparepage.write_compare(comparison, args.out)}")
    if args.write_best:
        chosen, reason = compare.choose_best(variants)
        compare.write_best(chosen, reason, args.write_best)
        print(f"{args.write_best}: {chosen.name} ({reason})")
    return 1 if missing else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    return _compare_runs(args.runs, args)


def _cmd_variants(args: argparse.Namespace) -> int:
    quiet.import_tensorflow_quietly()  # each chain checks its encoder's weights in this process
    from colorlib.reports.htmlreport import format_seconds
    from colorlib.workflow import compare

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


def _cmd_ship(args: argparse.Namespace) -> int:
    quiet.import_tensorflow_quietly()
    from colorlib.core.params import load_params
    from colorlib.workflow import ship

    path = ship.ship_run(load_params(args.params), params_file=args.params)
    print(f"Shipped the decoder of {args.params} as {path}; update docs/pretrained.md with its scores.")
    return 0
