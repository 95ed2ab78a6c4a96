"""``colorlib colorize`` (photos, videos, folders of frames, references) and ``colorlib index``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from colorlib.cli.commands import _load_colorizer
from colorlib.core.config import REFERENCE_INDEX

#: ``--reference auto``: the references are found in an index (``colorlib index``).
AUTO_REFERENCE = "auto"


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
