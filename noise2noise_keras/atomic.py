"""Writing files so that a failure (full disk, read-only place, kill) never leaves a half-written one.

Every file a user or a resumed run relies on is written to a hidden temporary
file beside its destination and renamed into place only when complete; when
writing fails, the temporary file is removed and the destination keeps its
previous content. A folder of several files (a model and its spec, a
resume state) is staged whole and swapped in by :func:`atomic_folder`.
:func:`cannot_write` turns the ``OSError`` into the one sentence the user sees
(:func:`storage_error` finds it in TensorFlow's error text).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from noise2noise_keras.errors import UserError

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


@contextlib.contextmanager
def atomic_path(final: str | Path, temporary: str | Path | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` if the block succeeds, delete it if not."""
    final = Path(final)
    temporary = Path(temporary) if temporary else final.with_name(f".{final.stem}.partial{final.suffix}")
    try:
        yield temporary
        os.replace(temporary, final)
    except BaseException:
        discard(temporary)
        raise


@contextlib.contextmanager
def atomic_folder(final: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``final``; swap it in for ``final`` if the block succeeds, delete it if not.

    Two renames (``final`` -> ``final.old``, staging -> ``final``): a kill between
    them leaves ``final.old``, which :func:`settled` puts back, so a reader
    always finds one complete folder.
    """
    final = Path(final)
    staging, previous = final.with_name(f".{final.name}.partial"), final.with_name(f".{final.name}.old")
    settled(final)
    discard(staging)
    staging.mkdir(parents=True)
    try:
        yield staging
        if final.exists():
            discard(previous)
            os.replace(final, previous)
        os.replace(staging, final)
    except BaseException:
        discard(staging)
        raise
    discard(previous)


def settled(final: str | Path) -> Path:
    """``final``, restored from the previous version an interrupted :func:`atomic_folder` swap left beside it."""
    final = Path(final)
    previous = final.with_name(f".{final.name}.old")
    if not final.exists() and previous.is_dir():
        os.replace(previous, final)
    return final


def discard(path: str | Path) -> None:
    """Remove a temporary file or folder if it exists; cleaning up must never hide the error that made it stale."""
    path = Path(path)
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def cannot_write(error: OSError, place: str | Path, then: str) -> UserError:
    """One sentence for a failed write: where, why (full, read-only, no permission), and what to do ``then``."""
    reason = _REASONS.get(error.errno, error.strerror or type(error).__name__)
    where = error.filename or place
    return UserError(f"Cannot write {where} ({reason}): free some space or choose a writable location, then {then}.")


def storage_error(message: str) -> OSError | None:
    """The ``OSError`` a C++ file writer (TensorFlow's) reported as text, when the text is one of the storage failures above.

    TensorFlow's writers put the system's ``strerror`` into their message
    rather than raising ``OSError``; recognising it gives the user the same
    sentence whichever writer met the full disk.
    """
    for code in _REASONS:
        if os.strerror(code) in message:
            return OSError(code, os.strerror(code))
    return None


def write_json(path: str | Path, data: object) -> None:
    """``data`` as indented JSON in ``path``, atomically: a resumed run must never meet a truncated record."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n")
