"""``colorlib colorize clip.mp4``: a video colorized frame by frame, its colours held still, its sound kept.

:func:`colorize_video` reads a video with PyAV (which bundles FFmpeg: nothing to install beside
it), colours each frame at its own resolution (its own L, ab from the colorizer at the model's
size) through a :class:`colorlib.colorize.temporal.ClipColorizer`, and writes a video of the same
name into the output folder with the same frame rate, frame count, size and timestamps, encoded
as H.264 (:data:`VIDEO_CODEC`, quality :data:`VIDEO_CRF`) in the same container. Its audio streams
are copied packet for packet, unchanged. The file is written under a temporary name and renamed
when whole, so a bad or truncated video leaves nothing behind; it is refused with a sentence.

:func:`colorize_frames` does the same for a folder of numbered frames (in name order), into a
folder of frames of the same names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorlib.colorize.fullres import combine_full_resolution
from colorlib.colorize.temporal import ClipColorizer
from colorlib.core.io import atomic_write

#: Files colorize reads as videos, by extension (lower case).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
#: The video encoder of the output, and its quality (x264's constant rate factor: 18 looks lossless).
VIDEO_CODEC, VIDEO_CRF = "libx264", 18


class VideoError(ValueError):
    """A video that cannot be read or written; the message says which and why."""


@dataclass
class VideoReport:
    """What :func:`colorize_video` did: the file written, its frames, the audio streams copied, the
    scene cuts met (where the colours started afresh), and the frames per second it ran at."""

    written: Path
    frames: int
    audio_streams: int
    cuts: int
    seconds: float

    def summary(self) -> str:
        rate = self.frames / self.seconds if self.seconds else 0.0
        return (
            f"colorized {self.frames} frames into {self.written} ({rate:.1f} frames/s, "
            f"{self.audio_streams} audio stream(s) copied, {self.cuts} scene cut(s))"
        )


def is_video(path: Path | str) -> bool:
    """Whether colorize treats ``path`` as a video (by its extension)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def _open(path: Path):
    import av

    if not path.is_file():
        raise FileNotFoundError(f"No video at {path}.")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise VideoError(f"{path} could not be opened as a video: {error}.") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path} holds no video stream.")
    return container


def _colored(clip: ClipColorizer, rgb: np.ndarray, vividness: float) -> np.ndarray:
    return combine_full_resolution(rgb, clip.ab(clip.frame_l(rgb)), vividness=vividness)


def colorize_video(
    model,
    source: Path | str,
    out_dir: Path | str,
    method: str = "temporal",
    vividness: float = 1.0,
    progress: bool = True,
    references: Sequence = (),
) -> VideoReport:
    """Colorize the video ``source`` into ``out_dir`` under its own name (see the module docstring).
    ``references``: ``(frame number or None, Reference)`` pairs that guide the frames nearest them.

    Raises FileNotFoundError for a missing file and :class:`VideoError` for one that is not a
    readable video, or breaks off (a truncated file), naming the frame; nothing is written then.
    """
    import time

    import av

    source, out_dir = Path(source), Path(out_dir).expanduser()
    target = out_dir / source.name
    if target.resolve() == source.resolve():
        raise ValueError(f"Refusing to write {target} over its input; choose another output folder.")
    clip = ClipColorizer(model, method, references=references)
    started, frames = time.perf_counter(), 0
    with _open(source) as reader:
        video_in = reader.streams.video[0]
        audio_in = list(reader.streams.audio)
        total = video_in.frames or None
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, suffix=source.suffix) as temporary:
            with av.open(str(temporary), "w") as writer:
                video_out = writer.add_stream(
                    VIDEO_CODEC, rate=video_in.average_rate, options={"crf": str(VIDEO_CRF)}
                )
                video_out.width, video_out.height = (
                    video_in.codec_context.width,
                    video_in.codec_context.height,
                )
                video_out.pix_fmt = "yuv420p"
                video_out.time_base = video_in.time_base
                audio_out = {stream.index: writer.add_stream_from_template(stream) for stream in audio_in}
                bar = tqdm(total=total, desc=f"Colorizing {source.name}", unit="frame", disable=not progress)
                try:
                    for packet in reader.demux(video_in, *audio_in):
                        if packet.stream.index in audio_out:
                            if packet.dts is not None:  # the demuxer's flush packets carry nothing
                                packet.stream = audio_out[packet.stream.index]
                                writer.mux(packet)
                            continue
                        for frame in packet.decode():
                            colored = _colored(clip, frame.to_ndarray(format="rgb24"), vividness)
                            out = av.VideoFrame.from_ndarray(colored, format="rgb24")
                            out.pts, out.time_base = frame.pts, frame.time_base
                            writer.mux(video_out.encode(out))
                            frames += 1
                            bar.update(1)
                    writer.mux(video_out.encode(None))
                except av.error.FFmpegError as error:
                    raise VideoError(
                        f"{source} breaks off after {frames} frames ({error}); it may be truncated. "
                        "Nothing was written."
                    ) from None
                finally:
                    bar.close()
    if not frames:
        target.unlink(missing_ok=True)
        raise VideoError(f"{source} holds no frame that could be decoded; nothing was written.")
    return VideoReport(target, frames, len(audio_in), clip.cuts, time.perf_counter() - started)


def numbered_frames(folder: Path | str) -> list[Path]:
    """The photos of a folder of frames, in natural name order (``frame2`` before ``frame10``)."""
    import re

    from colorlib.data.images import list_images

    def key(path: Path) -> list:
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]

    found = sorted(list_images(folder), key=key)
    if not found:
        raise FileNotFoundError(f"No frames in {folder}: give a folder of numbered images.")
    return found


def read_frames(paths: Sequence[Path]) -> Iterator[np.ndarray]:
    from colorlib.data.images import load_rgb

    for path in paths:
        yield load_rgb(path)


def colorize_frames(
    model,
    folder: Path | str,
    out_dir: Path | str,
    method: str = "temporal",
    vividness: float = 1.0,
    progress: bool = True,
    references: Sequence = (),
) -> VideoReport:
    """The frames of ``folder`` colorized as one clip into ``out_dir``, under the same names."""
    import time

    import cv2

    paths = numbered_frames(folder)
    out_dir = Path(out_dir).expanduser()
    if out_dir.resolve() == Path(folder).resolve():
        raise ValueError(
            f"Refusing to write the frames over their inputs in {out_dir}; choose another folder."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    clip = ClipColorizer(model, method, references=references)
    started = time.perf_counter()
    for path, rgb in tqdm(
        zip(paths, read_frames(paths), strict=True), total=len(paths), desc="Colorizing frames", unit="frame",
        disable=not progress,
    ):  # fmt: skip
        colored = _colored(clip, rgb, vividness)
        with atomic_write(out_dir / path.name, suffix=path.suffix) as temporary:
            if not cv2.imwrite(str(temporary), cv2.cvtColor(colored, cv2.COLOR_RGB2BGR)):
                raise VideoError(f"OpenCV could not write {path.name}.")
    return VideoReport(out_dir, len(paths), 0, clip.cuts, time.perf_counter() - started)


__all__ = [
    "VIDEO_EXTENSIONS",
    "VideoError",
    "VideoReport",
    "colorize_frames",
    "colorize_video",
    "is_video",
    "numbered_frames",
]
