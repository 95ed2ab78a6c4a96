"""The papermill chain (colorlib.workflow.chain) and the HTML reports (colorlib.reports.htmlreport).

These tests run the chain over five tiny stand-in notebooks (no TensorFlow), so they
check the orchestration quickly: parameters and $COLORLIB_PARAMS reach the kernel,
the log names each cell, both views of each report, the index and timings are written,
``latest`` moves, a failing notebook stops the chain and is named. The real notebooks
run end to end in tests/test_notebooks.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import htmlcheck
import nbformat
import pytest
import yaml
from nbformat import v4

from colorlib import cli
from colorlib.reports import htmlreport, summaries
from colorlib.workflow import chain, chainlog, runindex


def pipeline_cli(params, reports, notebooks) -> int:
    """``colorlib pipeline`` on these folders; its exit status."""
    arguments = ["--params", str(params), "--reports-dir", str(reports), "--notebooks-dir", str(notebooks)]
    return cli.main(["pipeline", *arguments])


#: A 1×1 PNG, enough for an embedded-image check.
TINY_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
        "2f6a4a0000000049454e44ae426082"
    )
).decode()


def _notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook whose first code cell is the parameters cell, then ``sources``."""
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = v4.new_code_cell("params_file = None\noverrides = {}\nfail_here = False")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [v4.new_markdown_cell("# A stand-in notebook"), parameters]
    notebook.cells += [v4.new_code_cell(source) for source in sources]
    return notebook


#: Every stand-in notebook checks what the chain hands the kernel and draws a figure.
CHECK_PARAMETERS = (
    "import os, sys\n"
    "assert os.path.realpath(sys.executable) == os.environ['EXPECTED_PYTHON'], sys.executable\n"
    "assert params_file == os.environ['COLORLIB_PARAMS'], (params_file, os.environ.get('COLORLIB_PARAMS'))\n"
    "from colorlib.core.params import load_params\n"
    "assert load_params(params_file, overrides).run_name == 'tiny'\n"
    "assert os.getcwd() == os.environ['EXPECTED_CWD'], os.getcwd()"
)
FIGURE = (
    "import matplotlib.pyplot as plt\n"
    "from IPython.display import display\nfigure, axes = plt.subplots(figsize=(2, 2))\n"
    "axes.plot([0, 1], [1, 0])\ndisplay(figure)\nplt.close(figure)"
)


@pytest.fixture
def tiny_chain(tmp_path, monkeypatch):
    """Five stand-in notebooks, a parameters file and an empty reports folder."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in chain.NOTEBOOKS:
        nbformat.write(
            _notebook(CHECK_PARAMETERS, FIGURE, "assert not fail_here, 'stopped on purpose'"),
            notebooks / name,
        )
    params = tmp_path / "tiny.yaml"
    params.write_text(
        yaml.safe_dump({"run_name": "tiny", "encoder_weights": None, "data_dir": str(tmp_path / "data")})
    )
    monkeypatch.setenv("EXPECTED_CWD", str(notebooks))
    monkeypatch.setenv("EXPECTED_PYTHON", os.path.realpath(sys.executable))  # kernel python3 = this Python
    monkeypatch.delenv(chain.PARAMS_ENV, raising=False)
    return notebooks, params, tmp_path / "reports"


def test_run_id_is_time_then_run_name():
    assert chain.make_run_id("smoke", datetime(2026, 11, 26, 4, 15, 0)) == "20261126-041500-smoke"


def test_start_at_accepts_number_stem_or_file_name():
    assert chain.notebooks_from(None) == chain.NOTEBOOKS
    assert chain.notebooks_from("03") == chain.NOTEBOOKS[2:]
    assert chain.notebooks_from("03_training") == chain.NOTEBOOKS[2:]
    assert chain.notebooks_from("05_results.ipynb") == chain.NOTEBOOKS[4:]
    assert chain.notebooks_from("06") == ("06_video.ipynb",)  # run alone, never after the chain
    with pytest.raises(ValueError, match="names no notebook"):
        chain.notebooks_from("07")


def test_point_latest_replaces_the_link(tmp_path):
    first, second = tmp_path / "run-a", tmp_path / "run-b"
    first.mkdir()
    second.mkdir()
    chain.point_latest(first)
    chain.point_latest(second)
    latest = tmp_path / chain.LATEST
    assert latest.is_symlink() and os.readlink(latest) == "run-b"
    assert latest.resolve() == second.resolve()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["latest", "run-a", "run-b"]


def test_html_report_embeds_figures_and_fetches_nothing(tmp_path):
    notebook = _notebook("print('hello')")
    notebook.cells[-1].outputs = [
        v4.new_output("stream", name="stdout", text="hello\n"),
        v4.new_output("display_data", data={"image/png": TINY_PNG, "text/plain": "<Figure>"}),
    ]
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    written = htmlreport.render_html(path)
    assert written == tmp_path / "executed.code.html"
    html = written.read_text()
    assert htmlcheck.count_embedded_figures(html.replace(TINY_PNG, TINY_PNG * 3)) == 1
    assert f'src="data:image/png;base64,{TINY_PNG}"' in html
    assert htmlcheck.external_resources(html) == []
    assert "In&nbsp;[" not in html  # no input prompts
    assert htmlcheck.shows_code(html)
    assert not list(tmp_path.glob(".executed*"))  # the atomic write left no temporary file


#: What a real notebook's cells print that a reader should not see, and what they should.
TQDM_BAR = "evaluate: 100%|██████████| 2/2 [00:00<00:00, 24.55image/s]\n"
TF_START_UP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795698416.733555   16996 port.cc:153] oneDNN custom operations are on.\n"
)
REAL_WARNING = "UserWarning: 3 photos could not be read\n"


def test_reader_view_tells_the_story_without_the_plumbing(tmp_path):
    from colorlib.core.params import Params

    notebook = _notebook("workflow.evaluate_run(params)", "decoder.fit(train)", "1 / 0")
    parameters_section = [
        v4.new_markdown_cell("## Parameters\n\nThe first code cell names the parameters file."),
        v4.new_markdown_cell("The parameters are checked and gathered into `params`."),
    ]
    table = v4.new_code_cell("Markdown(summaries.params_table(params))")
    table.outputs = [
        v4.new_output(
            "execute_result",
            data={"text/markdown": summaries.params_table(Params(epochs=3))},
            execution_count=1,
        )
    ]
    notebook.cells[2:2] = [*parameters_section, table, v4.new_markdown_cell("## Evaluation\n\nThe scores.")]
    evaluate, fit, fails = notebook.cells[-3:]
    evaluate.outputs = [
        v4.new_output(
            "stream", name="stderr", text=TF_START_UP + "\rmean ab:   0%|   | 0/5 [00:00<?, ?image/s]"
        ),
        v4.new_output("stream", name="stderr", text="\r" + TQDM_BAR + REAL_WARNING),
    ]
    fit.outputs = [
        v4.new_output("stream", name="stdout", text="Epoch 1/2\n"),
        v4.new_output(
            "execute_result",
            data={"text/plain": "<keras.src.callbacks.History at 0x7f10d442f7d0>"},
            execution_count=2,
        ),
    ]
    fails.outputs = [
        v4.new_output(
            "error",
            ename="ZeroDivisionError",
            evalue="division by zero",
            traceback=["ZeroDivisionError: division by zero"],
        )
    ]
    path = tmp_path / "03_training.ipynb"
    nbformat.write(notebook, path)

    reader_path, code_path = htmlreport.render_reports(path, seconds=12.34)
    assert (reader_path.name, code_path.name) == ("03_training.html", "03_training.code.html")
    reader, code = reader_path.read_text(), code_path.read_text()
    assert not htmlcheck.shows_code(reader) and htmlcheck.shows_code(code)
    assert "This stage took 12.3 s" in reader and "This stage took 12.3 s" in code
    assert htmlcheck.links(reader)[:2] == ["index.html", "03_training.code.html"]
    assert htmlcheck.links(code)[:2] == ["index.html", "03_training.html"]
    # The parameters: one folded table, without the markdown that explains the hidden code.
    assert reader.count("<details") == 1 and "Parameters of this run (" in reader
    assert reader.count("<th>parameter</th>") == summaries.PARAMS_PER_ROW
    assert "The first code cell" not in reader and "gathered into" not in reader
    assert "The first code cell" in code
    # No start-up lines, no progress bars, no bare reprs; real warnings, stdout and errors stay.
    assert "port.cc" not in reader and "port.cc" not in code
    assert "image/s]" not in reader and "24.55image/s" in code
    assert "3 photos could not be read" in reader
    assert "Epoch 1/2" in reader and "at 0x7f10d442f7d0" not in reader
    assert "ZeroDivisionError" in reader
    assert htmlcheck.external_resources(reader) == []
    failed, _ = htmlreport.render_reports(path, seconds=3.0, failed=True)
    assert "This stage failed after 3.0 s" in failed.read_text()


def test_progress_bar_pattern_matches_tqdm_lines_only():
    bars = [TQDM_BAR, "12it [00:01,  9.50it/s]\n", "slow: 50%|█  | 1/2 [00:03<00:03,  3.21s/image]\n"]
    for bar in bars:
        assert htmlreport.PROGRESS_BAR_LINE.sub("", bar) == "", bar
    kept = REAL_WARNING + "Epoch 1/2 [done]\nnote: 5/5 photos at [00:00]\n"
    assert htmlreport.PROGRESS_BAR_LINE.sub("", kept) == kept


def test_seconds_read_naturally():
    assert htmlreport.format_seconds(12.34) == "12.3 s"
    assert htmlreport.format_seconds(245) == "4 min 05 s"
    assert htmlreport.format_seconds(7380) == "2 h 03 min"


def test_describe_array_is_short_and_rounded():
    import numpy as np

    line = summaries.describe_array("L", np.array([[0.0012], [0.99876]], dtype=np.float32))
    assert line == "L: float32 (2, 1) in [0.00, 1.00]"
    assert summaries.describe_names("metrics", ["psnr", "ssim"]) == "metrics: psnr, ssim"


def test_chain_runs_every_notebook_and_writes_reports(tiny_chain):
    notebooks, params, reports = tiny_chain
    lines: list[str] = []
    report_dir = chain.run_chain(params, reports, notebooks, log=lines.append)
    assert re.fullmatch(r"\d{8}-\d{6}-tiny", report_dir.name)
    timings = json.loads((report_dir / "timings.json").read_text())
    assert list(timings) == list(chain.NOTEBOOKS)
    assert all(entry["status"] == "ok" and entry["seconds"] > 0 for entry in timings.values())
    for name in chain.NOTEBOOKS:
        executed = nbformat.read(report_dir / name, as_version=4)
        assert any("injected-parameters" in cell.metadata.get("tags", []) for cell in executed.cells)
        reader = htmlreport.reader_path(report_dir / name).read_text()
        code = htmlreport.code_path(report_dir / name).read_text()
        for html in (reader, code):
            assert htmlcheck.count_embedded_figures(html) == 1, name
            assert htmlcheck.external_resources(html) == [], name
            assert f"This stage took {htmlreport.format_seconds(timings[name]['seconds'])}" in html
        assert not htmlcheck.shows_code(reader) and "EXPECTED_PYTHON" not in reader, name
        assert htmlcheck.shows_code(code) and "EXPECTED_PYTHON" in code, name
    assert (reports / chain.LATEST).resolve() == report_dir.resolve()
    assert sum("done in" in line for line in lines) == len(chain.NOTEBOOKS)
    # The log names each code cell as it starts: 2 parameters cells and 3 of the stand-in's.
    assert "[3/5] 03_training: cell 2/5 (parameters of this run)" in lines
    assert "[3/5] 03_training: cell 5/5 (assert not fail_here, 'stopped on purpose')" in lines
    assert chain.PARAMS_ENV not in os.environ  # restored after the run

    # The index links the five reports, both views.
    index = (report_dir / runindex.INDEX_FILE).read_text()
    expected = [
        f"{name.removesuffix('.ipynb')}{suffix}"
        for name in chain.NOTEBOOKS
        for suffix in (".html", ".code.html")
    ]
    assert htmlcheck.links(index) == expected
    assert all((report_dir / link).is_file() for link in expected)
    assert htmlcheck.external_resources(index) == [] and not htmlcheck.shows_code(index)
    assert "All 5 notebooks ran" in index
    # The stand-ins write no photos and no metrics: the page says so instead of failing.
    assert "No colorized test photos in" in index and "wrote no <code>" in index


def test_chain_stops_at_the_failing_notebook_and_names_it(tiny_chain, capsys):
    notebooks, params, reports = tiny_chain
    failing = nbformat.read(notebooks / "03_training.ipynb", as_version=4)
    failing.cells[1].source = failing.cells[1].source.replace("fail_here = False", "fail_here = True")
    nbformat.write(failing, notebooks / "03_training.ipynb")

    assert pipeline_cli(params, reports, notebooks) == 1
    message = capsys.readouterr().err
    assert "notebook 03_training.ipynb failed: AssertionError: stopped on purpose" in message
    assert "run `make pipeline` again to resume" in message
    report_dir = (reports / chain.LATEST).resolve()
    timings = json.loads((report_dir / "timings.json").read_text())
    assert {name: entry["status"] for name, entry in timings.items()} == {
        "01_preprocessing.ipynb": "ok",
        "02_feature_extraction.ipynb": "ok",
        "03_training.ipynb": "failed",
    }
    assert "stopped on purpose" in (report_dir / "03_training.html").read_text()  # partial report
    assert "This stage failed after" in (report_dir / "03_training.html").read_text()
    assert not (report_dir / "04_colorization.ipynb").exists()
    index = (report_dir / runindex.INDEX_FILE).read_text()
    assert "The chain stopped at <code>03_training.ipynb</code>" in index
    assert "No metrics yet: <code>05_results.ipynb</code> did not run in this chain" in index
    assert htmlcheck.links(index) == [
        "01_preprocessing.html",
        "01_preprocessing.code.html",
        "02_feature_extraction.html",
        "02_feature_extraction.code.html",
        "03_training.html",
        "03_training.code.html",
    ]


def test_chain_can_start_at_a_later_notebook(tiny_chain):
    notebooks, params, reports = tiny_chain
    report_dir = chain.run_chain(params, reports, notebooks, start_at="05", log=lambda line: None)
    assert sorted(path.name for path in report_dir.glob("*.html")) == [
        "05_results.code.html",
        "05_results.html",
        "index.html",
    ]
    assert "This chain ran 05_results" in (report_dir / "index.html").read_text()


def test_missing_encoder_weights_stop_the_chain_before_any_notebook(tiny_chain, capsys):
    notebooks, params, reports = tiny_chain
    values = yaml.safe_load(params.read_text())
    values.update(encoder="vgg16", encoder_weights=str(params.parent / "no-such-vgg16.h5"))
    params.write_text(yaml.safe_dump(values))
    assert pipeline_cli(params, reports, notebooks) == 2
    assert "No encoder weights file" in capsys.readouterr().err
    assert not reports.exists()


def test_offline_imagenet_weights_stop_the_chain_before_any_notebook(tiny_chain, capsys, monkeypatch):
    from colorlib.archs import vgg16_arch

    def offline(weights, image_size):
        raise vgg16_arch.WeightsUnavailableError(vgg16_arch.weights_unavailable_message("offline"))

    monkeypatch.setattr(vgg16_arch, "build_vgg16", offline)
    notebooks, params, reports = tiny_chain
    values = yaml.safe_load(params.read_text())
    values.update(encoder="vgg16", encoder_weights="imagenet")
    params.write_text(yaml.safe_dump(values))
    assert pipeline_cli(params, reports, notebooks) == 2
    assert vgg16_arch.VGG16_WEIGHTS_FILE in capsys.readouterr().err
    assert not reports.exists()


def test_unknown_parameter_in_the_file_is_refused_before_any_notebook(tiny_chain, capsys):
    notebooks, params, reports = tiny_chain
    params.write_text(params.read_text() + "epoch: 3\n")
    assert pipeline_cli(params, reports, notebooks) == 2
    assert "Unknown parameter(s) epoch" in capsys.readouterr().err
    assert not reports.exists()


def test_smoke_parameters_file_runs_anywhere():
    """params/smoke.yaml must not need the ImageNet download (the chain is checked offline)."""
    values = yaml.safe_load((chain.project_root() / "params" / "smoke.yaml").read_text())
    assert values["encoder_weights"] is None


def test_kernels_talk_over_private_unix_sockets_and_leave_none_behind(tiny_chain, capsys, monkeypatch):
    notebooks, params, reports = tiny_chain
    runtime = Path(tempfile.mkdtemp(prefix="rt-"))  # pytest's tmp_path may be too long a path for sockets
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    checked = nbformat.read(notebooks / "05_results.ipynb", as_version=4)
    checked.cells.append(
        v4.new_code_cell(
            "from ipykernel.kernelapp import IPKernelApp\n"
            "kernel_app = IPKernelApp.instance()\n"
            "assert kernel_app.transport == 'ipc', kernel_app.transport\n"
            "assert kernel_app.ip.startswith(os.environ['JUPYTER_RUNTIME_DIR']), kernel_app.ip"
        )
    )
    nbformat.write(checked, notebooks / "05_results.ipynb")

    assert pipeline_cli(params, reports, notebooks) == 0
    assert "without encryption" not in capsys.readouterr().err
    left = [path.name for folder in (notebooks, runtime) for path in folder.iterdir() if "ipc" in path.name]
    assert left == []  # no socket files in the notebooks' folder or the runtime folder
    shutil.rmtree(runtime)


@pytest.mark.parametrize(("extra", "transport"), [("", "ipc"), ("r" * 100, "tcp")])
def test_kernels_keep_tcp_where_the_runtime_folder_is_too_long_for_a_socket(monkeypatch, extra, transport):
    short = Path(tempfile.mkdtemp(prefix="rt-"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(short / extra))
    manager = chain._quiet_kernel_manager()(kernel_name="python3")
    shutil.rmtree(short)
    assert manager.transport == transport


def test_the_log_shows_training_epochs_and_progress_bars_while_a_cell_runs(tiny_chain, monkeypatch):
    notebooks, params, reports = tiny_chain
    monkeypatch.setattr(chainlog, "BAR_INTERVAL_S", 0.0)  # every bar counts as long: all its states
    training = nbformat.read(notebooks / "03_training.ipynb", as_version=4)
    training.cells.append(
        v4.new_code_cell(
            "import sys\nfrom tqdm import tqdm\n"
            "for _ in tqdm(range(3), desc='features', file=sys.stderr): pass\n"
            "print('Epoch 1/2')\nprint('3/3 - 2s - 611ms/step - loss: 0.0415 - val_loss: 0.0398')\n"
            "print('a line the log leaves to the report')"
        )
    )
    nbformat.write(training, notebooks / "03_training.ipynb")
    lines: list[str] = []
    chain.run_chain(params, reports, notebooks, start_at="03", log=lines.append)
    relayed = [line for line in lines if line.startswith("[1/3] 03_training: ") and "cell " not in line]
    # stdout and stderr reach the chain as separate streams, so only each one's own order is fixed.
    bars = [line for line in relayed if "features:" in line]
    assert [line.split("|")[0] for line in bars] == [
        "[1/3] 03_training: features:   0%",  # the bar's first state
        "[1/3] 03_training: features: 100%",  # and its last
    ]
    assert [line for line in relayed if line not in bars] == [
        "[1/3] 03_training: Epoch 1/2",
        "[1/3] 03_training: 3/3 - 2s - 611ms/step - loss: 0.0415 - val_loss: 0.0398",
    ]
