"""Downloading Kodak and BSDS300: checksummed, resumable, atomic.

Every image is checked against the SHA-256 manifest shipped with the package
(``SHA256SUMS``, values of the original files). Transfers stream to
``<file>.part``, resume with an HTTP ``Range`` request after an interruption,
retry with exponential backoff, and are renamed into place only once verified;
a mismatch deletes what was fetched. The BSDS300 archive is extracted with
``tarfile``'s ``data`` filter (no absolute paths, no ``..``, no links leaving
the folder) into a temporary folder, and only manifest-verified images are
moved into the data root. Files already present and verified are not fetched
again, so a second run does no network I/O.

A mirror (``base_url``) must use the layout ``{base}/kodak/kodimNN.png`` and
``{base}/archives/BSDS300-images.tgz``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tarfile
import tempfile
import time
from importlib import resources
from pathlib import Path

import requests
from tqdm import tqdm

from noise2noise_keras.errors import UserError

log = logging.getLogger(__name__)

KODAK_URL = "http://r0k.us/graphics/kodak/kodak/{name}"
BSDS300_URL = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz"
KODAK_NAMES = tuple(f"kodim{i:02d}.png" for i in range(1, 25))
DOWNLOADABLE = ("kodak", "bsds300")
CHUNK_BYTES = 1 << 16


class TransientError(Exception):
    """A failure worth retrying: connection drop, timeout, short body, 5xx."""


class Unreachable(UserError):
    """The server still failed after every retry: the other files would fail alike, so a download stops here."""


def manifest() -> dict[str, str]:
    """``relative path -> sha256`` of every Kodak and BSDS300 image (the originals')."""
    text = resources.files("noise2noise_keras.datasets").joinpath("SHA256SUMS").read_text()
    return {line.split(maxsplit=1)[1].strip(): line.split(maxsplit=1)[0] for line in text.splitlines() if line.strip()}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_of(path) == expected


def fetch(
    url: str, destination: Path, expected_sha256: str | None = None, retries: int = 4, backoff: float = 0.5, timeout: float = 30.0, progress: bool = True
) -> Path:
    """Download ``url`` to ``destination`` via ``destination.part``, resuming and retrying.

    With ``expected_sha256`` the file is verified before the atomic rename; a
    mismatch deletes the partial file and raises :class:`UserError`.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, progress)
            break
        except TransientError as error:
            if attempt == retries:
                raise Unreachable(_offline_message(url, destination, error)) from None
            delay = backoff * 2**attempt
            log.warning("download of %s interrupted (%s); retrying in %.1fs", url, error, delay)
            time.sleep(delay)
    if expected_sha256 is not None and sha256_of(part) != expected_sha256:
        part.unlink()
        raise UserError(
            f"Checksum mismatch for {url}: the file was deleted; the server or mirror serves a different file than the original, so fetch it from the official source."
        )
    os.replace(part, destination)
    return destination


def _transfer(url: str, part: Path, timeout: float, progress: bool) -> None:
    """One HTTP attempt, appending to ``part`` when the server honours ``Range``."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416 and offset:
                return  # the part file already holds the whole body
            if response.status_code >= 500 or response.status_code in (408, 429):
                raise TransientError(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise UserError(_offline_message(url, part.with_suffix(""), f"HTTP {response.status_code} {response.reason}"))
            resumed = response.status_code == 206
            if not resumed:
                offset = 0
            length = response.headers.get("Content-Length")
            expected_total = offset + int(length) if length is not None else None
            with (
                open(part, "ab" if resumed else "wb") as handle,
                tqdm(
                    total=expected_total, initial=offset, unit="B", unit_scale=True, desc=part.name[: -len(".part")], disable=not progress, leave=False
                ) as bar,
            ):
                for chunk in response.iter_content(CHUNK_BYTES):
                    handle.write(chunk)
                    bar.update(len(chunk))
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
        raise TransientError(type(error).__name__) from None
    if expected_total is not None and part.stat().st_size < expected_total:
        raise TransientError(f"received {part.stat().st_size} of {expected_total} bytes")


def _offline_message(url: str, destination: Path, reason: object) -> str:
    return (
        f"Could not download {url} ({reason}): check your network or proxy, pass --base-url for a mirror, "
        f"or download it by hand and place it at {destination} (see docs/conventions.md, 'Datasets')."
    )


def download_kodak(root: str | Path = "data", base_url: str | None = None, progress: bool = True) -> Path:
    """Fetch the 24 Kodak PNGs into ``root/kodak``; returns that folder.

    A file that fails (bad checksum, HTTP error) does not stop the others:
    every good file is kept, and the failures are listed together at the end.
    An unreachable server stops the download at once.
    """
    root, sums = Path(root), manifest()
    created = _missing_folders(root / "kodak")
    failures = []
    for name in tqdm(KODAK_NAMES, desc="kodak", unit="file", disable=not progress):
        destination, expected = root / "kodak" / name, sums[f"kodak/{name}"]
        if _verified(destination, expected):
            continue
        url = f"{base_url.rstrip('/')}/kodak/{name}" if base_url else KODAK_URL.format(name=name)
        try:
            fetch(url, destination, expected, progress=progress)
        except Unreachable:
            _remove_if_empty(created)
            raise
        except UserError as error:  # this file is wrong or missing there: the others may be fine
            failures.append((name, error))
    if failures:
        _remove_if_empty(created)
        if len(failures) == 1:
            raise failures[0][1]
        names = ", ".join(name for name, _ in failures)
        raise UserError(
            f"{len(failures)} of {len(KODAK_NAMES)} Kodak files failed and were not kept ({names}), the others are verified in {root / 'kodak'}; "
            f"the first failure: {failures[0][1]}"
        )
    return root / "kodak"


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first: what a failed download may remove."""
    return [path for path in (folder, *folder.parents) if not path.exists()]


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders a download created, deepest first, as long as they hold nothing."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (verified files stay) or already gone
            return


def download_bsds300(root: str | Path = "data", base_url: str | None = None, progress: bool = True) -> Path:
    """Fetch and safely extract BSDS300 into ``root/BSDS300``; returns that folder."""
    root, sums = Path(root), manifest()
    members = {path: digest for path, digest in sums.items() if path.startswith("BSDS300/")}
    if all(_verified(root / path, digest) for path, digest in members.items()):
        return root / "BSDS300"
    url = f"{base_url.rstrip('/')}/archives/BSDS300-images.tgz" if base_url else BSDS300_URL
    created = _missing_folders(root)
    try:
        _fetch_and_extract_bsds300(url, root, members, progress)
    except UserError:
        _remove_if_empty(created)  # a first download that failed leaves no empty folder behind
        raise
    return root / "BSDS300"


def _fetch_and_extract_bsds300(url: str, root: Path, members: dict[str, str], progress: bool) -> None:
    """Fetch the archive, extract it into a staging folder, and move its images into ``root`` only if all are the originals."""
    archive = fetch(url, root / "BSDS300-images.tgz", progress=progress)
    try:
        with tempfile.TemporaryDirectory(dir=root, prefix=".bsds300-") as staging:
            _extract_safely(archive, Path(staging))
            _make_folders_writable(Path(staging))
            bad = [path for path, digest in members.items() if not _verified(Path(staging) / path, digest)]
            if bad:
                for path in bad:
                    log.warning("BSDS300: %s differs from the original or is missing", path)
                listed = ", ".join(Path(path).name for path in bad[:10]) + (f" and {len(bad) - 10} more, each logged above" if len(bad) > 10 else "")
                raise UserError(
                    f"The BSDS300 archive from {url} does not match the original images ({len(bad)} of {len(members)} differ or are missing: {listed}): "
                    "it was deleted; use the official source or a faithful mirror."
                )
            for path in [*members, "BSDS300/iids_train.txt", "BSDS300/iids_test.txt"]:
                source = Path(staging) / path
                if source.is_file():
                    (root / path).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(source, root / path)
    finally:
        archive.unlink(missing_ok=True)


def _make_folders_writable(root: Path) -> None:
    """Give the owner write access to every extracted folder: an archive may store read-only ones, and moving
    files out of a folder (and removing the staging tree) needs it unless one is root."""
    for folder in [root, *(path for path in root.rglob("*") if path.is_dir())]:
        folder.chmod(folder.stat().st_mode | 0o700)


class UnsafeMember(Exception):
    """An archive member that would land outside the destination or is not a plain file or folder."""


def _extract_safely(archive: Path, destination: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+, 3.12+
                tar.extractall(destination, filter="data")
            else:  # older patch releases (e.g. Debian 12's 3.11.2): the same rules, checked by hand
                tar.extractall(destination, members=[_checked(member) for member in tar.getmembers()])
    except (UnsafeMember, getattr(tarfile, "FilterError", UnsafeMember)) as error:
        raise UserError(f"Refusing to extract {archive.name}: it contains an unsafe member ({error}); the file was deleted.") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UserError(f"{archive.name} is not a readable tar.gz archive ({error}); it was deleted, so run the download again.") from None


def _checked(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """``member`` if it is a plain file or folder with a relative path that stays inside, as the ``data`` filter demands."""
    parts = Path(member.name).parts
    if Path(member.name).is_absolute() or ".." in parts or not (member.isfile() or member.isdir()):
        raise UnsafeMember(f"{member.name!r} leaves the destination or is not a plain file")
    member.mode &= 0o755  # no set-id bits, no write for others, as the data filter does
    return member


def download(name: str, root: str | Path = "data", base_url: str | None = None, progress: bool = True) -> Path:
    """Download dataset ``name`` ('kodak' or 'bsds300') into ``root``."""
    downloaders = {"kodak": download_kodak, "bsds300": download_bsds300}
    if name.lower() not in downloaders:
        raise UserError(f"Unknown dataset '{name}': downloadable datasets are {', '.join(DOWNLOADABLE)} ('sample' ships with the package).")
    return downloaders[name.lower()](root, base_url, progress)
