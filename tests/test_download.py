"""Downloader against a real loopback HTTP server serving the real files from ../shared/datasets."""

import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile

import pytest

from noise2noise_keras.datasets.download import download_bsds300, download_kodak, manifest, sha256_of
from noise2noise_keras.errors import UserError


def writable_copy(source, destination):
    """The files of ``source`` in a new folder of our own: the shared copy is read-only (folders 0555, files 0444)."""
    destination.mkdir(parents=True)
    for path in source.iterdir():
        shutil.copyfile(path, destination / path.name)


def test_kodak_downloads_and_verifies_and_second_run_does_no_io(shared_datasets, serve, tmp_path):
    server = serve(shared_datasets)
    folder = download_kodak(tmp_path, server.base_url, progress=False)
    sums = manifest()
    assert sorted(p.name for p in folder.iterdir()) == [f"kodim{i:02d}.png" for i in range(1, 25)]
    assert all(sha256_of(folder / name) == sums[f"kodak/{name}"] for name in os.listdir(folder))
    assert len(server.requests) == 24
    download_kodak(tmp_path, server.base_url, progress=False)
    assert len(server.requests) == 24  # nothing fetched the second time


def test_bsds300_archive_is_fetched_extracted_and_verified(shared_datasets, serve, tmp_path):
    server = serve(shared_datasets)
    folder = download_bsds300(tmp_path, server.base_url, progress=False)
    assert len(list((folder / "images" / "train").glob("*.jpg"))) == 200
    assert len(list((folder / "images" / "test").glob("*.jpg"))) == 100
    assert (folder / "iids_test.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BSDS300"]  # archive and staging folder removed
    download_bsds300(tmp_path, server.base_url, progress=False)
    assert len(server.requests) == 1


def test_interrupted_transfer_resumes_with_range(shared_datasets, serve, tmp_path):
    site = tmp_path / "site"
    writable_copy(shared_datasets / "kodak", site / "kodak")
    server = serve(site)
    server.cut_after["/kodak/kodim05.png"] = 100_000
    download_kodak(tmp_path / "data", server.base_url, progress=False)
    ranges = [rng for path, rng in server.requests if path == "/kodak/kodim05.png"]
    assert len(ranges) == 2 and ranges[0] is None
    resumed_at = int(ranges[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_at <= 100_000  # continued from what had arrived, not from scratch
    assert sha256_of(tmp_path / "data" / "kodak" / "kodim05.png") == manifest()["kodak/kodim05.png"]


def test_checksum_mismatch_leaves_no_file_behind(shared_datasets, serve, tmp_path):
    site = tmp_path / "site"
    writable_copy(shared_datasets / "kodak", site / "kodak")
    (site / "kodak" / "kodim03.png").write_bytes(b"not the original kodim03")
    server = serve(site)
    with pytest.raises(UserError, match="Checksum mismatch.*kodim03"):
        download_kodak(tmp_path / "data", server.base_url, progress=False)
    leftovers = {p.name for p in (tmp_path / "data" / "kodak").iterdir()}
    assert "kodim03.png" not in leftovers and "kodim03.png.part" not in leftovers


@pytest.mark.parametrize("python", ["with tarfile's data filter", "without it (Python before 3.10.12 / 3.11.4)"])
def test_tar_with_path_traversal_is_rejected(serve, tmp_path, monkeypatch, python):
    if python.startswith("without"):
        monkeypatch.delattr(tarfile, "data_filter", raising=False)  # what Debian 12's Python 3.11.2 runs: our own member checks
    site = tmp_path / "site" / "archives"
    site.mkdir(parents=True)
    with tarfile.open(site / "BSDS300-images.tgz", "w:gz") as tar:
        payload = b"escaped"
        member = tarfile.TarInfo("../../escaped.txt")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    server = serve(tmp_path / "site")
    data = tmp_path / "nested" / "data"
    data.mkdir(parents=True)
    with pytest.raises(UserError, match="unsafe member"):
        download_bsds300(data, server.base_url, progress=False)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert list(data.iterdir()) == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host_is_one_sentence_and_nonzero_exit(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "noise2noise_keras", "download", "kodak", "--root", str(tmp_path), "--base-url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "Could not download http://127.0.0.1" in errors[0] and "place it at" in errors[0]
