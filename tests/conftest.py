"""Shared fixtures: the real datasets in ../shared, a loopback HTTP server that honours Range."""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not (SHARED_DATASETS / "SHA256SUMS").is_file():
        pytest.fail(f"the real datasets are expected in {SHARED_DATASETS} (../shared beside the repository)")
    return SHARED_DATASETS


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
