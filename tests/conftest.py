"""Shared fixtures: the real Kodak/BSDS300 files, a loopback HTTP server that honours Range; no skips in CI.

The data tests need the real images. They are found, in this order, in
``$N2N_TEST_DATA``, in ``../shared/datasets`` beside the repository (this
project's CI), or in a user cache (``$XDG_CACHE_HOME/noise2noise_keras/test-data``)
that the project's own downloader fills once, verified against the shipped
checksums. Only when none of these works are those tests skipped, with one
line saying how to provide the data. With ``CI=true`` (set by ``.ci/run``) a
skipped test fails the run: CI proves every test.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import tarfile
import threading
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
ARCHIVE = Path("archives") / "BSDS300-images.tgz"  # what the download tests serve; rebuilt from the images when missing


def user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "noise2noise_keras" / "test-data"


def complete(root: Path) -> bool:
    """Every Kodak and BSDS300 image of the shipped manifest is in ``root``, byte-identical to the original."""
    from noise2noise_keras.datasets.download import manifest, sha256_of

    return all((root / path).is_file() and sha256_of(root / path) == digest for path, digest in manifest().items())


def find_test_data() -> tuple[Path | None, str]:
    """The data root to test with, or ``None`` and why not."""
    from noise2noise_keras.datasets.download import download
    from noise2noise_keras.errors import UserError

    if os.environ.get("N2N_TEST_DATA"):
        root = Path(os.environ["N2N_TEST_DATA"])
        return (root, "") if complete(root) else (None, f"N2N_TEST_DATA={root} does not hold the verified kodak/ and BSDS300/ trees")
    if complete(SHARED_DATASETS):
        return SHARED_DATASETS, ""
    cache = user_cache()
    if not complete(cache):
        try:
            for name in ("kodak", "bsds300"):
                download(name, cache, progress=False)
        except (UserError, OSError) as error:
            return None, f"could not fetch them into {cache} ({error})"
    return cache, ""


def with_archive(root: Path) -> Path:
    """``root`` holding ``archives/BSDS300-images.tgz`` as the shared copy has it (sorted members, the original layout)."""
    archive = root / ARCHIVE
    if not archive.is_file():
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for path in sorted((root / "BSDS300").rglob("*")):
                tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
        partial.replace(archive)
    return root


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    root, why_not = find_test_data()
    if root is None:
        pytest.skip(
            f"real Kodak/BSDS300 images unavailable: {why_not}; set N2N_TEST_DATA to a folder holding kodak/ and BSDS300/ "
            "(as `n2n download` writes them), or run once with internet access"
        )
    return with_archive(root)


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if os.environ.get("CI") == "true" and _skipped:
        terminalreporter.write_line(f"CI=true: {len(_skipped)} test(s) skipped, and CI must run every test: {', '.join(_skipped)}", red=True)


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with ``Range: bytes=N-`` support, a request log, and optional cut-off transfers.

    ``server.cut_after`` maps a URL path to a byte count: the first full
    response for that path sends the real Content-Length but only that many
    bytes, then drops the connection (a simulated network failure).
    """

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            return super().do_GET()
        data = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        start = int(match.group(1)) if match else 0
        if start >= len(data) and match:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            return
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        cut = self.server.cut_after.pop(self.path, None) if not match else None
        body = data[start:] if cut is None else data[:cut]
        self.wfile.write(body)
        if cut is not None:
            self.close_connection = True


@pytest.fixture
def serve():
    """``serve(directory)`` starts a loopback server and returns it (``.base_url``, ``.requests``, ``.cut_after``)."""
    servers = []

    def start(directory: Path):
        handler = functools.partial(RangeRequestHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.requests, server.cut_after = [], {}
        server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
