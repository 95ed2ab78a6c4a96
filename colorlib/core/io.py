"""Small file helpers: atomic writes, so a crash never leaves a half-written file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file under this process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: Mode of files written by :func:`atomic_write` (0644 under the usual umask).
NEW_FILE_MODE = _new_file_mode()


@contextlib.contextmanager
def atomic_write(path: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    The temporary file keeps ``path``'s extension (or ``suffix``) so that writers that
    look at the extension (Pillow, OpenCV, Keras) pick the right format. On an error
    the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=suffix if suffix is not None else path.suffix, dir=path.parent
    )
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        # mkstemp makes private (0600) files; give the result the mode a new file would get.
        temporary.chmod(NEW_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_json(path: Path | str, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    path = Path(path)
    with atomic_write(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def read_json(path: Path | str) -> Any:
    """Read a JSON file, with a clear error when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}.")
    return json.loads(path.read_text())


def parse_untrusted_json(data: bytes | str, source: str) -> Any:
    """JSON from a user or a web page -> its value; ValueError with a sentence for anything else.

    Refused, each with a sentence naming ``source``: text that is not JSON (with the place), JSON nested
    too deeply for Python's parser (a :class:`RecursionError` there, which would otherwise escape as a
    crash) and numbers Python will not convert (integers of thousands of digits). The caller bounds the
    size (:data:`colorlib.core.config.MAX_JSON_BYTES`).
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(
            f"{source} is nested too deeply (lists or objects inside each other about a thousand levels "
            "deep); colorlib's JSON is at most three levels deep."
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not valid JSON ({error}).") from None
    except (UnicodeDecodeError, ValueError) as error:  # bad UTF-8; an integer over 4,300 digits
        raise ValueError(f"{source} is not JSON colorlib can read ({error}).") from None


def file_hash(path: Path | str) -> str:
    """SHA-256 of a file's bytes, hex; it identifies an image's content in caches and splits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: Digests :func:`remembered_file_hash` computed in this process, by (path, size, time, inode).
_REMEMBERED: dict[tuple[str, int, int, int], str] = {}


def remembered_file_hash(path: Path | str) -> str:
    """:func:`file_hash`, read once per process for a file that stays as it was (the same path,
    size, modification time and inode); a file changed since is read again."""
    stat = Path(path).stat()
    token = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if token not in _REMEMBERED:
        _REMEMBERED[token] = file_hash(path)
    return _REMEMBERED[token]
