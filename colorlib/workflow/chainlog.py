"""What the chain's log shows while a cell runs: Keras' epochs and tqdm's progress bars.

A cell can run for hours (the feature cache of a large dataset, 25 epochs of training), and
the chain's log names only the cell as it starts. Papermill hands every stream output of the
kernel to the ``stdout_file`` and ``stderr_file`` of ``execute_notebook``; an
:class:`OutputRelay` is such a file. It passes on, each after the notebook's prefix:

- Keras' epoch lines (``fit(..., verbose=2)``): ``Epoch 6/25``, then
  ``195/195 - 1546s - 8s/step - loss: 0.0115 - val_loss: 0.0126 - learning_rate: 1.8090e-04``;
- tqdm's progress bars that run longer than :data:`BAR_INTERVAL_S` seconds: a state every
  :data:`BAR_INTERVAL_S` seconds, and the last one when the bar reaches 100 % (a shorter
  bar is not logged: the cell's line and the notebook's time say enough).

Everything else the cell prints stays in the executed notebook and its reports.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from colorlib.reports.htmlreport import PROGRESS_BAR_LINE

#: Keras' ``fit`` log with ``verbose=2``: the epoch's header, and its summary when it ends.
EPOCH_LINE = re.compile(r"Epoch \d+/\d+|\d+/\d+ - \d+(?:\.\d+)?m?s - .*loss.*")
#: A progress bar's description: ``features`` in ``features:  45%|████▌     | 45/100 [...]`` and in
#: ``features: 12img [00:01, 9.50img/s]`` (no total).
BAR_NAME = re.compile(r"(.*?):\s+(?:\d+%\||[\d.]+\w* \[)")
#: A progress bar is logged once it has run this long (seconds), then at most this often.
BAR_INTERVAL_S = 60.0
#: A bar's finished state.
BAR_DONE = "100%"


class OutputRelay:
    """A text file for papermill's ``stdout_file``/``stderr_file`` that logs epochs and progress bars.

    ``log`` gets whole lines, ``"<prefix>: <line>"``. Text comes in chunks as the kernel prints
    it; a line is complete at ``\\n`` or, for a progress bar redrawn in place, at ``\\r``.
    ``interval`` defaults to :data:`BAR_INTERVAL_S`; ``clock`` (seconds) is for tests.
    """

    def __init__(
        self,
        prefix: str,
        log: Callable[[str], None],
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prefix, self.log, self.clock = prefix, log, clock
        self.interval = BAR_INTERVAL_S if interval is None else interval
        self._pending = ""
        #: Per bar name: since when it has not been logged (its start, or its last logged state), and
        #: whether any of its states was logged.
        self._bars: dict[str, tuple[float, bool]] = {}

    def write(self, text: str) -> int:
        *complete, self._pending = re.split(r"[\r\n]", self._pending + text)
        for line in complete:
            self._consider(line.strip())
        return len(text)

    def flush(self) -> None:
        """Nothing to do: lines are logged as soon as they are complete."""

    def _consider(self, line: str) -> None:
        if EPOCH_LINE.fullmatch(line):
            self.log(f"{self.prefix}: {line}")
        elif PROGRESS_BAR_LINE.fullmatch(line):
            self._consider_bar(line)

    def _consider_bar(self, line: str) -> None:
        named = BAR_NAME.match(line)
        name, now = (named.group(1) if named else ""), self.clock()
        since, logged = self._bars.get(name, (now, False))
        if BAR_DONE in line:
            self._bars.pop(name, None)  # the next state of this name is a new bar
            if logged:
                self.log(f"{self.prefix}: {line}")
        elif now - since >= self.interval:
            self._bars[name] = (now, True)
            self.log(f"{self.prefix}: {line}")
        else:
            self._bars[name] = (since, logged)


__all__ = ["BAR_INTERVAL_S", "EPOCH_LINE", "OutputRelay"]
