"""The comparison of the variants, on tiny fake runs: summary.json files and a few small photos."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import htmlcheck
import numpy as np
import pytest
from PIL import Image

from colorlib import cli
from colorlib.core.io import write_json
from colorlib.workflow import chain, compare, comparepage

GRAY = {
    "n": 3,
    "psnr": 22.0,
    "ssim": 0.9,
    "colorfulness": 0.0,
    "colorfulness_truth": 30.0,
    "delta_colorfulness": 30.0,
    "auc": 88.0,
}
MEAN_AB = GRAY | {"psnr": 21.5, "colorfulness": 5.0, "delta_colorfulness": 25.0, "auc": 87.0}
STEMS = ("alpha", "beta", "gamma")
GRAY_STEMS = ("old1", "old2")
EMBEDDED_JPEG = "data:image/jpeg;base64,"


def _scores(psnr: float, delta: float, ssim: float = 0.9) -> dict:
    return {
        "n": 3,
        "psnr": psnr,
        "ssim": ssim,
        "colorfulness": 30 - delta,
        "colorfulness_truth": 30.0,
        "delta_colorfulness": delta + 3.0,  # per photo: more than the gap of the means
        "auc": 89.0,
    }


def _photo(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _fake_run(
    root: Path, name: str, test: dict, benchmark: dict | None = None, gray: dict = GRAY, split_key: str = "s1"
) -> Path:
    """A finished run of ``name`` under ``root/data/runs``, and its parameters file; the file's path."""
    run_dir = root / "data" / "runs" / name
    truths = [_photo(root / "photos" / f"{stem}.png", seed) for seed, stem in enumerate(STEMS)]
    inputs = [
        _photo(root / "photos" / "gray" / f"{stem}.png", 10 + seed) for seed, stem in enumerate(GRAY_STEMS)
    ]
    for seed, stem in enumerate(STEMS):
        _photo(run_dir / "outputs" / "test" / f"{stem}.png", 100 + seed)
    for seed, stem in enumerate(GRAY_STEMS):
        _photo(run_dir / "outputs" / "gray" / f"{stem}.png", 200 + seed)
    write_json(run_dir / "split.json", {"test": [str(p) for p in truths], "gray": [str(p) for p in inputs]})
    write_json(run_dir / "dataset.json", {"key": split_key, "result": {}})
    tables = {"test": {"model": test, "gray": gray, "mean ab": MEAN_AB}}
    if benchmark is not None:
        tables["kodak24"] = {"model": benchmark, "gray": GRAY}
    write_json(
        run_dir / "metrics" / "summary.json", {"key": "k", "result": {"mean_ab": [0, 0], "tables": tables}}
    )
    (run_dir / "model").mkdir()
    (run_dir / "model" / "history.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n")
    params_file = root / "params" / f"{name}.yaml"
    params_file.parent.mkdir(exist_ok=True)
    params_file.write_text(f"# the {name} variant\nrun_name: {name}\ndata_dir: {root / 'data'}\n")
    return params_file


@pytest.fixture
def three_runs(tmp_path: Path) -> list[Path]:
    """Variant a: above gray everywhere, poor colour; b: better colour, but under gray's PSNR on the
    test photos; c: closest colour, far under gray."""
    return [
        _fake_run(tmp_path, "a", _scores(23.0, 20.0), _scores(24.0, 18.0)),
        _fake_run(tmp_path, "b", _scores(21.8, 10.0, ssim=0.95), _scores(23.0, 9.0)),
        _fake_run(tmp_path, "c", _scores(20.0, 5.0)),
    ]


def test_table_has_every_variant_and_the_baselines_and_marks_the_best(three_runs: list[Path]) -> None:
    variants = [compare.load_variant(path) for path in three_runs]
    comparison = compare.build_comparison(variants)
    assert comparison.sets == ["test", "kodak24"]
    assert comparison.notes == []
    best = compare.best_rows(comparison)
    assert best["test", "psnr"] == {"a"} and best["test", "ssim"] == {"b"}
    assert best["test", "delta_colorfulness"] == {"c"} and best["kodak24", "delta_colorfulness"] == {"b"}
    assert best["test", "auc"] == {"a", "b", "c"}  # a tie marks every tied value
    assert ("test", "colorfulness") not in best  # no better direction
    page = comparepage.compare_html(comparison)
    for name in (
        "<td>a</td>",
        "<td>b</td>",
        "<td>c</td>",
        "gray (baseline)",
        "mean ab (baseline)",
        "kodak24",
    ):
        assert name in page
    assert '<td class="best">23.000</td>' in page  # a's test PSNR
    assert '<td class="best">5.000</td>' in page  # c's |Δ colorfulness|
    assert page.count('class="best"') == sum(len(names) for names in best.values())
    assert "2 epochs" in page


def test_markdown_table_has_a_row_per_variant_and_baseline_with_the_best_in_bold(
    three_runs: list[Path], tmp_path: Path
) -> None:
    comparison = compare.build_comparison([compare.load_variant(path) for path in three_runs])
    text = comparepage.compare_markdown(comparison)
    test_part, kodak_part = text.split("**kodak24**")
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = {line.replace("\\|", "").count("|") for line in table_lines}
    assert cells == {len(compare.COLUMNS) + 3}, cells  # name, the metrics, time: no stray pipe
    rows = [
        line for line in test_part.splitlines() if line.startswith("| ") and not line.startswith("| method")
    ]
    assert [row.split(" | ")[0][2:] for row in rows] == [
        "a",
        "b",
        "c",
        "gray (baseline)",
        "mean ab (baseline)",
    ]
    assert "| **23.00** |" in rows[0]  # a's test PSNR, the best
    assert "**5.00**" in rows[2]  # c's |Δ colorfulness|, the best
    assert "| c | 20.00 |" in text and "kodak24" not in test_part
    assert kodak_part.count("\n| ") >= 4
    comparepage.write_compare(comparison, tmp_path / "out")
    assert (tmp_path / "out" / compare.MARKDOWN_FILE).read_text() == text


def test_a_gan_runs_time_counts_its_adversarial_epochs_too(three_runs: list[Path]) -> None:
    run_dir = three_runs[0].parents[1] / "data" / "runs" / "a"
    (run_dir / "model-gan").mkdir()
    (run_dir / "model-gan" / "history.csv").write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    variants = [compare.load_variant(path) for path in three_runs]
    assert variants[0].gan_epochs == 3 and variants[1].gan_epochs is None
    text = comparepage.compare_markdown(compare.build_comparison(variants))
    assert "2 epochs, then 3 GAN epochs" in text


def test_grid_embeds_every_variants_photos_and_nothing_is_fetched(
    three_runs: list[Path], tmp_path: Path
) -> None:
    variants = [compare.load_variant(path) for path in three_runs]
    out = comparepage.write_compare(compare.build_comparison(variants), tmp_path / "out")
    page = out.read_text()
    assert out.name == compare.COMPARE_FILE
    test_rows, gray_rows = len(STEMS), len(GRAY_STEMS)
    # test rows: gray input, 3 variants, original; gray rows: no original
    assert page.count(EMBEDDED_JPEG) == test_rows * 5 + gray_rows * 4
    assert "test: alpha" in page and "gray: old1" in page
    assert htmlcheck.external_resources(page) == []
    assert "<style>" in page and "<script" not in page


def test_best_variant_follows_the_rule_and_is_copied_with_a_header(
    three_runs: list[Path], tmp_path: Path
) -> None:
    variants = [compare.load_variant(path) for path in three_runs]
    chosen, reason = compare.choose_best(variants)
    assert chosen.name == "a"  # b and c are closer in colour but under gray's PSNR (22.0)
    assert (
        "1 of 3 variants" in reason and "ΔCF (papers) on the test photos (20.00; per photo 23.00)" in reason
    )
    best = compare.write_best(chosen, reason, tmp_path / "best.yaml", today=date(2026, 1, 2))
    text = best.read_text()
    assert text.startswith("# Chosen by `colorlib compare` on 2026-01-02")
    assert text.endswith(three_runs[0].read_text())


def test_no_variant_above_gray_everywhere_is_a_clear_error(tmp_path: Path) -> None:
    low_auc = _scores(23.0, 5.0) | {"auc": 87.0}
    variants = [
        compare.load_variant(_fake_run(tmp_path, "low", _scores(20.0, 5.0))),
        compare.load_variant(_fake_run(tmp_path, "vivid", _scores(23.0, 1.0), low_auc)),
    ]
    with pytest.raises(ValueError, match="none is chosen") as raised:
        compare.choose_best(variants)
    assert "low: test: psnr 20.00 is not above gray's 22.00" in str(raised.value)
    assert "vivid: kodak24: auc 87.00 is not above gray's 88.00" in str(raised.value)


def test_the_table_shows_both_colour_gaps_each_named(three_runs: list[Path]) -> None:
    variants = [compare.load_variant(path) for path in three_runs]
    text = comparepage.compare_markdown(compare.build_comparison(variants))
    assert "ΔCF (papers) ↓" in text and "\\|Δ colorfulness\\| per photo ↓" in text
    assert "| a | **23.00** | 0.900 | 10.00 | 20.00 | 23.00 | **89.00** |" in text


def test_baselines_that_disagree_on_the_same_split_are_noted(tmp_path: Path) -> None:
    other_gray = GRAY | {"psnr": 22.5}
    first = compare.load_variant(_fake_run(tmp_path, "a", _scores(23.0, 20.0)))
    second = compare.load_variant(_fake_run(tmp_path, "b", _scores(23.0, 20.0), gray=other_gray))
    third = compare.load_variant(
        _fake_run(tmp_path, "c", _scores(23.0, 20.0), gray=other_gray, split_key="s2")
    )
    comparison = compare.build_comparison([first, second, third])
    assert comparison.baselines["test"]["gray"]["psnr"] == GRAY["psnr"]
    assert len(comparison.notes) == 1 and "between a and b" in comparison.notes[0]


def test_run_time_is_the_longest_complete_report(tmp_path: Path) -> None:
    ok = {"seconds": 10.0, "status": "ok"}
    write_json(tmp_path / "20260101-000000-a" / "timings.json", dict.fromkeys(chain.NOTEBOOKS, ok))
    rerun = {"seconds": 1.0, "status": "ok"}
    write_json(tmp_path / "20260102-000000-a" / "timings.json", dict.fromkeys(chain.NOTEBOOKS, rerun))
    failed = {name: {"seconds": 99.0, "status": "failed"} for name in chain.NOTEBOOKS}
    write_json(tmp_path / "20260103-000000-a" / "timings.json", failed)
    write_json(
        tmp_path / "20260104-000000-a-b" / "timings.json",
        dict.fromkeys(chain.NOTEBOOKS, ok | {"seconds": 500}),
    )
    assert compare.run_seconds(tmp_path, "a") == 10.0 * len(chain.NOTEBOOKS)
    assert compare.run_seconds(tmp_path, "zzz") is None


def test_a_missing_run_or_variant_name_says_what_to_do(tmp_path: Path, three_runs: list[Path]) -> None:
    with pytest.raises(FileNotFoundError, match="neither a parameters file nor a run folder"):
        compare.load_variant(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="run its chain first"):
        compare.load_variant(tmp_path / "empty")
    with pytest.raises(ValueError, match="No variant named nope"):
        compare.variant_files(tmp_path / "params", ["nope"])
    assert [p.stem for p in compare.variant_files(tmp_path / "params", ["b"])] == ["b"]


def test_compare_command_takes_run_folders_and_params_files(
    three_runs: list[Path], tmp_path: Path, capsys
) -> None:
    run_folder = tmp_path / "data" / "runs" / "b"
    best = tmp_path / "best.yaml"
    sources = [str(three_runs[0]), str(run_folder), str(three_runs[2])]
    status = cli.main(["compare", *sources, "--out", str(tmp_path / "cmp"), "--write-best", str(best)])
    assert status == 0
    assert (tmp_path / "cmp" / compare.COMPARE_FILE).is_file()
    assert "run_name: a" in best.read_text()
    assert (
        cli.main(["compare", str(three_runs[0]), str(tmp_path / "nowhere"), "--out", str(tmp_path / "c")])
        == 1
    )
    assert "left out of the comparison" in capsys.readouterr().err


def test_variants_go_on_after_a_failing_one_and_exit_1(
    three_runs: list[Path], tmp_path: Path, monkeypatch, capsys
) -> None:
    ran = []

    def fake_run_chain(params_path, **options) -> Path:
        ran.append(Path(params_path).stem)
        if Path(params_path).stem == "a":
            raise chain.ChainError("03_training.ipynb", "boom", tmp_path / "r", Path(params_path))
        return tmp_path / "reports" / Path(params_path).stem

    monkeypatch.setattr(chain, "run_chain", fake_run_chain)
    out = tmp_path / "cmp"
    status = cli.main(["variants", "--params-dir", str(tmp_path / "params"), "--out", str(out)])
    assert status == 1
    assert ran == ["a", "b", "c"]
    printed = capsys.readouterr().out
    assert "a: FAILED in" in printed and "boom" in printed
    assert "b: done in" in printed and "c: done in" in printed
    assert (out / compare.COMPARE_FILE).is_file()
    assert (
        cli.main(["variants", "--params-dir", str(tmp_path / "params"), "--only", "b", "--out", str(out)])
        == 0
    )
