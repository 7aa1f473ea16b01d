"""Downloads, offline: a local http.server on 127.0.0.1 (403, 404, cut and stalled bodies, range requests) and
file:// URLs. Each error names its real cause; ``tpviz download`` fills a folder, resumes, and says what to set."""

from __future__ import annotations

import errno
import hashlib
import http.server
import os
import shlex
import socket
import ssl
import threading
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import tpviz.imagenet.data as _data
import tpviz.imagenet.weights as _weights
from tpviz.cli import download as cli_download
from tpviz.cli import main
from tpviz.imagenet.fetch import DownloadError, download, explain, part_path, sha256_check

BODY = bytes(range(256)) * 400  # 100 kB
BODY_SHA = hashlib.sha256(BODY).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """/ok/* serves BODY (with ranges), /norange/* ignores ranges, /403 and /404 refuse, /cut/* stops halfway,
    /stall/* sends a little then waits. Every request's path and Range header is recorded."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802
        Handler.seen.append((self.path, self.headers.get("Range")))
        kind = self.path.split("/")[1]
        if kind in ("403", "404"):
            self.send_error(int(kind))
            return
        start = int(self.headers["Range"][6:-1]) if self.headers.get("Range") and kind == "ok" else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(BODY) - start))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(BODY[: len(BODY) // 2])
        elif kind == "stall":
            self.wfile.write(BODY[:1000])
            self.wfile.flush()
            time.sleep(1.5)
        else:
            self.wfile.write(BODY[start:])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    Handler.seen.clear()
    monkeypatch.delenv("TPVIZ_MIRROR", raising=False)


def test_download_checks_the_hash_and_leaves_no_part(server: str, tmp_path: Path):
    target = tmp_path / "f.bin"
    assert download(f"{server}/ok/f.bin", target, check=sha256_check(BODY_SHA)) == target
    assert target.read_bytes() == BODY and not part_path(target).exists()
    with pytest.raises(DownloadError, match="not the expected one") as info:
        download(f"{server}/ok/f.bin", tmp_path / "g.bin", check=sha256_check("0" * 64))
    assert info.value.kind == "hash" and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


@pytest.mark.parametrize(("code", "words"), [(403, "refuses"), (404, "no such file")])
def test_http_errors_name_the_code_and_the_url(server: str, tmp_path: Path, code: int, words: str):
    url = f"{server}/{code}/vgg16.pth"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "v.pth", check=sha256_check(BODY_SHA))
    assert info.value.kind == "http" and str(info.value).startswith(f"HTTP {code} ") and url in str(info.value)
    assert words in str(info.value)


def test_a_cut_download_is_kept_and_resumed_with_a_range_request(server: str, tmp_path: Path):
    target = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="cut before the end.*resumes") as info:
        download(f"{server}/cut/f.bin", target, check=sha256_check(BODY_SHA))
    assert info.value.kind == "cut" and part_path(target).read_bytes() == BODY[: len(BODY) // 2]
    download(f"{server}/ok/f.bin", target, check=sha256_check(BODY_SHA))
    assert target.read_bytes() == BODY and Handler.seen[-1] == ("/ok/f.bin", f"bytes={len(BODY) // 2}-")


def test_a_server_that_ignores_ranges_restarts_the_file(server: str, tmp_path: Path):
    target = tmp_path / "f.bin"
    part_path(target).write_bytes(b"stale bytes from another file")
    download(f"{server}/norange/f.bin", target, check=sha256_check(BODY_SHA))
    assert target.read_bytes() == BODY


def test_a_stalled_server_is_no_network_and_keeps_what_came(server: str, tmp_path: Path):
    target = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="no network: 127.0.0.1 stopped answering") as info:
        download(f"{server}/stall/f.bin", target, check=sha256_check(BODY_SHA), timeout=0.3)
    assert info.value.kind == "network" and part_path(target).read_bytes() == BODY[:1000]


def test_nothing_listening_is_no_network(tmp_path: Path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="no network: cannot reach 127.0.0.1") as info:
        download(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", check=sha256_check(BODY_SHA))
    assert info.value.kind == "network"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full to fill a disk")
def test_a_full_disk_says_so(server: str, tmp_path: Path):
    target = tmp_path / "f.bin"
    part_path(target).symlink_to("/dev/full")
    with pytest.raises(DownloadError, match="disk full") as info:
        download(f"{server}/norange/f.bin", target, check=sha256_check(BODY_SHA))
    assert info.value.kind == "disk"


def test_certificate_and_name_errors_are_explained():
    url = "https://download.pytorch.org/models/vgg16-397923af.pth"
    cert = explain(urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed")), url)
    assert cert.kind == "ssl" and "Install Certificates.command" in str(cert) and "download.pytorch.org" in str(cert)
    dns = explain(urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")), url)
    assert dns.kind == "network" and str(dns).startswith("no network: cannot find download.pytorch.org")
    full = explain(OSError(errno.ENOSPC, "No space left on device"), url)
    assert full.kind == "disk" and "disk full" in str(full)


def test_weights_download_errors_name_their_cause(isolated_env: Path, monkeypatch: pytest.MonkeyPatch, server: str):
    import tpviz

    monkeypatch.setattr(_weights, "weights_url", lambda arch: f"{server}/403/squeezenet1_1-b8a52dc0.pth")
    with pytest.raises(tpviz.WeightsNotFoundError, match=r"download failed: HTTP 403 .*/403/squeezenet1_1"):
        tpviz.load_model("squeezenet1_1", device="cpu", progress=False)


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str) -> dict[str, str]:
    """The models' and images' URLs on the local server, with hashes that fit BODY."""
    monkeypatch.setattr(_weights, "weights_url", lambda arch: f"{server}/ok/{arch}-{BODY_SHA[:8]}.pth")
    monkeypatch.setattr(_data, "VAL_URL", f"{server}/404/imagenet_val_25.npz")
    monkeypatch.setattr(_data, "VAL_MIRROR", f"{server}/ok/imagenet_val_25.npz")
    monkeypatch.setattr(_data, "VAL_ARCHIVE", f"{server}/404/archive/imagenet_val_25.npz")
    monkeypatch.setattr(_data, "VAL_SHA256", BODY_SHA)
    return {"server": server}


FOLDER = "offline lab – données été"  # a space, a dash and non-ASCII letters


def test_tpviz_download_fills_the_folder_and_prints_what_to_set(sources, tmp_path: Path, capsys):
    folder = tmp_path / FOLDER
    assert main(["download", "--models", "squeezenet1_1,vgg16", "--to", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["imagenet_val_25.npz", "squeezenet1_1_imagenet.pth",
                                                        "vgg16_imagenet.pth"]
    assert all(p.read_bytes() == BODY for p in folder.iterdir())
    out, err = capsys.readouterr()
    assert "[1/3] squeezenet1_1_imagenet.pth" in err and "HTTP 404" in err and "trying the next source" in err
    sh = [line.strip() for line in out.splitlines() if line.strip().startswith("export ")]
    assert [shlex.split(line)[1] for line in sh] == [f"TPVIZ_WEIGHTS_DIR={folder}", f"TPVIZ_DATA_DIR={folder}"]
    assert f"$env:TPVIZ_WEIGHTS_DIR = '{folder}'" in out and f"$env:TPVIZ_DATA_DIR = '{folder}'" in out
    # Run again: complete files are checked and kept, nothing is downloaded.
    Handler.seen.clear()
    assert main(["download", "--models", "squeezenet1_1,vgg16", "--to", str(folder)]) == 0
    assert Handler.seen == [] and capsys.readouterr().err.count("already there, checked") == 3


def test_the_filled_folder_is_what_the_kit_reads(sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / FOLDER
    monkeypatch.setenv("TPVIZ_MIRROR", folder.as_uri())
    net = cli_download.catalog(["squeezenet1_1"])
    assert net[0].sources[0] == (folder / "squeezenet1_1_imagenet.pth").as_uri()
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(folder))
    assert _weights.local_weights_path("vgg16") == folder / "vgg16_imagenet.pth"
    assert _data.val_file_candidates()[0] == folder / "imagenet_val_25.npz"


def test_a_class_mirror_may_serve_weights_saved_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources):
    """A mirror's copy need not be torchvision's bytes: it passes when it loads into the model exactly."""
    from tpviz.imagenet.models import _build

    mirror = tmp_path / "mirror ü"
    mirror.mkdir()
    torch.save(_build("squeezenet1_1").state_dict(), mirror / "squeezenet1_1_imagenet.pth")
    (mirror / "imagenet_val_25.npz").write_bytes(BODY)
    (mirror / "vgg16_imagenet.pth").write_bytes(b"not weights")
    monkeypatch.setenv("TPVIZ_MIRROR", mirror.as_uri())
    monkeypatch.setattr(_weights, "weights_url", lambda arch: f"{sources['server']}/404/{arch}-{BODY_SHA[:8]}.pth")
    out = tmp_path / "out"
    assert main(["download", "--models", "squeezenet1_1", "--to", str(out)]) == 0
    assert (out / "squeezenet1_1_imagenet.pth").read_bytes() == (mirror / "squeezenet1_1_imagenet.pth").read_bytes()
    assert main(["download", "--models", "vgg16", "--to", str(out)]) == 1
    assert not (out / "vgg16_imagenet.pth").exists() and not part_path(out / "vgg16_imagenet.pth").exists()


def test_a_failed_file_is_reported_and_the_others_are_still_fetched(sources, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(_weights, "weights_url", lambda arch: f"{sources['server']}/403/{arch}-{BODY_SHA[:8]}.pth")
    folder = tmp_path / "d"
    assert main(["download", "--models", "squeezenet1_1", "--to", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "FAILED: HTTP 403" in err and "1 file(s) missing" in err and "squeezenet1_1_imagenet.pth" in err
    assert [p.name for p in folder.iterdir()] == ["imagenet_val_25.npz"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--models", "squeezenet9", "--to", "x"], "unknown model(s) squeezenet9"),
    (["--models", ",", "--to", "x"], "(none given)"),
])
def test_bad_arguments_exit_2_with_what_to_pass(argv: list[str], message: str, capsys):
    assert main(["download", *argv]) == 2
    assert message in capsys.readouterr().err


def test_to_a_file_is_refused(tmp_path: Path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["download", "--to", str(tmp_path / "f")]) == 2
    assert "is a file: name a folder" in capsys.readouterr().err


def test_python_m_tpviz_download_help():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "tpviz", "download", "--help"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert out.returncode == 0 and "--to DIR" in out.stdout


def test_a_folder_where_a_file_goes_is_named_before_anything_is_downloaded(sources, tmp_path: Path, capsys):
    folder = tmp_path / "lab"
    (folder / "squeezenet1_1_imagenet.pth").mkdir(parents=True)
    assert main(["download", "--models", "squeezenet1_1", "--to", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"{folder / 'squeezenet1_1_imagenet.pth'} is a folder" in err and "remove or rename it" in err, err
    assert "Traceback" not in err and (folder / "squeezenet1_1_imagenet.pth").is_dir()
    assert (folder / "imagenet_val_25.npz").read_bytes() == BODY, "the other files are still fetched"
