"""Writing files so that a failure (full disk, read-only place, kill) never leaves a half-written one.

Every file a user or a resumed run relies on is written to a hidden temporary
file beside its destination and renamed into place only when complete; when
writing fails, the temporary file is removed and the destination keeps its
previous content. :func:`cannot_write` turns the ``OSError`` into the one
sentence the user sees.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
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
        with contextlib.suppress(OSError):  # cleaning up must not hide the real error
            temporary.unlink(missing_ok=True)
        raise


def cannot_write(error: OSError, place: str | Path, then: str) -> UserError:
    """One sentence for a failed write: where, why (full, read-only, no permission), and what to do ``then``."""
    reason = _REASONS.get(error.errno, error.strerror or type(error).__name__)
    where = error.filename or place
    return UserError(f"Cannot write {where} ({reason}): free some space or choose a writable location, then {then}.")


def write_json(path: str | Path, data: object) -> None:
    """``data`` as indented JSON in ``path``, atomically: a resumed run must never meet a truncated record."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n")
