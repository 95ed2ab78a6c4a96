"""``colorlib colorize`` (photos, videos, folders of frames, references), ``colorlib index`` and
``colorlib export``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from colorlib.cli.commands import _load_colorizer
from colorlib.colorize.onnxmodel import AUTO_RUNTIME, KERAS_RUNTIME, ONNX_RUNTIME
from colorlib.core.config import REFERENCE_INDEX

#: ``--reference auto``: the references are found in an index (``colorlib index``).
AUTO_REFERENCE = "auto"
#: What ``colorlib export --format`` writes.
EXPORT_FORMATS = ("onnx",)
#: The largest difference in ab (CIE units) between the export and Keras that export accepts.
EXPORT_TOLERANCE_AB = 0.5


def add_export_command(commands) -> None:
    """``colorlib export``'s parser, on the subcommands ``commands``."""
    export = commands.add_parser(
        "export", help="write a colorizer as one ONNX file, for ONNX Runtime in any language (docs/onnx.md)"
    )
    export.add_argument(
        "--out",
        required=True,
        help="the file to write, ending in .onnx (its record NAME.onnx.json beside it holds its SHA-256)",
    )
    export.add_argument(
        "--model",
        help="a trained .keras model (default: the colorizer that ships with colorlib: the Lite0 encoder and "
        "the decoder with its hint head, as one graph)",
    )
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, default=EXPORT_FORMATS[0], help="onnx (the only one so far)"
    )
    export.set_defaults(handler=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    """``colorlib export --out FILE.onnx [--model M]``: the colorizer as one ONNX graph, checked
    against Keras on a test input before it is reported written."""
    import numpy as np

    from colorlib.colorize import onnxmodel
    from colorlib.core import quiet
    from colorlib.core.config import AB_SCALE
    from colorlib.data.hints import Hint, hint_planes

    out = Path(args.out).expanduser()
    if out.suffix != ".onnx":
        raise ValueError(f"--out must end in .onnx, got {out}.")
    if args.model and Path(args.model).suffix == ".onnx":
        raise ValueError(f"{args.model} is already an ONNX file; give the .keras model it came from.")
    quiet.import_tensorflow_quietly()
    model = _load_colorizer(argparse.Namespace(model=args.model, runtime=onnxmodel.KERAS_RUNTIME))
    source = args.model or "the colorizer that ships with colorlib"
    record = onnxmodel.export_onnx(model, out, source=str(source))
    exported = onnxmodel.OnnxColorizer(out)
    size = record.image_size
    ramp = np.linspace(0.05, 0.95, size, dtype=np.float32)
    l_test = np.broadcast_to((ramp[:, None] + ramp[None, :])[None, ..., None] / 2, (1, size, size, 1))
    test = [np.ascontiguousarray(l_test)]
    if len(exported.input_names) > 1:
        planes = hint_planes([Hint(size / 3, size / 2, (0.4, -0.2))], (size, size), size)
        test += [planes[0][None], planes[1][None]]
    batch = test if len(test) > 1 else test[0]
    keras_ab = np.asarray(model.predict_on_batch(batch))
    difference = float(np.abs(exported.predict_on_batch(batch) - keras_ab).max())
    if difference * AB_SCALE > EXPORT_TOLERANCE_AB:
        out.unlink()
        onnxmodel.record_path(out).unlink()
        raise ValueError(
            f"The export differs from Keras by {difference * AB_SCALE:.3f} in ab (at most "
            f"{EXPORT_TOLERANCE_AB} allowed); nothing was written. Please report this with the model."
        )
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in record.inputs.items())
    print(
        f"wrote {out} ({record.bytes / 2**20:.1f} MB, SHA-256 {record.sha256})\n"
        f"  and its record {onnxmodel.record_path(out)}\n"
        f"  inputs: {shapes}; output: ab {tuple(record.output['ab'])}; float32, channels last, N free\n"
        f"  against Keras on a test input: largest ab difference {difference * AB_SCALE:.1e} (CIE units)"
    )
    return 0


def _cmd_colorize(args: argparse.Namespace) -> int:
    from colorlib.color.lab import check_vividness
    from colorlib.colorize import colorize, photofiles, video

    clips = [Path(name) for name in args.inputs if args.frames or video.is_video(name)]
    if clips:
        return _colorize_clips(args, clips)
    scan = photofiles.scan_inputs(args.inputs, recursive=args.recursive)
    photofiles.plan_outputs(scan, args.out)  # refuse a bad output folder before loading the model
    if args.hints:
        if len(args.inputs) != 1:
            raise ValueError("--hints takes one photo: its points are in that photo's pixels.")
        check_vividness(args.vividness)
        photo = colorize.read_hinted_photo(args.inputs[0], args.hints, args.out)  # before the model
        written = colorize.colorize_hinted(_load_colorizer(args), photo, args.vividness)
        print(f"colorized {args.inputs[0]} with the hints of {args.hints} into {written}")
        return 0
    if len(args.reference) > 1:
        raise ValueError("Photos take one --reference; several guide the frames of a video.")
    auto = args.reference == [AUTO_REFERENCE]
    if args.index and not auto:
        raise ValueError("--index is for --reference auto.")
    if (auto or args.reference) and args.runtime == ONNX_RUNTIME:
        raise ValueError("--reference reads the encoder's features: use it with --runtime keras.")
    references = [] if auto else _reference_photos(args.reference)  # a bad one is told before the model
    index_file = Path(args.index or REFERENCE_INDEX)
    if auto and not index_file.is_file():
        raise FileNotFoundError(
            f"--reference auto needs a reference index and there is none at {index_file}. Make one from "
            f"colour photos (say your training photos): colorlib index PHOTOS --out {index_file}"
        )
    model = _load_colorizer(args)
    if auto or references:
        from colorlib.colorize import reference, refindex

        if auto:
            guide = refindex.AutoReferences(model, refindex.ReferenceIndex.load(index_file, model))
        else:
            guide = reference.Reference.of(model, references[0][1])
        report = reference.colorize_with_reference(model, scan, args.out, guide, args.vividness)
    else:
        report = colorize.colorize_files(
            model,
            scan,
            args.out,
            batch_size=args.batch_size,
            own_size=args.own_size,
            vividness=args.vividness,
        )
    print(report.summary())
    return 1 if report.failed else 0


def _cmd_index(args: argparse.Namespace) -> int:
    """``colorlib index PHOTOS --out FILE``: the reference index of ``--reference auto``."""
    from colorlib.colorize import photofiles, refindex

    scan = photofiles.scan_inputs(args.inputs)
    if not scan.photos:
        raise FileNotFoundError(f"No photos found in {', '.join(args.inputs)}.")
    model = _load_colorizer(args)
    index, left_out = refindex.ReferenceIndex.build(model, [path for path, _ in scan.photos])
    for path, reason in left_out:
        print(f"left out {path}: {reason}", file=sys.stderr)
    written = index.save(args.out)
    print(f"indexed {len(index.paths)} photos into {written} ({len(left_out)} left out)")
    return 0


def _reference_photos(given: Sequence[str]) -> list[tuple[int | None, object]]:
    """``--reference PHOTO[:FRAME]`` -> ``[(frame or None, uint8 RGB)]``; a bad one is refused."""
    from colorlib.data.images import ImageLoadError, load_rgb

    found = []
    for text in given:
        name, _, frame = text.rpartition(":") if text.rpartition(":")[2].isdigit() else (text, "", "")
        try:
            found.append((int(frame) if frame else None, load_rgb(name)))
        except ImageLoadError as error:
            raise ValueError(f"The reference {name} could not be read: {error.reason}.") from None
    return found


def _colorize_clips(args: argparse.Namespace, clips: list[Path]) -> int:
    """``colorize`` of videos (and, with ``--frames``, folders of frames): each into ``--out``."""
    from colorlib.color.lab import check_vividness
    from colorlib.colorize import video

    if len(clips) != len(args.inputs):
        raise ValueError("Give videos (or, with --frames, folders of frames) and photos in separate runs.")
    if args.hints or args.own_size:
        raise ValueError("--hints and --own-size are for photos, not videos.")
    check_vividness(args.vividness)
    for clip in clips:  # refuse a missing input before loading the model
        if not (clip.is_dir() if args.frames else clip.is_file()):
            raise FileNotFoundError(f"No {'folder of frames' if args.frames else 'video'} at {clip}.")
    if AUTO_REFERENCE in args.reference or args.index:
        raise ValueError("--reference auto is for photos; give a video its reference photos or frames.")
    if args.reference and args.runtime == ONNX_RUNTIME:
        raise ValueError("--reference reads the encoder's features: use it with --runtime keras.")
    if args.runtime == AUTO_RUNTIME:  # one frame at a time: Keras 11.0 frames/s, ONNX Runtime 9.3 (bikes)
        args.runtime = KERAS_RUNTIME
    photos = _reference_photos(args.reference)
    model = _load_colorizer(args)
    from colorlib.colorize.reference import Reference

    references = [(frame, Reference.of(model, rgb)) for frame, rgb in photos]
    method = "frame" if args.per_frame else "temporal"
    failed = 0
    for clip in clips:
        colorize_clip = video.colorize_frames if args.frames else video.colorize_video
        try:
            report = colorize_clip(model, clip, args.out, method, args.vividness, references=references)
            print(report.summary())
        except video.VideoError as error:
            print(f"colorlib colorize: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
