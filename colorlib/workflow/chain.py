"""The notebook chain: run notebooks 01 to 05 in order with papermill from one parameters file.

``colorlib pipeline --params params/smoke.yaml`` (and ``make pipeline``) calls :func:`run_chain`.
Each run gets a report folder ``reports/<run-id>/`` (run-id: ``20261126-041500-smoke``,
the start time plus the run name) holding every executed notebook, two self-contained HTML
pages of each (``03_training.html`` to read, ``03_training.code.html`` with the code; see
:mod:`colorlib.reports.htmlreport`), ``index.html`` (the run's page: photos, headline metrics, links)
and ``timings.json`` (seconds and status per notebook); ``reports/latest`` points at the
newest run, finished or failed, so a failure's partial report is easy to find.

While it runs, the log names each notebook and each code cell as it starts
(``[3/5] 03_training: cell 10/14 (decoder.fit(train, validation_data=validation, ep…)``), and
while a cell runs, its training epochs and progress bars
(``[3/5] 03_training: 195/195 - 1546s - 8s/step - loss: 0.0115 - val_loss: 0.0126 …``), so a long
run is never silent.

The chain stops at the first notebook that fails and names it. Running it again resumes:
the steps the notebooks call (:mod:`colorlib.workflow`) skip artifacts that are already
finished in ``data/runs/<run_name>/``, so only the unfinished work is done again.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from colorlib.core import quiet
from colorlib.core.config import ENCODER_STRIDE, project_root
from colorlib.core.io import atomic_write, write_json
from colorlib.core.params import PARAMS_ENV, Params, load_params
from colorlib.reports.htmlreport import STATUS_OK, render_reports
from colorlib.workflow.chainlog import OutputRelay
from colorlib.workflow.runindex import INDEX_FILE, write_index

#: The notebooks of the chain, in the order they run.
NOTEBOOKS = (
    "01_preprocessing.ipynb",
    "02_feature_extraction.ipynb",
    "03_training.ipynb",
    "04_colorization.ipynb",
    "05_results.ipynb",
)
#: Notebooks outside the chain, each run alone (``colorlib pipeline --start-at 06``): they read no
#: earlier notebook's results.
SINGLE_NOTEBOOKS = ("06_video.ipynb",)
#: How the chain's kernels talk to it: Unix sockets (jupyter_client's ``ipc``), not TCP.
IPC_TRANSPORT = "ipc"
#: The longest path a Unix socket can have, in bytes (macOS's 104 less the final NUL; Linux allows 107).
UNIX_SOCKET_PATH_MAX = 103
#: What jupyter_client appends to the sockets' base path, at most: "-" and a channel number.
IPC_SUFFIX_MAX = 6
#: The name of the link to the newest run inside the reports folder.
LATEST = "latest"
#: The papermill engine of the chain: nbclient's, announcing each cell (:func:`_progress_engine`).
ENGINE_NAME = "colorlib-progress"
#: At most this many characters of a cell's first line in the progress log.
CELL_SUMMARY_CHARS = 50

#: How the progress log names papermill's parameters cells, by their tag.
PARAMETER_CELLS = {"parameters": "default parameters", "injected-parameters": "parameters of this run"}

#: ``on_cell(notebook, index)``: called as each cell of a notebook starts.
CellCallback = Callable[[object, int], None]


class ChainError(RuntimeError):
    """A notebook of the chain failed; ``notebook`` names it, ``report_dir`` holds its partial report."""

    def __init__(self, notebook: str, reason: str, report_dir: Path, params_file: Path) -> None:
        self.notebook = notebook
        self.reason = reason
        self.report_dir = report_dir
        super().__init__(
            f"notebook {notebook} failed: {reason}; fix it and run `make pipeline` again to "
            f"resume (with the same parameters, {params_file}). The partial report is "
            f"{report_dir / notebook.replace('.ipynb', '.html')}"
        )


def make_run_id(run_name: str, now: datetime | None = None) -> str:
    """``"20261126-041500-smoke"``: the local start time, then the run name."""
    return f"{(now or datetime.now()):%Y%m%d-%H%M%S}-{run_name}"


def notebooks_from(start_at: str | None) -> tuple[str, ...]:
    """The chain's notebooks from ``start_at`` on (``"03"``, ``"03_training"`` or the file name), or
    one of :data:`SINGLE_NOTEBOOKS` alone."""
    if start_at is None:
        return NOTEBOOKS
    for index, name in enumerate(NOTEBOOKS + SINGLE_NOTEBOOKS):
        if name == start_at or name.removesuffix(".ipynb") == start_at or name[:2] == start_at:
            return (name,) if name in SINGLE_NOTEBOOKS else NOTEBOOKS[index:]
    raise ValueError(f"start_at={start_at!r} names no notebook; use one of {NOTEBOOKS + SINGLE_NOTEBOOKS}.")


def check_encoder_weights(params: Params) -> None:
    """Fail at once when the encoder weights of the run cannot be had.

    Builds the run's encoder at the smallest size (32×32) with its weights: for VGG16 with
    ``"imagenet"`` this reads the Keras cache or downloads the file, and raises
    :class:`colorlib.archs.vgg16_arch.WeightsUnavailableError` with what to do when offline. Random
    weights (None) need nothing; Lite0 needs its package (a clear FileNotFoundError names the
    pip command). Done before notebook 01 so a user does not wait for it.
    """
    if params.encoder_weights is None:
        return
    from colorlib.archs import colorizer_arch, vgg16_arch

    try:
        colorizer_arch.build_encoder(params.encoder_weights, ENCODER_STRIDE, params.encoder)
    except vgg16_arch.WeightsUnavailableError as error:
        raise vgg16_arch.WeightsUnavailableError(
            f"{error} To check the whole chain without them (random encoder weights, about a "
            "minute): make pipeline PARAMS=params/smoke.yaml"
        ) from None


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (inherited by the notebook kernels), then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _new_report_dir(reports_dir: Path, run_name: str) -> Path:
    """A fresh ``reports/<run-id>/`` (a suffix is added when two runs start in one second)."""
    run_id = make_run_id(run_name)
    for attempt in range(100):
        folder = reports_dir / (run_id if attempt == 0 else f"{run_id}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not make a new report folder for {run_id} in {reports_dir}.")


def point_latest(report_dir: Path) -> Path:
    """Point ``<reports>/latest`` at ``report_dir`` in one step (a relative symbolic link)."""
    link = report_dir.parent / LATEST
    temporary = report_dir.parent / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(report_dir.name, target_is_directory=True)
    os.replace(temporary, link)
    return link


@functools.cache
def _progress_engine() -> str:
    """Register (once) papermill's nbclient engine with a hook as each cell starts; its name.

    Papermill passes the extra keyword arguments of ``execute_notebook`` to the engine, so
    ``on_cell=`` reaches :meth:`execute_managed_notebook`, which wraps the execution
    manager's ``cell_start`` (papermill's own per-cell hook).
    """
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, on_cell: CellCallback | None = None, **kwargs):
            if on_cell is not None:
                cell_start = nb_man.cell_start

                def announce(cell, cell_index=None, **more):
                    on_cell(nb_man.nb, cell_index)
                    return cell_start(cell, cell_index, **more)

                nb_man.cell_start = announce
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE_NAME, ProgressEngine)
    return ENGINE_NAME


def cell_summary(source: str, width: int = CELL_SUMMARY_CHARS) -> str:
    """The first line of code of a cell (comments skipped), cut to ``width`` characters."""
    lines = [line.strip() for line in source.splitlines()]
    code = next((line for line in lines if line and not line.startswith("#")), "")
    return code if len(code) <= width else code[: width - 1] + "…"


def cell_logger(prefix: str, log: Callable[[str], None]) -> CellCallback:
    """An ``on_cell`` that logs ``"<prefix>: cell 7/14 (<first line>)"`` for each code cell."""

    def on_cell(notebook, index: int) -> None:
        code = [number for number, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
        if index in code:
            cell = notebook.cells[index]
            tags = cell.metadata.get("tags", [])
            what = PARAMETER_CELLS.get(next((tag for tag in tags if tag in PARAMETER_CELLS), ""))
            what = what or cell_summary(cell.source)
            log(f"{prefix}: cell {code.index(index) + 1}/{len(code)} ({what})")

    return on_cell


@functools.cache
def _quiet_kernel_manager() -> type:
    """A kernel manager whose kernels' stderr reaches ours without TensorFlow's start-up lines, and
    whose kernels talk to it over Unix sockets instead of TCP.

    A kernel writes those lines (:data:`colorlib.core.config.TF_STARTUP_NOISE`) before its log level
    applies, so they are filtered on the way: the kernel's stderr is a pipe, relayed by a thread.

    The sockets (``ipc`` transport) live in Jupyter's runtime folder (private to the user), under a
    name of their own per kernel, so that no other process can reach the kernel and two chains
    never share one; over TCP every kernel warned that its traffic was unencrypted. Where the runtime
    folder's path is too long for a socket's name, the kernels keep TCP (and its warning).
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class QuietKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            runtime = Path(jupyter_runtime_dir())
            sockets = str(runtime / f"colorlib-{uuid.uuid4().hex[:12]}-ipc")  # + "-<n>" per channel
            if len(os.fsencode(sockets)) + IPC_SUFFIX_MAX <= UNIX_SOCKET_PATH_MAX:
                runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
                kwargs.setdefault("transport", IPC_TRANSPORT)
                kwargs.setdefault("ip", sockets)
            super().__init__(**kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["stderr"] = subprocess.PIPE
            await super()._async_launch_kernel(kernel_cmd, **kw)
            stream = self.provisioner.process.stderr
            threading.Thread(target=quiet.relay_without_startup_noise, args=(stream,), daemon=True).start()

    return QuietKernelManager


def _execute(
    source: Path,
    executed: Path,
    parameters: dict,
    kernel_name: str | None,
    cwd: Path,
    on_cell: CellCallback | None = None,
    relays: tuple[OutputRelay, OutputRelay] | None = None,
) -> str | None:
    """Run one notebook with papermill into ``executed``; the error text when it fails.

    The executed notebook is written atomically, partial (with the error) when it failed.
    ``on_cell(notebook, index)`` is called as each cell starts; ``relays`` get everything the
    kernel prints, one stdout and the other stderr (each keeps its own unfinished line).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    with atomic_write(executed) as temporary:
        try:
            papermill.execute_notebook(
                str(source),
                str(temporary),
                parameters=parameters,
                kernel_name=kernel_name,
                cwd=str(cwd),
                progress_bar=False,
                engine_name=_progress_engine(),
                on_cell=on_cell,
                kernel_manager_class=_quiet_kernel_manager(),
                stdout_file=relays[0] if relays else None,
                stderr_file=relays[1] if relays else None,
            )
        except PapermillExecutionError as error:
            return f"{error.ename}: {error.evalue}"
        except Exception as error:  # the kernel died or could not start
            if not temporary.exists() or temporary.stat().st_size == 0:
                raise
            return f"{type(error).__name__}: {error}"
    return None


def print_now(line: str) -> None:
    """Print a line of the progress log at once, also when stdout is a pipe (``make pipeline | tee``)."""
    print(line, flush=True)


def run_chain(
    params_path: Path | str,
    reports_dir: Path | str = "reports",
    notebooks_dir: Path | str = "notebooks",
    kernel_name: str | None = None,
    start_at: str | None = None,
    log: Callable[[str], None] = print_now,
) -> Path:
    """Run the notebooks in order with the parameters in ``params_path``; return the report folder.

    Every notebook gets ``params_file`` (the file's absolute path) and empty ``overrides``
    as papermill parameters, and ``$COLORLIB_PARAMS`` is set for the kernels. Relative
    ``reports_dir`` and ``notebooks_dir`` are taken from the project root. ``kernel_name``
    None uses the notebooks' kernel ``python3``, which is the Python running this function.
    ``log`` gets the progress lines: each notebook, each code cell as it starts, each time, and
    while a cell runs its training epochs and progress bars (:mod:`colorlib.workflow.chainlog`).
    After each notebook its two reports are written, and ``index.html`` when the chain ends,
    finished, failed or interrupted. Raises :class:`ChainError` at the first failing
    notebook, after writing its partial report; :class:`colorlib.archs.vgg16_arch.WeightsUnavailableError`
    before anything runs when the ImageNet weights cannot be had.
    """
    root = project_root()
    params_path = Path(params_path).expanduser()
    if not params_path.is_absolute() and not params_path.exists():
        params_path = root / params_path  # `colorlib pipeline` run from outside the checkout
    params_path = params_path.resolve()
    params = load_params(params_path)
    reports_dir = root / Path(reports_dir).expanduser()
    notebooks_dir = root / Path(notebooks_dir).expanduser()
    order = notebooks_from(start_at)
    for name in order:
        if not (notebooks_dir / name).is_file():
            raise FileNotFoundError(f"No notebook {name} in {notebooks_dir}.")
    check_encoder_weights(params)

    report_dir = _new_report_dir(reports_dir, params.run_name)
    # The notebooks' parameters cell holds only these two; every value comes from the file.
    parameters = {"params_file": str(params_path), "overrides": {}}
    timings: dict[str, dict] = {}
    log(f"Run '{params.run_name}' with {params_path}; reports in {report_dir}")
    environment = {PARAMS_ENV: str(params_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        with _environment(environment):
            for number, name in enumerate(order, start=1):
                prefix = f"[{number}/{len(order)}] {name.removesuffix('.ipynb')}"
                log(f"{prefix} ...")
                started = time.perf_counter()
                executed = report_dir / name
                error = _execute(
                    notebooks_dir / name,
                    executed,
                    parameters,
                    kernel_name,
                    notebooks_dir,
                    on_cell=cell_logger(prefix, log),
                    relays=(OutputRelay(prefix, log), OutputRelay(prefix, log)),
                )
                seconds = round(time.perf_counter() - started, 1)
                timings[name] = {"seconds": seconds, "status": "failed" if error else STATUS_OK}
                write_json(report_dir / "timings.json", timings)
                render_reports(executed, seconds, failed=bool(error))
                log(f"{prefix} {'FAILED' if error else 'done'} in {seconds:.1f} s")
                if error:
                    raise ChainError(name, error, report_dir, params_path)
    finally:
        if timings:
            write_index(report_dir, NOTEBOOKS if order[0] in NOTEBOOKS else order, timings, params_path)
            point_latest(report_dir)
    log(f"All {len(order)} notebooks ran; the reports are in {report_dir / INDEX_FILE}")
    return report_dir
