"""One mechanism for "already done, skip it", shared by every step of a run.

A step's result is recorded next to its artifacts in a small JSON file, under a key: the
hash of everything the step depends on (its inputs, the parameters it reads, the keys of
the steps before it, and the colorlib version). A later call with the same key finds the
record and skips the work; a change to any input changes the key, so exactly the steps
downstream of that input are done again::

    step = steps.Step(run_dir / "split.step.json", steps.key("split", files=names, seed=42))
    if (done := step.result()) is not None:
        return done
    ...  # the work
    step.finish({"train": 900, "validation": 100})

Keys are chained: a step passes the keys of the steps it reads (``step.key``) among its
inputs, so a new split gives new features, a new model and new outputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colorlib import __version__
from colorlib.core.io import read_json, remembered_file_hash, write_json

#: Hex digits of a step key: enough to never collide among a project's runs.
KEY_LENGTH = 20


def key(step: str, **inputs: Any) -> str:
    """The key of a step from its name, its inputs (JSON-able) and the colorlib version."""
    payload = json.dumps(
        {"step": step, "colorlib": __version__, "inputs": inputs}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:KEY_LENGTH]


def file_stamps(paths: Sequence[Path | str]) -> list[tuple[str, int, str]]:
    """``(path, size, SHA-256 of the bytes)`` of each file: what a step read, by its content.

    A photo edited in place changes its stamp, so the steps that read its pixels run again. A copy
    of the same files with new times (a restored backup, a new session's copy of the shared
    photos) keeps every stamp, so nothing is done again: colorizing and scoring a test set are
    minutes of work. Each file is read once per process (:func:`colorlib.core.io.remembered_file_hash`).
    A missing file gets size -1 and an empty digest (the step that reads it reports it).
    """
    stamps = []
    for path in paths:
        try:
            stamps.append((str(path), Path(path).stat().st_size, remembered_file_hash(path)))
        except OSError:
            stamps.append((str(path), -1, ""))
    return stamps


@dataclass(frozen=True)
class Step:
    """A step's record file and its key: whether it is done, and what it produced."""

    record: Path
    key: str

    def result(self) -> dict[str, Any] | None:
        """What the finished step recorded, or None when it must run (no record, or another key)."""
        if not self.record.is_file():
            return None
        try:
            recorded = read_json(self.record)
        except (OSError, ValueError):
            return None
        return recorded.get("result") if recorded.get("key") == self.key else None

    def done(self) -> bool:
        return self.result() is not None

    def finish(self, result: dict[str, Any]) -> dict[str, Any]:
        """Record the step as done with this key; written atomically, returns ``result``."""
        write_json(self.record, {"key": self.key, "colorlib_version": __version__, "result": result})
        return result
