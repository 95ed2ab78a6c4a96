"""Videos (issue 40): colours that hold still, sound that survives, scene cuts, damaged files, and
colours taken from a reference photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorlib.colorize import temporal, video
from colorlib.colorize.fullres import combine_full_resolution, predict_ab
from colorlib.evaluation import videometrics

SIDE, FRAMES, RATE = 64, 16, 12


def moving_pattern(frames: int = FRAMES, seed: int = 0, offset: int = 0) -> list[np.ndarray]:
    """A textured scene sliding 2 pixels a frame, with a little sensor noise in every frame: uint8 RGB."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(40, 220, (SIDE, SIDE * 2, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture[::8, ::8], 8, axis=0), 8, axis=1)  # 8-pixel blocks
    clip = []
    for t in range(frames):
        frame = texture[:, offset + 2 * t : offset + 2 * t + SIDE].astype(np.int16)
        frame += rng.integers(-6, 7, frame.shape, dtype=np.int16)
        clip.append(np.clip(frame, 0, 255).astype(np.uint8))
    return clip


def write_clip(path: Path, frames: list[np.ndarray], audio: bool = False) -> Path:
    """An H.264 video of ``frames`` at :data:`RATE` frames a second, with an AAC tone when ``audio``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
        if sound is not None:
            samples = np.sin(np.linspace(0, 400 * np.pi, 16000 * len(frames) // RATE)).astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = av.AudioFrame.from_ndarray(
                    samples[None, start : start + 1024], format="fltp", layout="mono"
                )
                chunk.sample_rate = 16000
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return path


def clip_facts(path: Path) -> tuple[tuple, list[bytes]]:
    """(frame rate, width, height, decoded frames) and the audio packets' bytes of a video."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = (stream.average_rate, stream.codec_context.width, stream.codec_context.height)
        decoded = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        sound = (
            [bytes(p) for p in container.demux(*container.streams.audio) if p.size]
            if container.streams.audio
            else []
        )
    return (*facts, decoded), sound


def colour_clip(model, clip: list[np.ndarray], method: str) -> list[np.ndarray]:
    colorizer = temporal.ClipColorizer(model, method)
    return [combine_full_resolution(frame, colorizer.ab(colorizer.frame_l(frame))) for frame in clip]


@pytest.fixture(scope="module")
def flickering_colorizer():
    """A colorizer whose colours follow the sensor noise of each frame (ab = tanh of 8 × the Laplacian of
    L): coloured one by one, the frames of a clip flicker, as a real colorizer's guesses do."""
    import keras

    inputs = keras.Input((SIDE, SIDE, 1))
    laplacian = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, activation="tanh")
    model = keras.Model(inputs, laplacian(inputs))
    kernel = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32) * 8
    laplacian.set_weights([np.stack([kernel, -kernel], axis=-1)[:, :, None, :]])
    return model


def test_the_temporal_method_lowers_the_warping_error_of_a_moving_pattern(flickering_colorizer) -> None:
    clip = moving_pattern()
    per_frame = videometrics.warping_error(colour_clip(flickering_colorizer, clip, "frame"), clip)
    held = videometrics.warping_error(colour_clip(flickering_colorizer, clip, "temporal"), clip)
    assert held < 0.6 * per_frame, (held, per_frame)
    assert videometrics.warping_error(clip, clip) < held  # the true clip is steadier still


def test_the_metrics_know_a_steady_clip_from_a_flickering_one() -> None:
    clip = moving_pattern(noise := 8)
    flicker = [
        np.clip(f.astype(int) + (40 if t % 2 else -40) * np.array([1, 0, -1]), 0, 255).astype(np.uint8)
        for t, f in enumerate(clip)
    ]
    assert videometrics.warping_error(flicker, clip) > 5 * videometrics.warping_error(clip, clip)
    assert videometrics.color_consistency(flicker) > videometrics.color_consistency(clip)
    with pytest.raises(ValueError, match="two or more frames"):
        videometrics.warping_error(clip[:1], clip[:1])
    assert noise == 8


def test_a_scene_cut_starts_the_colours_afresh(small_colorizer) -> None:
    clip = moving_pattern(6, seed=0) + moving_pattern(6, seed=1, offset=40)
    clip[6:] = [255 - frame for frame in clip[6:]]  # another scene: the light changes everywhere
    colorizer = temporal.ClipColorizer(small_colorizer)
    outputs = [colorizer.ab(colorizer.frame_l(frame)) for frame in clip]
    assert colorizer.cuts == 1
    automatic = predict_ab(small_colorizer, colorizer.frame_l(clip[6])[None])[0]
    np.testing.assert_allclose(outputs[6], automatic, atol=1e-6)  # nothing carried across the cut
    assert not np.allclose(outputs[7], predict_ab(small_colorizer, colorizer.frame_l(clip[7])[None])[0])


def test_a_video_keeps_its_rate_frames_size_and_sound_bit_for_bit(small_colorizer, tmp_path: Path) -> None:
    source = write_clip(tmp_path / "clip.mp4", moving_pattern(), audio=True)
    report = video.colorize_video(small_colorizer, source, tmp_path / "out", progress=False)
    assert (
        report.frames == FRAMES
        and report.audio_streams == 1
        and report.written == tmp_path / "out" / "clip.mp4"
    )
    (facts_in, sound_in), (facts_out, sound_out) = clip_facts(source), clip_facts(report.written)
    assert facts_out == facts_in and sound_in and sound_out == sound_in
    with pytest.raises(ValueError, match="over its input"):
        video.colorize_video(small_colorizer, source, tmp_path, progress=False)


def test_a_truncated_or_false_video_is_refused_and_leaves_nothing(small_colorizer, tmp_path: Path) -> None:
    whole = write_clip(tmp_path / "whole.mp4", moving_pattern())
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 3])
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    out = tmp_path / "out"
    for path in (broken, fake):
        with pytest.raises(video.VideoError, match=path.name):
            video.colorize_video(small_colorizer, path, out, progress=False)
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(FileNotFoundError, match="No video"):
        video.colorize_video(small_colorizer, tmp_path / "missing.mp4", out, progress=False)


def test_a_folder_of_frames_is_coloured_as_one_clip_in_number_order(small_colorizer, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for number, frame in enumerate(moving_pattern(11)):
        Image.fromarray(frame).save(folder / f"frame{number}.png")  # frame10 after frame9
    assert [p.name for p in video.numbered_frames(folder)][-3:] == ["frame8.png", "frame9.png", "frame10.png"]
    report = video.colorize_frames(small_colorizer, folder, tmp_path / "out", progress=False)
    assert report.frames == 11 and sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in folder.iterdir()
    )


@pytest.mark.slow
def test_a_reference_moves_the_colours_toward_its_own() -> None:
    """The shipped colorizer on a gray photo, with and without its colour original as reference."""
    import skimage.data

    from colorlib.color.lab import normalize_ab, rgb_to_lab
    from colorlib.colorize import pretrained, reference

    model = pretrained.load_pretrained()
    truth = skimage.data.coffee()
    gray = np.repeat(np.mean(truth, axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1)
    hints = reference.reference_hints(model, gray, truth)
    assert 10 <= len(hints) <= reference.MAX_HINTS
    l_small = temporal.ClipColorizer(model).frame_l(gray)
    guided = reference.hinted_ab(model, l_small, hints, (gray.shape[1], gray.shape[0]))
    automatic = predict_ab(model, l_small[None])[0]
    small_truth = normalize_ab(rgb_to_lab(np.asarray(truth, np.float32)[::2, ::2] / 255)[..., 1:])
    import cv2

    target = cv2.resize(small_truth, (guided.shape[1], guided.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(guided - target).mean() < 0.8 * np.abs(automatic - target).mean()


@pytest.mark.slow
def test_notebook_06_measures_clips_and_references_and_renders_its_report(tmp_path: Path) -> None:
    """Notebook 06 on a small clip and the smoke run's demo photos (the shipped colorizer), with papermill."""
    import json

    import papermill
    import yaml

    from colorlib.reports import htmlreport

    root = Path(__file__).resolve().parent.parent
    values = yaml.safe_load((root / "params" / "smoke.yaml").read_text())
    values["data_dir"] = str(tmp_path / "data")
    params_file = tmp_path / "smoke.yaml"
    params_file.write_text(yaml.safe_dump(values))
    clip = write_clip(tmp_path / "pattern.mp4", moving_pattern(12))
    executed = tmp_path / "06_video.ipynb"
    parameters = {"params_file": str(params_file), "clips": [str(clip)], "frames": 10, "reference_auto": True}
    papermill.execute_notebook(
        str(root / "notebooks" / "06_video.ipynb"),
        str(executed),
        parameters=parameters,
        cwd=str(root / "notebooks"),
        progress_bar=False,
    )
    reader, _ = htmlreport.render_reports(executed, 1.0)
    page = reader.read_text()
    for words in ("E_warp excess kept", "with the first frame", "reference auto", "ΔCF", "pattern (64×64)"):
        assert words in page, words
    assert page.count("data:image/png;base64") >= 1  # the frame strip
    scores = json.loads((tmp_path / "data" / "runs" / "smoke" / "reference-index.json").read_text())
    assert scores["result"]["photos"] > 0
