"""Atomic writes: a file appears whole or not at all, with the usual permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from colorlib.core.io import NEW_FILE_MODE, atomic_write, read_json, write_json


def test_atomic_write_replaces_the_file_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    assert read_json(target) == {"a": 1}
    assert (target.stat().st_mode & 0o777) == NEW_FILE_MODE
    umask = os.umask(0)
    os.umask(umask)
    assert NEW_FILE_MODE == 0o666 & ~umask
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "photo.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as temporary:
        assert temporary.suffix == ".png" and temporary.parent == tmp_path
        temporary.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["photo.png"]


def test_read_json_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        read_json(tmp_path / "missing.json")
