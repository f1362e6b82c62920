"""Issue 7 items 11, 14 and 15 (the disk): upload file names, uploads left by dead
processes, a full upload disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from govdata.catalog.datastore import upload
from govdata.main import create_app
from govdata.platform import uploaddir

from .conftest import AQ_HEADER, AQ_ROWS, csv_text

CSV = csv_text(AQ_HEADER, AQ_ROWS).encode()


@pytest.fixture
def headers(auth, steward_name):
    return auth(steward_name)


def data_url(resource) -> str:
    return f"/api/v1/catalog/resources/{resource.code}/data"


@pytest.mark.parametrize(("sent", "kept"), [
    ("../../../../tmp/pwned.csv", "pwned.csv"),
    ("..\\..\\windows\\system32\\evil.csv", "evil.csv"),
    ("C:\\Users\\张三\\空气.csv", "空气.csv"),
    ("/etc/passwd.csv", "passwd.csv"),
])
def test_multipart_file_names_keep_the_base_name_without_control_characters(
        client, aq, headers, settings, tmp_path, sent, kept):
    settings.upload_dir = str(tmp_path / "uploads")
    response = client.post(data_url(aq), headers=headers,
                           files={"file": (sent, CSV, "text/csv")})
    assert response.status_code == 201, response.text
    assert response.json()["source_name"] == kept


def test_raw_upload_names_too(client, aq, headers, settings, tmp_path):
    settings.upload_dir = str(tmp_path / "uploads")
    response = client.post(data_url(aq), headers={**headers, "Content-Type": "text/csv"},
                           content=CSV, params={"filename": "../../x/\x07bell.csv"})
    assert response.status_code == 201, response.text
    assert response.json()["source_name"] == "bell.csv"
    nothing = client.post(data_url(aq), headers={**headers, "Content-Type": "text/csv"},
                          content=CSV, params={"filename": "../.."})
    assert nothing.status_code == 201 and ".." not in nothing.json()["source_name"]


def test_control_characters_sent_raw_in_a_multipart_name_are_removed(client, aq, headers,
                                                                      settings, tmp_path):
    """Sent byte for byte (HTTP clients would escape them): CR, LF, NUL, ESC, DEL."""
    settings.upload_dir = str(tmp_path / "uploads")
    boundary = b"xXxBoundaryxXx"
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"../re\x00po\x1b[31mrt\x7f\t.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            + CSV + b"\r\n--" + boundary + b"--\r\n")
    response = client.post(data_url(aq), content=body, headers={
        **headers, "Content-Type": f"multipart/form-data; boundary={boundary.decode()}"})
    assert response.status_code == 201, response.text
    assert response.json()["source_name"] == "repo[31mrt.csv"


def test_safe_filename_rules():
    assert upload.safe_filename("a/b/c.csv") == "c.csv"
    assert upload.safe_filename("  ") is None
    assert upload.safe_filename("\ud800x.csv") == "x.csv"
    assert len(upload.safe_filename("长" * 1000 + ".csv")) == upload.MAX_FILENAME


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_uploads_of_dead_processes_are_removed_at_start_up(settings, database, tmp_path):
    root = tmp_path / "uploads"
    settings.upload_dir = str(root)
    dead = root / str(dead_pid())
    dead.mkdir(parents=True)
    (dead / "upload-abc").write_bytes(b"personal data")
    legacy = root / "upload-old"
    legacy.write_bytes(b"left by an earlier version")
    alive = root / str(os.getppid())  # a live process: the test runner's parent
    alive.mkdir()
    (alive / "upload-live").write_bytes(b"being read")
    unrelated = root / "notes.txt"
    unrelated.write_text("not ours")

    create_app(settings, database=database)

    assert not dead.exists() and not legacy.exists()
    assert (alive / "upload-live").exists() and unrelated.exists()


def test_each_process_writes_in_its_own_directory(tmp_path):
    own = uploaddir.process_dir(tmp_path)
    assert own == tmp_path / str(os.getpid()) and own.is_dir()


def test_a_killed_upload_leaves_nothing_after_a_restart(tmp_path):
    """A process killed with -9 while its temporary file exists: the next start removes it."""
    root = tmp_path / "uploads"
    script = ("import os, signal, sys, tempfile\n"
              "from govdata.platform.uploaddir import process_dir\n"
              f"fd, name = tempfile.mkstemp(prefix='upload-', dir=process_dir({str(root)!r}))\n"
              "os.write(fd, b'x' * 1000)\n"
              "print(name, flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    left = Path(killed.stdout.strip())
    assert killed.returncode == -9 and left.exists()
    assert uploaddir.sweep_orphans(root) == [left.parent]
    assert not left.exists()


def test_a_full_upload_disk_is_507(client, aq, headers, settings, tmp_path, monkeypatch):
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full (Linux)")
    settings.upload_dir = str(tmp_path / "uploads")
    made = []

    def full_disk(prefix, dir):
        path = Path(dir) / f"{prefix}full"
        path.touch()
        made.append(path)
        return os.open("/dev/full", os.O_WRONLY), str(path)

    monkeypatch.setattr(upload.tempfile, "mkstemp", full_disk)
    response = client.post(data_url(aq), headers=headers,
                           files={"file": ("data.csv", CSV * 200, "text/csv")})
    assert response.status_code == 507, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "upload_storage_full"
    assert made and not made[0].exists()
